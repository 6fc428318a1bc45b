"""The site's settings: `[tool.bundler]`, `netlify.toml`, and its declared requirements."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.declared import Declared, read_declared, toml_table

__all__ = ["Declared", "FunctionSettings", "IncludeEntry", "SiteConfig"]
from bundler.errors import Problem, UsageError
from bundler.patterns import IncludeEntry, parse_pattern

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FUNCTIONS_DIR = Path("netlify", "functions")


@dataclass(frozen=True)
class FunctionSettings:
    """What the site's configuration says about one function (or all of them)."""

    included: tuple[IncludeEntry, ...] = ()
    exclude: tuple[str, ...] = ()
    schedule: str | None = None
    source: Path | None = None

    @property
    def include(self) -> tuple[str, ...]:
        """Every `include` and `included_files` entry, as written."""
        return tuple(entry.text for entry in self.included)

    def included_distributions(self, root: Path) -> tuple[str, ...]:
        """`include` entries that name distributions rather than files."""
        return tuple(e.text for e in self.included if _is_distribution_name(e, root))

    def included_patterns(self, root: Path) -> tuple[IncludeEntry, ...]:
        """Entries that are file patterns, relative to the site root (`!` ones exclude)."""
        return tuple(e for e in self.included if not _is_distribution_name(e, root))


def _is_distribution_name(entry: IncludeEntry, root: Path) -> bool:
    """Names come from `include` only, have no path, glob or `!` signs, and are not the name
    of a file in the site."""
    text = entry.text
    if entry.files_only or not text or any(sign in text for sign in "/*?[\\!"):
        return False
    if text != text.strip() or any(ord(c) < 32 for c in text) or len(text) > 255:
        return False  # not a name; the pattern check says what is wrong with it
    return not (root / text).exists()


@dataclass(frozen=True)
class SiteConfig:
    """Everything the site's own files say; read once per run."""

    root: Path
    functions_dir: Path | None = None
    functions_dir_source: str | None = None
    defaults: FunctionSettings = field(default_factory=FunctionSettings)
    functions: Mapping[str, FunctionSettings] = field(default_factory=dict)
    declared: tuple[Declared, ...] = ()
    warnings: tuple[Problem, ...] = ()
    runtime: str | None = None
    arch: str | None = None

    @classmethod
    def from_root(cls, root: Path) -> SiteConfig:
        """Read `pyproject.toml`, `netlify.toml` and requirement files under `root`."""
        pyproject = _read_toml(root / "pyproject.toml")
        netlify = _read_toml(root / "netlify.toml")
        tool = toml_table(pyproject.get("tool", {}), "tool", root / "pyproject.toml").get(
            "bundler", {}
        )
        tool = toml_table(tool, "tool.bundler", root / "pyproject.toml")

        functions_dir, functions_source, per_function = _functions_settings(root, tool, netlify)
        defaults = _settings(tool, "tool.bundler", root / "pyproject.toml")
        net_functions = netlify.get("functions", {})
        if isinstance(net_functions, dict) and "included_files" in net_functions:
            extra = _entries(net_functions, "included_files", "functions", root / "netlify.toml")
            defaults = FunctionSettings(
                defaults.included + extra, defaults.exclude, None, defaults.source
            )
        _check_patterns(root, defaults, *per_function.values())

        warnings: list[Problem] = []
        declared = read_declared(root, pyproject, warnings)
        runtime, arch = tool.get("runtime"), tool.get("arch")
        for key, value in (("runtime", runtime), ("arch", arch)):
            if value is not None and not isinstance(value, str):
                raise UsageError.of(
                    f"`tool.bundler.{key}` must be a string",
                    file=root / "pyproject.toml",
                    hint='write e.g. runtime = "python3.12" and arch = "arm64"',
                )
        return cls(
            runtime=runtime,
            arch=arch,
            root=root,
            functions_dir=functions_dir,
            functions_dir_source=functions_source,
            defaults=defaults,
            functions=per_function,
            declared=tuple(declared),
            warnings=tuple(warnings),
        )

    def settings_for(self, name: str) -> FunctionSettings:
        """The global settings merged with those of function `name`."""
        own = self.functions.get(name, FunctionSettings())
        return FunctionSettings(
            included=self.defaults.included + own.included,
            exclude=self.defaults.exclude + own.exclude,
            schedule=own.schedule,
            source=own.source or self.defaults.source,
        )

    @property
    def runtime_requirements(self) -> tuple[Declared, ...]:
        return tuple(d for d in self.declared if not d.is_dev)

    @property
    def direct_runtime_requirements(self) -> tuple[Declared, ...]:
        """What the project itself asks for: `[project].dependencies`, else
        `requirements.in`, else a hand-written `requirements.txt` (not pip-compile's pins)."""
        runtime = self.runtime_requirements
        for wanted in ("pyproject.toml", "requirements.in", "requirements.txt"):
            chosen = tuple(d for d in runtime if d.file and d.file.name == wanted)
            if chosen:
                if wanted == "requirements.txt" and _generated(self.root / wanted):
                    return ()
                return chosen
        return ()

    @property
    def dev_requirements(self) -> tuple[Declared, ...]:
        return tuple(d for d in self.declared if d.is_dev)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))  # no `lineno` before Python 3.14
        line = getattr(error, "lineno", None) or (int(found.group(1)) if found else None)
        raise UsageError.of(
            f"invalid TOML: {error}", file=path, line=line, hint="fix the syntax of this file"
        ) from None
    except OSError as error:
        raise UsageError.of(
            f"cannot read: {error.strerror}", file=path, hint="check the file's permissions"
        ) from None


