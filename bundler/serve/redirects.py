"""Netlify's redirect and rewrite rules: `[[redirects]]` in netlify.toml and `_redirects`.

A rule's `from` may end in `*` (the rest of the path, `:splat` in `to`) and hold
`:placeholders` (one segment each); `query = {id = ":id"}` requires a query parameter and
binds it. Status 200 rewrites (the client sees the original URL; a function's event keeps
the original path), 404 rewrites with that status, 3xx redirects. Without `force`, a static
file at the requested path wins over the rule ("shadowing"), as on Netlify.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.errors import Problem, UsageError

REWRITE = 200
_CONDITIONS = frozenset({"Country", "Language", "Role", "Cookie"})
_PLACEHOLDER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_DIGITS = re.compile(r"[0-9]+")  # not str.isdigit: it takes "²", which int() refuses


@dataclass(frozen=True, kw_only=True)
class Redirect:
    """One rule, compiled."""

    source: str
    to: str
    status: int = 301
    force: bool = False
    query: tuple[tuple[str, str], ...] = ()
    origin: str = "netlify.toml"

    @property
    def pattern(self) -> re.Pattern[str]:
        """The rule's source path as a regular expression."""
        return _compile(self.source)

    def match(self, path: str, query: Mapping[str, Sequence[str]]) -> dict[str, str] | None:
        """The placeholders (and `splat`) when `path` and `query` match this rule."""
        found = self.pattern.match(path)
        if found is None:
            return None
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        if "splat" in found.groupdict():
            values["splat"] = (found.group("splat") or "").lstrip("/")
        for key, placeholder in self.query:
            if key not in query:
                return None
            if placeholder.startswith(":"):
                values[placeholder[1:]] = query[key][0]
        return values

    def target(self, values: Mapping[str, str]) -> str:
        """`to` with `:splat` and every `:placeholder` filled in."""

        def fill(match: re.Match[str]) -> str:
            return values.get(match.group(1), match.group(0))

        return _PLACEHOLDER.sub(fill, self.to)

    @property
    def external(self) -> bool:
        """Whether the rule sends the request to another site."""
        return self.to.startswith(("http://", "https://"))


def _compile(source: str) -> re.Pattern[str]:
    parts = source.rstrip("/").split("/")
    pieces = []
    for index, part in enumerate(parts):
        if part == "*" and index == len(parts) - 1:
            pieces.append("(?P<splat>/.*)?")
            continue
        piece = "/" if index else ""
        named = _PLACEHOLDER.fullmatch(part)
        piece += f"(?P<{named.group(1)}>[^/]+)" if named else re.escape(part)
        pieces.append(piece)
    return re.compile("".join(pieces) + "/?$")


def read_redirects(
    netlify_toml: Mapping[str, Any], toml_path: Path, redirects_file: Path | None
) -> tuple[tuple[Redirect, ...], tuple[Problem, ...]]:
    """`_redirects` rules first, then netlify.toml's (Netlify's order). Rules this server
    cannot apply (a host in `from`, conditions) are left out with a warning."""
    rules: list[Redirect] = []
    warnings: list[Problem] = []
    if redirects_file is not None and redirects_file.is_file():
        lines = redirects_file.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            rule = _rule_from_line(line, redirects_file, number, warnings)
            if rule is not None:
                rules.append(rule)
    table = netlify_toml.get("redirects", [])
    if not isinstance(table, list):
        raise UsageError.of(
            "`redirects` must be an array of tables", file=toml_path, hint="write [[redirects]]"
        )
    for index, entry in enumerate(table, start=1):
        rule = _rule_from_table(entry, toml_path, index, warnings)
        if rule is not None:
            rules.append(rule)
    return tuple(rules), tuple(warnings)


