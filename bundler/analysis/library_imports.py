"""Imports inside the installed distributions a function reaches.

A library may import, at module level and unguarded, a distribution it does not declare
(slack_bolt's Lambda adapter imports boto3) or declares only under an extra (an Aurora DSQL
connector imports psycopg2). Starting from the modules a function imports, this walks the
modules those load through module-level, unguarded imports (not under `try/except
ImportError`, not under `TYPE_CHECKING`, not inside a function), and reports each import
found on the way; the resolution ships what they name.

Each module is read at most once per build, whichever functions reach it. The imports of
each module are kept in the cache folder, one file per distribution keyed by its name,
version and RECORD hash: a warm build reads nothing. A build reads only each module's
top-level imports (`bundler.analysis.top_level_imports`, a fraction of a syntax tree's cost);
`bundle why` asks for every import (`complete`), guarded and lazy ones included, to say why
those do not ship.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bundler.analysis.database_urls import Dialects
from bundler.analysis.imports import file_imports
from bundler.analysis.top_level_imports import top_level_imports
from bundler.environment.distributions import Distribution, Environment
from bundler.errors import BundlerError, Problem
from bundler.files import file_digest
from bundler.project.source import parse_source, read_source_text
from bundler.store.folder import CacheFolder

CACHE_FORMAT = 2
FOLDER = "libraries"
_ENTRY_LIMIT = 64 * 1024 * 1024  # bytes: a distribution's entry is at most a few MB
# (module, names, line, how) of one import statement, the module absolute; how: "" at module
# level and unguarded (followed), "guarded" (try/except ImportError), "lazy" (in a function)
Found = tuple[str, tuple[str, ...], int, str]


@dataclass(frozen=True, kw_only=True)
class LibraryImport:
    """`importer`'s module at `path` (relative to site-packages) imports `module` at `line`,
    at module level and unguarded, in a module the function reaches."""

    importer: str  # canonical distribution name
    path: str
    line: int
    module: str
    names: tuple[str, ...] = ()
    how: str = ""  # "", "guarded" or "lazy": only "" is followed and shipped

    @property
    def where(self) -> str:
        """`path:line` of the import inside its distribution, for messages."""
        return f"{self.path}:{self.line}"


# an import, and the distributions that own what it imports (none: the standard library)
Edge = tuple[LibraryImport, tuple[str, ...]]


class LibraryIndex:
    """The modules of one environment's distributions and their module-level imports,
    shared by every function of a build (safe across its threads)."""

    def __init__(self, environment: Environment, *, complete: bool = False) -> None:
        self.environment = environment
        self.complete = complete  # also the guarded and lazy imports (a syntax tree each)
        self.dialects = Dialects(environment)
        self.cache: CacheFolder | None = None
        self._lock = threading.Lock()
        self._files: dict[str, tuple[str, Path, str]] | None = None  # module -> dist, file
        self._imports: dict[str, dict[str, list[Found]]] = {}  # dist -> module -> imports
        self._loaded: set[str] = set()  # distributions whose cache file was read
        self._changed: set[str] = set()  # distributions with modules parsed this build
        self._walked: dict[str, tuple[tuple[Edge, ...], tuple[str, ...]]] = {}
        self._parsing: dict[str, threading.Event] = {}  # modules a thread is parsing now
        self.parsed = 0  # modules parsed this build (the cost the cache saves)

    def use_cache(self, cache: CacheFolder | None) -> None:
        """Keep what is parsed in `cache` (read now, written by `close`)."""
        self.cache = cache

    def walk(self, modules: Iterable[str], shipped: frozenset[str]) -> Iterator[Edge]:
        """Every import in the modules of `shipped` distributions that `modules` reach
        through module-level, unguarded imports (a module of a distribution outside
        `shipped` is reported by the import that names it, and not entered), with the
        distributions that own what it imports (none for the standard library)."""
        queue = list(_with_parents(modules))
        seen: set[str] = set()
        while queue:
            name = queue.pop()
            if name in seen:
                continue
            seen.add(name)
            found = self._module_file(name)
            if found is None or found[0] not in shipped:
                continue
            edges, following = self._edges(name, *found)
            yield from edges
            queue.extend(following)

    def _edges(
        self, module: str, owner: str, path: Path, arcname: str
    ) -> tuple[tuple[Edge, ...], tuple[str, ...]]:
        """A module's imports as edges, and the modules its unguarded ones load; worked
        out once per build (every function that reaches the module walks them)."""
        known = self._walked.get(module)
        if known is not None:
            return known
        edges = []
        following: list[str] = []
        for imported, names, line, how in self._imports_of(owner, module, path):
            found = LibraryImport(
                importer=owner, path=arcname, line=line, module=imported, names=names, how=how
            )
            if self.environment.is_stdlib(imported):
                owners: tuple[str, ...] = ()
            else:
                owners = tuple(d.name for d in self.environment.owners_of(imported, names))
            edges.append((found, owners))
            if not how:
                following.append(imported)
                following.extend(f"{imported}.{n}" for n in names if n != "*")
        loaded = tuple(m for m in _with_parents(following) if self._module_file(m) is not None)
        result = (tuple(edges), loaded)
        self._walked[module] = result  # a race only works it out twice
        return result

    def close(self) -> None:
        """Write the cache files of distributions whose modules were parsed this build."""
        if self.cache is None or not self.cache.usable:
            return
        with self._lock:
            changed = sorted(self._changed)
            self._changed.clear()
        for name in changed:
            distribution = self.environment.distributions[name]
            path = self._cache_file(distribution)
            if path is None:
                continue
            with self._lock:  # a copy: other threads may still add modules
                modules = dict(self._imports.get(name, {}))
            self.cache.write_document(path, {"format": CACHE_FORMAT, "modules": modules})
            if not self.cache.usable:
                return

    def _module_file(self, module: str) -> tuple[str, Path, str] | None:
        """(distribution, source file, its path in site-packages) of a Python module."""
        if self._files is None:
            files: dict[str, tuple[str, Path, str]] = {}
            for distribution in self.environment.distributions.values():
                if distribution.editable:
                    continue  # its source is the project's, read from where it is
                for file in distribution.files:
                    name = _module_name(file.arcname)
                    if name is not None:
                        files.setdefault(name, (distribution.name, file.source, file.arcname))
            self._files = files
        return self._files.get(module)

    def _imports_of(self, owner: str, module: str, path: Path) -> list[Found]:
        """The module's imports: cached, or parsed once (a thread that wants a module
        another thread is parsing waits for it rather than parsing it too)."""
        with self._lock:
            if owner not in self._loaded:
                self._loaded.add(owner)
                self._imports[owner] = self._read_cache(owner)
            known = self._imports[owner].get(module)
            parsing = self._parsing.get(module)
            if known is None and parsing is None:
                parsing = self._parsing[module] = threading.Event()
                mine = True
            else:
                mine = False
        if known is not None:
            return known
        assert parsing is not None
        if not mine:
            parsing.wait()
            with self._lock:
                return self._imports[owner].get(module, [])
        found: list[Found] = []
        try:
            found = _module_imports(module, path, self.complete)
        finally:
            with self._lock:
                self._imports[owner][module] = found
                self._changed.add(owner)
                self.parsed += 1
                del self._parsing[module]
            parsing.set()
        return found

    def _read_cache(self, owner: str) -> dict[str, list[Found]]:
        if self.cache is None or not self.cache.usable:
            return {}
        path = self._cache_file(self.environment.distributions[owner])
        document = None if path is None else self.cache.read_document(path, _ENTRY_LIMIT)
        if not isinstance(document, dict) or document.get("format") != CACHE_FORMAT:
            return {}
        try:
            return {
                str(module): [
                    (str(m), tuple(str(n) for n in names), int(line), str(how))
                    for m, names, line, how in rows
                ]
                for module, rows in document["modules"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}  # none yet, or not one of ours: parsed again and written anew

    def _cache_file(self, distribution: Distribution) -> Path | None:
        """`libraries/<name>-<version>-<RECORD hash>.json`; None without a RECORD."""
        assert self.cache is not None
        try:
            record = file_digest(distribution.location / "RECORD")[0].hex()[:16]
        except OSError:
            return None
        kind = "-complete" if self.complete else ""
        name = f"{distribution.name}-{distribution.version}-{record}{kind}.json"
        return self.cache.path / FOLDER / name.replace("/", "_")


def _with_parents(modules: Iterable[str]) -> list[str]:
    """`a.b.c` -> `a`, `a.b`, `a.b.c`: importing a submodule runs its parents first."""
    found: dict[str, None] = {}
    for module in modules:
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            found.setdefault(".".join(parts[:end]))
    return list(found)


def _module_name(arcname: str) -> str | None:
    """`a/b/c.py` -> `a.b.c`, `a/b/__init__.py` -> `a.b`; None for other files."""
    if not arcname.endswith(".py"):
        return None
    parts = arcname[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def _module_imports(module: str, path: Path, complete: bool) -> list[Found]:
    """The imports of the module at `path`, absolute, each with how it is made: only the
    top-level ones unless `complete`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if not complete:
        try:
            top = top_level_imports(read_source_text(path))
        except BundlerError:
            return []  # it cannot be imported either; whoever imports it finds out
        if top is not None:
            return [
                (name, names, line, "")
                for relative, names, line, level in top
                if (name := _absolute(relative, level, package))
            ]
    try:
        parsed = parse_source(path)
    except BundlerError:
        return []
    found: list[Found] = []
    ignored: list[Problem] = []
    for site in file_imports(parsed, ignored):
        if site.type_checking:
            continue
        how = "lazy" if site.in_function else "guarded" if site.optional else ""
        if not complete and how:
            continue
        level = len(site.module) - len(site.module.lstrip("."))
        name = _absolute(site.module[level:], level, package)
        if name:
            found.append((name, tuple(site.names), site.line, how))
    return found


def _absolute(module: str, level: int, package: str) -> str | None:
    """The absolute name of `from {"." * level}{module} import ...` in `package`; None
    for `__future__` and for what reaches above the top package."""
    if level:
        base = package.split(".") if package else []
        if level - 1 > len(base):
            return None
        base = base[: len(base) - (level - 1)]
        module = ".".join([*base, module] if module else base)
    return module if module and module != "__future__" else None