def _generated(path: Path) -> bool:
    """Whether a requirements file was written by pip-compile (or uv pip compile)."""
    try:
        head = path.read_text(encoding="utf-8")[:1000]
    except (OSError, UnicodeDecodeError):
        return False
    return "pip-compile" in head or "uv pip compile" in head


def _strings(table: Mapping[str, Any], key: str, where: str, path: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError.of(
            f"`{where}.{key}` must be a list of strings",
            file=path,
            hint=f'write it as {key} = ["..."]',
        )
    return tuple(value)


def _entries(
    table: Mapping[str, Any], key: str, where: str, path: Path
) -> tuple[IncludeEntry, ...]:
    return tuple(IncludeEntry(t, path, f"{where}.{key}") for t in _strings(table, key, where, path))


def _check_patterns(root: Path, *settings: FunctionSettings) -> None:
    """Every file pattern must be usable (before any work): all that are not, at once."""
    problems = []
    for one in settings:
        for entry in one.included_patterns(root):
            found = parse_pattern(entry)
            if isinstance(found, Problem):
                problems.append(found)
    if problems:
        raise UsageError(*problems)


def _settings(table: Mapping[str, Any], where: str, path: Path) -> FunctionSettings:
    schedule = table.get("schedule")
    if schedule is not None and not isinstance(schedule, str):
        raise UsageError.of(
            f"`{where}.schedule` must be a string",
            file=path,
            hint='write it as schedule = "@hourly" or a cron expression',
        )
    return FunctionSettings(
        included=_entries(table, "include", where, path)
        + _entries(table, "included_files", where, path),
        exclude=_strings(table, "exclude", where, path),
        schedule=schedule,
        source=path,
    )


def _functions_settings(
    root: Path, tool: Mapping[str, Any], netlify: Mapping[str, Any]
) -> tuple[Path | None, str | None, dict[str, FunctionSettings]]:
    """The functions folder and per-function tables, from pyproject then netlify.toml.

    `[tool.bundler] functions = "dir"` names the folder; as TOML cannot also hold
    `[tool.bundler.functions.NAME]` then, `[tool.bundler.functions] directory = "dir"`
    is accepted too, the way `netlify.toml` writes `[functions] directory`.
    """
    pyproject_path, netlify_path = root / "pyproject.toml", root / "netlify.toml"
    per_function: dict[str, FunctionSettings] = {}
    directory: str | None = None
    source: str | None = None

    net = netlify.get("functions", {})
    if isinstance(net, dict):
        for name, value in net.items():
            if isinstance(value, dict):
                where = f'functions."{name}"'
                per_function[name] = _settings(value, where, netlify_path)
        if isinstance(net.get("directory"), str):
            directory, source = net["directory"], "netlify.toml [functions] directory"
    build = netlify.get("build", {})
    if directory is None and isinstance(build, dict) and isinstance(build.get("functions"), str):
        directory, source = build["functions"], "netlify.toml [build] functions"

    functions = tool.get("functions")
    if isinstance(functions, str):
        directory, source = functions, "pyproject.toml [tool.bundler] functions"
    elif isinstance(functions, dict):
        for name, value in functions.items():
            if name == "directory" and isinstance(value, str):
                directory, source = value, "pyproject.toml [tool.bundler.functions] directory"
            elif isinstance(value, dict):
                where = f"tool.bundler.functions.{name}"
                own = _settings(value, where, pyproject_path)
                per_function[name] = _merge(name, per_function.get(name), own)
            else:
                raise UsageError.of(
                    f"`tool.bundler.functions.{name}` must be a table of settings",
                    file=pyproject_path,
                    hint=f"write it as [tool.bundler.functions.{name}]",
                )
    elif functions is not None:
        raise UsageError.of(
            "`tool.bundler.functions` must be a folder name or a table",
            file=pyproject_path,
            hint='write functions = "netlify/functions"',
        )
    return (Path(directory) if directory else None), source, per_function


def _merge(name: str, netlify: FunctionSettings | None, own: FunctionSettings) -> FunctionSettings:
    """A function's settings from netlify.toml and pyproject.toml together."""
    if netlify is None:
        return own
    if netlify.schedule and own.schedule and netlify.schedule != own.schedule:
        raise UsageError.of(
            f"function {name!r} has two schedules: {own.schedule!r} in pyproject.toml and "
            f"{netlify.schedule!r} in netlify.toml",
            file=own.source,
            hint="keep one of them",
        )
    return FunctionSettings(
        included=netlify.included + own.included,
        exclude=netlify.exclude + own.exclude,
        schedule=own.schedule or netlify.schedule,
        source=own.source,
    )