def _rule_from_table(
    entry: Any, path: Path, index: int, warnings: list[Problem]
) -> Redirect | None:
    where = f"netlify.toml [[redirects]] #{index}"
    if not isinstance(entry, dict) or not isinstance(entry.get("from"), str):
        raise UsageError.of(
            f"{where} needs `from` and `to` strings",
            file=path,
            hint='write from = "/api/*" and to = "/.netlify/functions/api/:splat"',
        )
    source, to = entry["from"], entry.get("to")
    status, force, query = entry.get("status", 301), entry.get("force", False), entry.get("query")
    if not isinstance(to, str) or not isinstance(status, int) or not isinstance(force, bool):
        raise UsageError.of(
            f"{where}: `to` must be a string, `status` a number and `force` true or false",
            file=path,
            hint='write to = "/.netlify/functions/api/:splat", status = 200',
        )
    if query is not None and not (
        isinstance(query, dict) and all(isinstance(v, str) for v in query.values())
    ):
        raise UsageError.of(
            f"{where}: `query` must be a table of strings",
            file=path,
            hint='write query = {id = ":id"}',
        )
    skipped = _unsupported(source, entry.get("conditions"))
    if skipped:
        warnings.append(_skipped(where, skipped, path, None))
        return None
    pairs = tuple(sorted((query or {}).items()))
    return _checked(
        Redirect(source=source, to=to, status=status, force=force, query=pairs, origin=where),
        path,
        None,
        warnings,
    )


def _rule_from_line(line: str, path: Path, number: int, warnings: list[Problem]) -> Redirect | None:
    """`/from [key=value ...] /to [status[!]] [Condition=value ...]`, as in a `_redirects`
    file: query parameters follow `from`, conditions follow the status."""
    words = line.split("#", 1)[0].split()
    if not words:
        return None
    where = f"_redirects line {number}"

    def left_out(problem: str, hint: str) -> None:
        warnings.append(
            Problem(
                f"{where} is left out: {problem}",
                file=path,
                line=number,
                hint=hint,
                severity="warning",
            )
        )

    source, rest = words[0], words[1:]
    query: list[str] = []
    while rest and "=" in rest[0] and not rest[0].startswith(("/", "http://", "https://")):
        query.append(rest.pop(0))
    if not rest:
        left_out("a rule needs a `from` and a `to`", "write /from /to 200")
        return None
    to, rest = rest[0], rest[1:]
    status, force = 301, False
    if rest and "=" not in rest[0]:
        word = rest.pop(0)
        if not _DIGITS.fullmatch(word.rstrip("!")):
            left_out(f"{word!r} is not a status", "write a status such as 200, 301 or 404!")
            return None
        status, force = int(word.rstrip("!")), word.endswith("!")
    strays = [w for w in rest if "=" not in w]
    if strays:
        left_out(f"{strays[0]!r} is neither a status nor a condition", "write /from /to 200")
        return None
    skipped = _unsupported(source, [w.partition("=")[0] for w in rest])
    if skipped:
        warnings.append(_skipped(where, skipped, path, number))
        return None
    pairs = tuple(sorted((k, v) for k, _sep, v in (w.partition("=") for w in query)))
    return _checked(
        Redirect(source=source, to=to, status=status, force=force, query=pairs, origin=where),
        path,
        number,
        warnings,
    )


def _checked(
    rule: Redirect, path: Path, line: int | None, warnings: list[Problem]
) -> Redirect | None:
    """`rule` when it can be applied: an HTTP status and a `from` that compiles (each
    placeholder once); else None with a warning, so one bad rule never breaks a request."""
    problem = None
    if not 100 <= rule.status <= 599:
        problem = f"status {rule.status} is not an HTTP status (100 to 599)"
    else:
        try:
            _compile(rule.source)
        except re.error:
            problem = f"`from` {rule.source!r} names a placeholder twice"
    if problem is None:
        return rule
    warnings.append(
        Problem(
            f"{rule.origin} is left out: {problem}",
            file=path,
            line=line,
            hint="fix the rule (Netlify would refuse it at deploy time)",
            severity="warning",
        )
    )
    return None


def _unsupported(source: str, conditions: Any) -> str | None:
    if not source.startswith("/"):
        return "rules for a host or protocol (a `from` that is not a path)"
    if conditions:
        return "conditions (country, language, role, cookie)"
    return None


def _skipped(where: str, what: str, path: Path, line: int | None) -> Problem:
    return Problem(
        f"{where} is not applied locally: bundle serve does not apply {what}",
        file=path,
        line=line,
        hint="test this rule on a deploy preview",
        severity="warning",
    )
