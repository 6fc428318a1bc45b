"""Find the site's functions, following Netlify's layout rules."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bundler.config import FunctionSettings, SiteConfig
from bundler.errors import BundlerError, Problem, UsageError
from bundler.routes import Route, function_routes
from bundler.schedule import schedule_error
from bundler.source import parse_source

Kind = Literal["sync", "background", "scheduled", "event"]
Layout = Literal["file", "directory"]

NAME_RULE = re.compile(r"^[A-Za-z0-9_-]+$")
BACKGROUND_SUFFIX = "-background"
EVENT_TRIGGERS = frozenset(
    {
        "deploy-building",
        "deploy-succeeded",
        "deploy-failed",
        "deploy-deleted",
        "deploy-locked",
        "deploy-unlocked",
        "submission-created",
        "split-test-activated",
        "split-test-deactivated",
        "split-test-modified",
        "identity-validate",
        "identity-signup",
        "identity-login",
    }
)


@dataclass(frozen=True)
class Function:
    """One function of the site, as found on disk."""

    name: str
    main_file: Path
    layout: Layout
    kind: Kind
    handler_line: int
    schedule: str | None = None
    trigger: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    settings: FunctionSettings = field(default_factory=FunctionSettings)
    routes: tuple[Route, ...] = ()  # v2 `config["path"]`: it answers only there
    excluded_routes: tuple[Route, ...] = ()

    @property
    def folder(self) -> Path:
        """The folder that is `sys.path[0]` for this function's code."""
        return self.main_file.parent

    @property
    def module(self) -> str:
        """The main module's name at the zip root."""
        return self.main_file.stem

    @property
    def handler(self) -> str:
        """Lambda's handler string."""
        return f"{self.module}.handler"

    @property
    def invocation_mode(self) -> str | None:
        return "background" if self.name.endswith(BACKGROUND_SUFFIX) else None


@dataclass(frozen=True)
class Discovery:
    """The functions found, and the problems of those that could not be read."""

    functions: tuple[Function, ...]
    failures: Mapping[str, tuple[Problem, ...]]
    warnings: tuple[Problem, ...] = ()


def discover_functions(directory: Path, config: SiteConfig) -> Discovery:
    """Every function under `directory`; a bad function is a failure, not the end of the run."""
    if not directory.is_dir():
        raise UsageError.of(
            "the functions folder does not exist",
            file=directory,
            hint="create it, or name another with FUNCTIONS_DIR or [tool.bundler] functions",
        )
    candidates: dict[str, list[Path]] = {}
    for name, main_file in _candidates(directory):
        candidates.setdefault(name, []).append(main_file)
    if not candidates:
        raise UsageError.of(
            "the functions folder has no functions",
            file=directory,
            hint="add NAME.py, NAME/NAME.py or NAME/index.py with a top-level `handler`",
        )
    functions: list[Function] = []
    failures: dict[str, tuple[Problem, ...]] = {}
    for name in sorted(candidates):
        try:
            functions.append(_read_function(name, candidates[name], directory, config))
        except BundlerError as error:
            failures[name] = tuple(
                Problem(p.message, p.file, p.line, name, p.hint) for p in error.problems
            )
    unknown = sorted(set(config.functions) - set(candidates))
    problems = [
        Problem(
            f"settings for function {name!r}, which does not exist",
            file=config.functions[name].source,
            hint="fix the name or remove the settings",
            severity="warning",
        )
        for name in unknown
    ]
    return Discovery(tuple(functions), failures, tuple(problems))


def _candidates(directory: Path) -> Iterator[tuple[str, Path]]:
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "_")):
            continue  # hidden files, __pycache__, __init__.py and _private helpers
        if entry.is_file() and entry.suffix == ".py":
            yield entry.stem, entry
        elif entry.is_dir():
            for main in (entry / f"{entry.name}.py", entry / "index.py"):
                if main.is_file():
                    yield entry.name, main


