"""Find the site's functions, following Netlify's layout rules."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bundler.errors import BundlerError, Problem, UsageError
from bundler.project.bindings import Binding, top_level_bindings
from bundler.project.config import FunctionSettings, SiteConfig
from bundler.project.routes import Route, function_routes
from bundler.project.schedule import choose_schedule, read_config
from bundler.project.source import ParsedSource, SourceMemo, parse_source

Kind = Literal["sync", "background", "scheduled", "event"]
Layout = Literal["file", "directory"]

# A full match: with `^...$`, "ok\n" passed (`$` matches before a final newline)
NAME_RULE = re.compile(r"\A[A-Za-z0-9_-]+\Z")
NO_HANDLER_HINT = (
    "define `def handler(event, context):` or assign one, e.g. `handler = Mangum(app)`"
)
READ_HINT = "let the user running the build read and enter it (chmod u+rx)"
UNBOUND = ("annotation", "augmented assignment", "star import")  # none defines a name
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


@dataclass(frozen=True, kw_only=True)
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
        """`background` for a `-background` function, as Netlify decides; else None."""
        return "background" if self.name.endswith(BACKGROUND_SUFFIX) else None


@dataclass(frozen=True)
class Discovery:
    """The functions found, and the problems of those that could not be read."""

    functions: tuple[Function, ...]
    failures: Mapping[str, tuple[Problem, ...]]
    warnings: tuple[Problem, ...] = ()


def discover_functions(
    directory: Path, config: SiteConfig, memo: SourceMemo | None = None
) -> Discovery:
    """Every function under `directory`; a bad function is a failure, not the end of the run.

    With `memo`, each function's parsed main file is kept there for the scan.
    """
    if not _is_folder(directory):
        raise UsageError.of(
            "the functions folder does not exist",
            file=directory,
            hint="create it, or name another with FUNCTIONS_DIR or [tool.bundler] functions",
        )
    candidates: dict[str, list[Path | Problem]] = {}
    for name, found in _candidates(directory):
        candidates.setdefault(name, []).append(found)
    if not candidates:
        raise UsageError.of(
            "the functions folder has no functions",
            file=directory,
            hint="add NAME.py, NAME/NAME.py or NAME/index.py with a top-level `handler`",
        )
    functions: list[Function] = []
    failures: dict[str, tuple[Problem, ...]] = {}
    warnings: list[Problem] = []
    for name in sorted(candidates):
        try:
            function, parsed, notes = _read_function(
                name, candidates[name], directory, config, memo
            )
        except BundlerError as error:
            failures[name] = tuple(p.for_function(name) for p in error.problems)
            continue
        functions.append(function)
        warnings += (p.for_function(name) for p in notes)
        if memo is not None and parsed is not None:
            memo.keep(parsed)  # the scan takes it: each main file is parsed once
    unknown = sorted(set(config.functions) - set(candidates))
    warnings += (
        Problem(
            f"settings for function {name!r}, which does not exist",
            file=config.functions[name].source,
            hint="fix the name or remove the settings",
            severity="warning",
        )
        for name in unknown
    )
    return Discovery(tuple(functions), failures, tuple(warnings))


def _is_folder(directory: Path) -> bool:
    try:
        return directory.is_dir()
    except OSError as error:  # a parent that cannot be searched
        raise _unreadable(directory, error) from None


def _unreadable(directory: Path, error: OSError) -> UsageError:
    return UsageError(
        Problem(
            f"cannot read the functions folder: {error.strerror or error}",
            file=directory,
            hint=READ_HINT,
        )
    )


def _candidates(directory: Path) -> Iterator[tuple[str, Path | Problem]]:
    """(name, main file) for each function; (name, problem) for a folder not readable."""
    try:  # scandir knows each entry's kind without a stat (but for links: followed)
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as error:
        raise _unreadable(directory, error) from None
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue  # hidden files, __pycache__, __init__.py and _private helpers
        path = directory / entry.name
        try:
            if entry.is_file() and path.suffix == ".py":
                yield path.stem, path
            elif entry.is_dir():
                for main in (path / f"{entry.name}.py", path / "index.py"):
                    if main.is_file():
                        yield entry.name, main
        except OSError as error:
            # a folder that cannot be searched may hold a function: never skip it silently
            yield (
                entry.name,
                Problem(
                    f"cannot read this folder: {error.strerror or error}",
                    file=path,
                    hint=f"{READ_HINT}, or move it out of the functions folder",
                ),
            )


def _read_function(
    name: str,
    sources: list[Path | Problem],
    directory: Path,
    config: SiteConfig,
    memo: SourceMemo | None = None,
) -> tuple[Function, ParsedSource | None, list[Problem]]:
    unreadable = [s for s in sources if isinstance(s, Problem)]
    if unreadable:
        raise BundlerError(*unreadable)
    paths = [s for s in sources if isinstance(s, Path)]
    if len(paths) > 1:
        listed = " and ".join(str(p.relative_to(directory)) for p in paths)
        raise BundlerError.of(
            f"function {name!r} has two sources: {listed}",
            file=paths[0],
            hint="keep one of them; rename or delete the other",
        )
    main_file = paths[0]
    if not NAME_RULE.match(name):
        raise BundlerError.of(
            f"function name {name!r} is not allowed: names may use only letters, digits, "
            "'-' and '_'",
            file=main_file,
            hint="rename the file or folder; Netlify refuses other names at deploy time",
        )
    parsed: ParsedSource | None = None
    recalled = _recall(memo, main_file)
    if recalled is not None:
        handler_line, in_source, line, found = recalled
    else:
        parsed = parse_source(main_file)
        bound = top_level_bindings(parsed, ("handler", "config"))
        handler_line = _handler_line(bound["handler"], main_file)
        in_source, line, found = read_config(bound["config"], main_file)
        if memo is not None:
            memo.remember(main_file, parsed.signature, _saved(handler_line, in_source, line, found))
    settings = config.settings_for(name)
    schedule = choose_schedule(in_source, line, settings, main_file)
    trigger = _trigger(name)
    kind: Kind = "sync"
    if schedule:
        kind = "scheduled"
    elif trigger:
        kind = "event"
    elif name.endswith(BACKGROUND_SUFFIX):
        kind = "background"
    routes, excluded = function_routes(name, in_source, kind, main_file, line)
    function = Function(
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
    return function, parsed, found


def _saved(
    handler_line: int, in_source: dict[str, Any], line: int | None, found: list[Problem]
) -> list[Any]:
    """What discovery read from a main file, as JSON (the `config` literal as its repr,
    which `ast.literal_eval` reads back exactly)."""
    notes = [[p.message, p.file is not None, p.line, p.hint, p.severity] for p in found]
    return [handler_line, repr(in_source), line, notes]


def _recall(
    memo: SourceMemo | None, path: Path
) -> tuple[int, dict[str, Any], int | None, list[Problem]] | None:
    """What discovery read from `path` last time, when the file is unchanged since."""
    saved = memo.recall(path) if memo is not None else None
    if saved is None:
        return None
    try:
        handler_line, written, line, notes = saved
        in_source = {} if written == "{}" else ast.literal_eval(written)  # most have none
        found = [
            Problem(
                str(m),
                file=path if mine else None,
                line=n,
                hint=None if h is None else str(h),
                severity=s,
            )
            for m, mine, n, h, s in notes
            if s in ("error", "warning") and (n is None or isinstance(n, int))
        ]
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None  # not one of ours: the file is parsed
    if not isinstance(handler_line, int) or not isinstance(in_source, dict):
        return None
    if line is not None and not isinstance(line, int):
        return None
    return handler_line, in_source, line, found


def _trigger(name: str) -> str | None:
    base = name.lower().removesuffix(BACKGROUND_SUFFIX)
    return base if base in EVENT_TRIGGERS else None


def _handler_line(bound: list[Binding], path: Path) -> int:
    """The line of the first top-level binding of `handler`; the last one decides what
    Lambda calls (as Python keeps the last), so a final `async def` is refused."""
    defining = [b for b in bound if b.kind not in UNBOUND]
    if not defining:
        raise BundlerError(_no_handler(bound, path))
    last = defining[-1]
    if last.kind == "async def":
        raise BundlerError.of(
            "`handler` is an `async def`; Lambda calls handler(event, context) and would "
            "get a coroutine back",
            file=path,
            line=last.line,
            hint="make it a plain `def` that calls asyncio.run(...), or use an adapter "
            "such as mangum",
        )
    return defining[0].line


def _no_handler(bound: list[Binding], path: Path) -> Problem:
    """Why no binding of `handler` counts, with what is supported."""
    star = next((b for b in bound if b.kind == "star import"), None)
    if star is not None:
        return Problem(
            "no top-level `handler` the bundler can see: `from ... import *` may define "
            "it, but which names it binds is known only by running it",
            file=path,
            line=star.line,
            hint="import it by name: `from module import handler`",
        )
    if bound:  # only annotated, or only updated with `handler += ...`
        return Problem(
            f"`handler` is never assigned at the top level: line {bound[0].line} has only "
            f"an {bound[0].kind}",
            file=path,
            line=bound[0].line,
            hint=NO_HANDLER_HINT,
        )
    return Problem("no top-level `handler` defined", file=path, hint=NO_HANDLER_HINT)
