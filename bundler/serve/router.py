"""Which function, file or redirect answers a request, in Netlify's order.

1. `/.netlify/functions/NAME` and anything below it (400 for a name Netlify refuses, 404
   for an unknown one and for a function that declares its own `path`);
2. v2 routes (`config["path"]`), unless `preferStatic` and a file exists;
3. `_redirects` and `[[redirects]]` rules (a file at the path shadows a rule without
   `force`);
4. static files from the publish folder (`/about` also finds `about.html`);
5. 404 (the publish folder's `404.html` when there is one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from bundler.project.discover import NAME_RULE
from bundler.project.routes import Route
from bundler.serve.redirects import REWRITE, Redirect

DEFAULT_URL = re.compile(r"^/\.netlify/(functions|builders)/([^/]+)")
Kind = Literal["function", "static", "redirect", "bad-name", "unknown", "external", "not-found"]


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What answers: a function, a file, a redirect or an error, with the status to use."""

    kind: Kind
    function: str | None = None
    file: Path | None = None
    location: str | None = None
    status: int = 200
    note: str | None = None  # a warning for the terminal


@dataclass(frozen=True)
class Router:
    """The routing table of one site at one moment (rebuilt when the site changes)."""

    routes: Mapping[str, tuple[tuple[Route, ...], tuple[Route, ...]]]  # name -> (routes, excl.)
    redirects: tuple[Redirect, ...] = ()
    publish: Path | None = None

    def route(
        self, method: str, path: str, query: Mapping[str, Sequence[str]] | None = None
    ) -> Decision:
        """The decision for a request of `path` (raw, percent-encoded) with `query`."""
        found = self._default_url(path)
        if found is not None:
            return found
        for name, (routes, excluded) in sorted(self.routes.items()):
            if any(r.matches(path, method) for r in routes) and not any(
                r.matches(path) for r in excluded
            ):
                if any(r.prefer_static for r in routes) and self.static_file(path):
                    break
                return Decision(kind="function", function=name)
        for rule in self.redirects:
            values = rule.match(path, query or {})
            if values is None or (not rule.force and self.static_file(path)):
                continue
            target = rule.target(values)
            if rule.status in (REWRITE, 404):
                return self._rewrite(rule, target, method)
            if not rule.external and "?" not in target and query:
                target += "?" + "&".join(f"{k}={v}" for k, vs in query.items() for v in vs)
            return Decision(kind="redirect", location=target, status=rule.status)
        file = self.static_file(path) if method in ("GET", "HEAD") else None
        if file is not None:
            return Decision(kind="static", file=file)
        missing = self.static_file("/404.html")
        return Decision(kind="not-found", file=missing, status=404)

    def _default_url(self, path: str) -> Decision | None:
        match = DEFAULT_URL.match(path)
        if match is None:
            return None
        name = unquote(match.group(2))
        if not NAME_RULE.match(name):
            return Decision(kind="bad-name", function=name, status=400)
        if name not in self.routes:
            return Decision(kind="unknown", function=name, status=404)
        routes = self.routes[name][0]
        if routes:
            paths = ", ".join(r.pattern for r in routes)
            note = (
                f"Function {name} cannot be invoked on {path}, because the function has the "
                f"following URL paths defined: {paths}"
            )
            return Decision(kind="unknown", function=name, status=404, note=note)
        return Decision(kind="function", function=name)

    def _rewrite(self, rule: Redirect, target: str, method: str) -> Decision:
        if rule.external:
            note = f"{rule.origin} proxies to {target}: bundle serve does not proxy to other hosts"
            return Decision(kind="external", location=target, status=502, note=note)
        path = target.split("?", 1)[0]
        found = self._default_url(path)
        if found is not None:
            status = rule.status if found.kind == "function" else found.status
            return Decision(
                kind=found.kind, function=found.function, status=status, note=found.note
            )
        file = self.static_file(path)
        if file is not None:
            return Decision(kind="static", file=file, status=rule.status)
        return Decision(kind="not-found", file=self.static_file("/404.html"), status=404)

    def static_file(self, path: str) -> Path | None:
        """The published file for `path`, never outside the publish folder and never a
        hidden file or folder (`.env`, `.venv`, `.bundle-cache`), except `.well-known`."""
        if self.publish is None:
            return None
        parts = [p for p in unquote(path).split("/") if p]
        if any(p in ("..", ".") or "\0" in p for p in parts):
            return None
        if any(p.startswith(".") and p != ".well-known" for p in parts):
            return None
        candidate = self.publish.joinpath(*parts)
        options = [candidate / "index.html"] if candidate.is_dir() else [candidate]
        if parts and not path.endswith("/"):
            options.append(candidate.with_name(candidate.name + ".html"))
        for option in options:
            if option.is_file():
                resolved = option.resolve()
                if resolved.is_relative_to(self.publish.resolve()):
                    return resolved
        return None