def _read_function(name: str, sources: list[Path], directory: Path, config: SiteConfig) -> Function:
    if len(sources) > 1:
        listed = " and ".join(str(p.relative_to(directory)) for p in sources)
        raise BundlerError.of(
            f"function {name!r} has two sources: {listed}",
            file=sources[0],
            hint="keep one of them; rename or delete the other",
        )
    main_file = sources[0]
    if not NAME_RULE.match(name):
        raise BundlerError.of(
            f"function name {name!r} is not allowed: names may use only letters, digits, "
            "'-' and '_'",
            file=main_file,
            hint="rename the file or folder; Netlify refuses other names at deploy time",
        )
    tree = parse_source(main_file)
    handler_line = _handler_line(tree, main_file)
    in_source = _config_literal(tree, main_file)
    config_line = in_source.get("_line")
    settings = config.settings_for(name)
    schedule = _schedule(in_source, settings, main_file)
    trigger = _trigger(name)
    kind: Kind = "sync"
    if schedule:
        kind = "scheduled"
    elif trigger:
        kind = "event"
    elif name.endswith(BACKGROUND_SUFFIX):
        kind = "background"
    routes, excluded = function_routes(name, in_source, kind, main_file, config_line)
    return Function(
        name=name,
        main_file=main_file,
        layout="file" if main_file.parent == directory else "directory",
        kind=kind,
        handler_line=handler_line,
        schedule=schedule,
        trigger=trigger,
        config=in_source,
        settings=settings,
        routes=routes,
        excluded_routes=excluded,
    )


def _trigger(name: str) -> str | None:
    base = name.lower().removesuffix(BACKGROUND_SUFFIX)
    return base if base in EVENT_TRIGGERS else None


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, looking into top-level `if` and `try` blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _top_level(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            blocks = node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                blocks += handler.body
            yield from _top_level(blocks)


def _binds(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    if isinstance(node, ast.Import | ast.ImportFrom):
        return any((alias.asname or alias.name) == name for alias in node.names)
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return node.name == name
    return False


def _handler_line(tree: ast.Module, path: Path) -> int:
    for node in _top_level(tree.body):
        if isinstance(node, ast.AsyncFunctionDef) and node.name == "handler":
            raise BundlerError.of(
                "`handler` is an `async def`; Lambda calls handler(event, context) and would "
                "get a coroutine back",
                file=path,
                line=node.lineno,
                hint="make it a plain `def` that calls asyncio.run(...), or use an adapter "
                "such as mangum",
            )
        if _binds(node, "handler"):
            return node.lineno
    raise BundlerError.of(
        "no top-level `handler` defined",
        file=path,
        hint="define `def handler(event, context):` or assign one, e.g. `handler = Mangum(app)`",
    )


def _config_literal(tree: ast.Module, path: Path) -> dict[str, Any]:
    for node in tree.body:
        if _binds(node, "config") and isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            try:
                literal = ast.literal_eval(value) if value is not None else None
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise BundlerError.of(
                    "`config` must be a literal dict: the bundler reads it without running "
                    "your code",
                    file=path,
                    line=node.lineno,
                    hint='write it as config = {"schedule": "@hourly"}',
                ) from None
            if not isinstance(literal, dict):
                raise BundlerError.of(
                    f"`config` must be a dict, not {type(literal).__name__}",
                    file=path,
                    line=node.lineno,
                    hint='write it as config = {"schedule": "@hourly"}',
                )
            literal["_line"] = node.lineno
            return literal
    return {}


def _schedule(in_source: dict[str, Any], settings: FunctionSettings, path: Path) -> str | None:
    line = in_source.pop("_line", None)
    schedule = in_source.get("schedule")
    if schedule is not None and not isinstance(schedule, str):
        raise BundlerError.of(
            "`config['schedule']` must be a string",
            file=path,
            line=line,
            hint='write it as config = {"schedule": "@hourly"}',
        )
    if schedule and settings.schedule and schedule != settings.schedule:
        raise BundlerError.of(
            f"two schedules: {schedule!r} in the source and {settings.schedule!r} in "
            f"{settings.source.name if settings.source else 'the configuration'}",
            file=path,
            line=line,
            hint="keep one of them",
        )
    chosen = schedule or settings.schedule
    if chosen:
        problem = schedule_error(chosen)
        if problem:
            where = path if schedule else settings.source
            raise BundlerError.of(
                problem,
                file=where,
                line=line if schedule else None,
                hint="write five fields (minute hour day-of-month month day-of-week), "
                'e.g. "0 9 * * 1"',
            )
    return chosen
