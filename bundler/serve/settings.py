"""What the site's files say about serving: limits per function, the publish folder, the
redirect rules and `[build.environment]`.

Limits (the keys `bundle serve` reads, most specific first):
- `[tool.bundler.functions.NAME]` `timeout` (seconds) and `memory` (MB) in pyproject.toml,
- `[functions.NAME]` `timeout` and `memory` in netlify.toml,
- `[tool.bundler]` `timeout` and `memory` (every function),
- `[functions]` `timeout` and `memory` in netlify.toml (every function),
- Netlify's production limits: synchronous 60 s, scheduled 30 s, background 15 min; 1024 MB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.errors import Problem, UsageError
from bundler.project.declared import read_toml
from bundler.project.discover import Function
from bundler.serve.redirects import Redirect, read_redirects

DEFAULT_TIMEOUTS = {"sync": 60.0, "event": 60.0, "scheduled": 30.0, "background": 900.0}
DEFAULT_MEMORY = 1024
TIMEOUT_RANGE = (1, 900)  # Lambda's
MEMORY_RANGE = (128, 10240)


@dataclass(frozen=True)
class Limits:
    """How long an invocation may run (seconds) and how much memory a worker may use (MB)."""

    timeout: float
    memory: int


@dataclass(frozen=True)
class _Overrides:
    timeout: float | None = None
    memory: int | None = None


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """Read once at start and again when pyproject.toml or netlify.toml changes."""

    root: Path
    publish: Path | None = None
    redirects: tuple[Redirect, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    defaults: _Overrides = field(default_factory=_Overrides)
    functions: Mapping[str, _Overrides] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()

    @classmethod
    def from_root(cls, root: Path) -> ServeConfig:
        """UsageError for a setting that cannot be used."""
        pyproject_path, netlify_path = root / "pyproject.toml", root / "netlify.toml"
        pyproject, netlify = read_toml(pyproject_path), read_toml(netlify_path)
        tool = _table(
            _table(pyproject.get("tool"), "tool", pyproject_path).get("bundler"),
            "tool.bundler",
            pyproject_path,
        )
        net_functions = _table(netlify.get("functions"), "functions", netlify_path)
        build = _table(netlify.get("build"), "build", netlify_path)

        defaults = _merge(
            _overrides(tool, "tool.bundler", pyproject_path),
            _overrides(net_functions, "functions", netlify_path),
        )
        functions: dict[str, _Overrides] = {}
        # `[tool.bundler] functions = "dir"` names the folder: no per-function tables then
        listed = tool.get("functions")
        own_functions: dict[str, Any] = listed if isinstance(listed, dict) else {}
        tables = (
            (net_functions, 'functions."{}"', netlify_path),
            (own_functions, "tool.bundler.functions.{}", pyproject_path),
        )
        for source, where, path in tables:
            for name, value in source.items():
                if isinstance(value, dict):
                    own = _overrides(value, where.format(name), path)
                    functions[name] = _merge(own, functions.get(name, _Overrides()))

        publish = build.get("publish")
        if publish is not None and not isinstance(publish, str):
            raise UsageError.of(
                "`build.publish` must be a folder name",
                file=netlify_path,
                hint='write publish = "public"',
            )
        folder = (root / publish).resolve() if publish else None
        if folder is not None and not folder.is_relative_to(root.resolve()):
            # what is published comes from the site, as what ships does (a link or `..`
            # to /etc would serve the host's files)
            raise UsageError.of(
                f"`build.publish` is {folder}, outside the site",
                file=netlify_path,
                hint="publish a folder inside the site (copy what it needs into it)",
            )
        environment = _table(build.get("environment"), "build.environment", netlify_path)
        redirects, warnings = read_redirects(
            netlify, netlify_path, folder / "_redirects" if folder else None
        )
        return cls(
            root=root,
            publish=folder if folder and folder.is_dir() else None,
            redirects=redirects,
            environment={str(k): _text(v) for k, v in environment.items()},
            defaults=defaults,
            functions=functions,
            warnings=warnings,
        )

    def limits_for(self, function: Function) -> Limits:
        """The function's own settings, else the site's, else Netlify's for its kind."""
        own = _merge(self.functions.get(function.name, _Overrides()), self.defaults)
        kind = "background" if function.invocation_mode == "background" else function.kind
        return Limits(
            timeout=own.timeout if own.timeout is not None else DEFAULT_TIMEOUTS[kind],
            memory=own.memory if own.memory is not None else DEFAULT_MEMORY,
        )


def _table(value: Any, key: str, path: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError.of(f"`{key}` must be a table", file=path, hint=f"write it as [{key}]")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _overrides(table: Mapping[str, Any], where: str, path: Path) -> _Overrides:
    timeout, memory = table.get("timeout"), table.get("memory")
    low, high = TIMEOUT_RANGE
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not low <= timeout <= high
    ):
        raise UsageError.of(
            f"`{where}.timeout` must be a number of seconds from {low} to {high}, not {timeout!r}",
            file=path,
            hint="write e.g. timeout = 30",
        )
    low, high = MEMORY_RANGE
    if memory is not None and (
        isinstance(memory, bool) or not isinstance(memory, int) or not low <= memory <= high
    ):
        raise UsageError.of(
            f"`{where}.memory` must be a whole number of MB from {low} to {high}, not {memory!r}",
            file=path,
            hint="write e.g. memory = 512",
        )
    return _Overrides(float(timeout) if timeout is not None else None, memory)


def _merge(first: _Overrides, then: _Overrides) -> _Overrides:
    return _Overrides(
        first.timeout if first.timeout is not None else then.timeout,
        first.memory if first.memory is not None else then.memory,
    )
