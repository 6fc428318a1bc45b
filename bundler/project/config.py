"""The site's settings: `[tool.bundler]`, `netlify.toml`, and its declared requirements."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.errors import Problem, UsageError
from bundler.project.declarations_read import read_declared
from bundler.project.declared import Declared, SiteDeclarations, read_toml, toml_table
from bundler.project.patterns import IncludeEntry, parse_pattern

__all__ = ["Declared", "FunctionSettings", "IncludeEntry", "SiteConfig"]

DEFAULT_FUNCTIONS_DIR = Path("netlify", "functions")
# Every setting a per-function table may hold, and those of [tool.bundler] itself
# (`timeout` and `memory` are `bundle serve`'s)
FUNCTION_KEYS = frozenset({"include", "included_files", "exclude", "schedule", "timeout", "memory"})
TOOL_KEYS = FUNCTION_KEYS | {"functions", "runtime", "arch", "python", "dev-groups"}


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

    @property
    def excluded_distributions(self) -> tuple[str, ...]:
        """`exclude` entries that name distributions (the runtime provides them)."""
        return tuple(e for e in self.exclude if not is_file_pattern(e))

    @property
    def excluded_files(self) -> tuple[str, ...]:
        """`exclude` entries that are file patterns (`**/tests/**`, `*.pyi`): files dropped
        from every shipped distribution."""
        return tuple(e for e in self.exclude if is_file_pattern(e))


def is_file_pattern(entry: str) -> bool:
    """An `exclude` entry with a `/` or a wildcard is a file pattern, not a name."""
    return any(sign in entry for sign in "/*?[")


def _is_distribution_name(entry: IncludeEntry, root: Path) -> bool:
    """Names come from `include` only, have no path, glob or `!` signs, and are not the name
    of a file in the site."""
    text = entry.text
    if entry.files_only or not text or any(sign in text for sign in "/*?[\\!"):
        return False
    if text != text.strip() or any(ord(c) < 32 for c in text) or len(text) > 255:
        return False  # not a name; the pattern check says what is wrong with it
    return not (root / text).exists()


@dataclass(frozen=True, kw_only=True)
class SiteConfig:
    """Everything the site's own files say; read once per run."""

    root: Path
    functions_dir: Path | None = None
    functions_dir_source: str | None = None
    defaults: FunctionSettings = field(default_factory=FunctionSettings)
    functions: Mapping[str, FunctionSettings] = field(default_factory=dict)
    declarations: SiteDeclarations = field(default_factory=SiteDeclarations)
    warnings: tuple[Problem, ...] = ()
    runtime: str | None = None
    arch: str | None = None
    python: str | None = None  # [tool.bundler] python, relative to the root
    dev_groups: frozenset[str] = frozenset()

    @classmethod
    def from_root(cls, root: Path) -> SiteConfig:
        """Read `pyproject.toml`, `netlify.toml` and requirement files under `root`."""
        pyproject = read_toml(root / "pyproject.toml")
        netlify = read_toml(root / "netlify.toml")
        tool = toml_table(pyproject.get("tool", {}), "tool", root / "pyproject.toml").get(
            "bundler", {}
        )
        tool = toml_table(tool, "tool.bundler", root / "pyproject.toml")
        check_keys(tool, root / "pyproject.toml")

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
        runtime, arch, python = tool.get("runtime"), tool.get("arch"), tool.get("python")
        for key, value in (("runtime", runtime), ("arch", arch), ("python", python)):
            if value is not None and not isinstance(value, str):
                raise UsageError.of(
                    f"`tool.bundler.{key}` must be a string",
                    file=root / "pyproject.toml",
                    hint='write e.g. runtime = "python3.12", arch = "arm64", python = ".venv"',
                )
        dev_groups = frozenset(
            _strings(tool, "dev-groups", "tool.bundler", root / "pyproject.toml")
        )
        declarations = read_declared(root, pyproject, warnings, dev_groups)
        return cls(
            runtime=runtime,
            arch=arch,
            python=python,
            dev_groups=dev_groups,
            root=root,
            functions_dir=functions_dir,
            functions_dir_source=functions_source,
            defaults=defaults,
            functions=per_function,
            declarations=declarations,
            warnings=tuple(warnings),
        )

    @property
    def declared(self) -> tuple[Declared, ...]:
        """Every requirement the site declares, runtime first."""
        return self.declarations.declared

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
        """What the site needs at run time: its runtime requirements, not its extras."""
        return tuple(d for d in self.declared if d.kind == "runtime")

    @property
    def extra_requirements(self) -> tuple[Declared, ...]:
        """Runtime extras (features such as `postgres`), shipped where a function uses them."""
        return tuple(d for d in self.declared if d.kind == "extra")

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
        """The declarations of dev groups."""
        return tuple(d for d in self.declared if d.is_dev)


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
        excluded = [IncludeEntry(e, one.source, "exclude") for e in one.excluded_files]
        for entry in (*one.included_patterns(root), *excluded):
            found = parse_pattern(entry)
            if isinstance(found, Problem):
                problems.append(found)
    if problems:
        raise UsageError(*problems)


def check_keys(
    table: Mapping[str, Any],
    path: Path,
    where: str = "tool.bundler",
    known: frozenset[str] = TOOL_KEYS,
) -> None:
    """Every key of `table` must be a setting: a misspelled one would pass silently."""
    problems = []
    for key in table:
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        problems.append(
            Problem(
                f"unknown setting `{key}` in [{where}]",
                file=path,
                hint=f"{hint}the settings are {', '.join(sorted(known))}",
            )
        )
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
                check_keys(value, pyproject_path, where, FUNCTION_KEYS)
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
