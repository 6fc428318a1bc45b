"""What each first-party file says (its imports, what it loads by name, the warnings it
gives), read once per build whichever functions reach it, and kept in the cache by content.

A site's shared `lib` is reached by every function; the scan of a function is a walk over
these per-file results, so a 20,000-line library is parsed once per build, and not at all
when it has not changed since the last one. The cache file maps each file's content digest
(with its path under the site and its package, which a result depends on) to its result,
and each path's last stat to its digest: an unchanged file is not even read; a fresh CI
checkout (new times, same bytes) reads and hashes it, and parses nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.analysis.imports import ImportSite, file_imports
from bundler.analysis.loaded_by_name import NameReader, NameUse
from bundler.errors import BundlerError, Problem
from bundler.project.source import SourceMemo, file_signature, read_source_text
from bundler.store.folder import CacheFolder

CACHE_FORMAT = 1
CACHE_FILE = Path("sources", "first-party.json")
_KEEP_FOR = 20  # builds: a result no build used for this long is dropped


@dataclass(frozen=True)
class FileScan:
    """One file's imports and names loaded, and what reading it found, in source order."""

    sites: tuple[ImportSite, ...] = ()
    uses: tuple[NameUse, ...] = ()
    warnings: tuple[Problem, ...] = ()
    errors: tuple[Problem, ...] = ()  # it could not be read or parsed


class FileScans:
    """The per-file scans of one build, shared by its threads; kept in `cache` if given."""

    def __init__(self, root: Path, sources: SourceMemo) -> None:
        self.root = root
        self.sources = sources
        self.cache: CacheFolder | None = None
        self._lock = threading.Lock()
        self._done: dict[tuple[Path, tuple[int, ...], str], FileScan] = {}
        self._busy: dict[tuple[Path, tuple[int, ...], str], threading.Event] = {}
        self._probes: dict[tuple[Path, tuple[str, ...]], list[Path] | None] = {}
        self._stored: dict[str, list[Any]] = {}  # content key -> [generation, encoded]
        self._stats: dict[str, list[Any]] = {}  # path under the site -> [signature, digest]
        self._generation = 0
        self._changed = False
        self._unread = False  # the cache file, until the first scan asks for it
        self.parsed = 0  # files parsed this build (the cost the cache saves)

    def use_cache(self, cache: CacheFolder | None) -> None:
        """Use the results kept in `cache` (read when the first file is scanned: a build
        whose functions all come from the cache reads none); `close` writes this build's."""
        self.cache = cache
        self._unread = cache is not None

    def _read_cache(self) -> None:
        if self.cache is None:
            return
        document = self.cache.read_document(self.cache.path / CACHE_FILE)
        if not isinstance(document, dict) or document.get("format") != CACHE_FORMAT:
            return
        try:
            scans, stats = document["scans"], document["stats"]
            if isinstance(scans, dict) and isinstance(stats, dict):
                self._stored, self._stats = scans, stats
                self._generation = int(document["generation"]) + 1
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # none yet, or not one of ours: everything is parsed and written anew

    def scan(self, path: Path, package: str) -> FileScan:
        """`path`'s result as a module of `package`: from this build, the cache, or parsed."""
        signature = file_signature(path)
        key = (path, signature, package)
        with self._lock:
            found = self._done.get(key)
            if found is not None:
                return found
            busy = self._busy.get(key)  # another thread is reading it: wait for its answer
            if busy is None:
                self._busy[key] = threading.Event()
        if busy is not None:
            busy.wait()
            return self._done.get(key) or self.scan(path, package)
        try:
            found = self._from_cache(path, signature, package)
            if found is not None:
                self.sources.forget(path)  # the tree discovery kept is not needed
            else:
                found = self._read(path, package)
            with self._lock:
                self._done[key] = found
        finally:
            with self._lock:
                self._busy.pop(key).set()
        return found

    def module_files(
        self, root: Path, parts: tuple[str, ...], probe: Callable[[], list[Path] | None]
    ) -> list[Path] | None:
        """`probe()`'s answer to where module `parts` is under `root`, asked once per
        build (the files do not move during one); a copy, so callers may extend it."""
        key = (root, parts)
        if key not in self._probes:
            self._probes[key] = probe()
        found = self._probes[key]
        return None if found is None else list(found)

    def close(self) -> None:
        """Write the results used this build and those still fresh to the cache."""
        if self.cache is None or not self._changed:
            return
        with self._lock:
            scans = {k: v for k, v in self._stored.items() if self._generation - v[0] < _KEEP_FOR}
            body = {
                "format": CACHE_FORMAT,
                "generation": self._generation,
                "scans": scans,
                "stats": self._stats,
            }
        self.cache.write_document(self.cache.path / CACHE_FILE, body)

    def _read(self, path: Path, package: str) -> FileScan:
        warnings: list[Problem] = []
        try:
            parsed = self.sources.parse(path)
        except BundlerError as error:
            return FileScan(errors=error.problems)
        warnings.extend(parsed.warnings)
        reader = NameReader(path, package, warnings)
        sites = file_imports(parsed, warnings, reader)
        found = FileScan(tuple(sites), tuple(reader.uses), tuple(warnings))
        with self._lock:
            self.parsed += 1
        if self.cache is not None and parsed.signature == file_signature(path):
            self._keep(path, parsed.signature, hashlib.sha256(parsed.text.encode()), package, found)
        return found

    def _content_key(self, path: Path, digest: str, package: str) -> str | None:
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            return None  # a project root outside the site: not kept
        return f"{relative}\0{package}\0{digest}"

    def _from_cache(self, path: Path, signature: tuple[int, ...], package: str) -> FileScan | None:
        if self._unread:
            with self._lock:
                if self._unread:
                    self._read_cache()
                    self._unread = False
        if not self._stored or not signature:
            return None
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        known = self._stats.get(relative)
        if isinstance(known, list) and len(known) == 2 and known[0] == list(signature):
            digest = known[1]
        else:  # moved, touched or checked out again: the bytes decide
            try:
                digest = _text_digest(path)
            except (OSError, BundlerError):
                return None
            with self._lock:
                self._stats[relative] = [list(signature), digest]
                self._changed = True
        key = self._content_key(path, str(digest), package)
        entry = self._stored.get(key) if key else None
        if not (isinstance(entry, list) and len(entry) == 2):
            return None
        try:
            found = _decode(entry[1], path)
        except (TypeError, ValueError, KeyError, IndexError):
            return None  # not one of ours: parsed again
        with self._lock:
            if entry[0] != self._generation:
                entry[0] = self._generation
                self._changed = True
        return found

    def _keep(
        self, path: Path, signature: tuple[int, ...], digest: Any, package: str, found: FileScan
    ) -> None:
        encoded = _encode(found, path)
        key = self._content_key(path, digest.hexdigest(), package)
        if encoded is None or key is None:
            return
        relative = key.split("\0", 1)[0]
        with self._lock:
            self._stats[relative] = [list(signature), digest.hexdigest()]
            self._stored[key] = [self._generation, encoded]
            self._changed = True


def _text_digest(path: Path) -> str:
    """The digest `_read` keeps a file under: of its text as Python decodes it."""
    return hashlib.sha256(read_source_text(path).encode()).hexdigest()


def _encode(found: FileScan, path: Path) -> list[Any] | None:
    """`found` as JSON, its file named once (None when a value names another file)."""
    if any(s.file != path for s in found.sites) or any(u.file != path for u in found.uses):
        return None
    if any(p.file not in (None, path) for p in (*found.warnings, *found.errors)):
        return None
    return [
        [
            [s.module, s.line, list(s.names), s.optional, s.in_function, s.dynamic, s.type_checking]
            for s in found.sites
        ],
        [
            [u.kind, u.name, u.line, u.written, u.optional, u.single, u.app, u.colon, u.group]
            for u in found.uses
        ],
        [
            [p.message, p.file is not None, p.line, p.function, p.hint, p.severity]
            for p in found.warnings
        ],
    ]


def _decode(encoded: list[Any], path: Path) -> FileScan:
    sites_, uses_, warnings_ = encoded
    sites = tuple(
        ImportSite(
            module=_text(m),
            file=path,
            line=_number(line),
            names=tuple(_text(n) for n in names),
            optional=_flag(o),
            in_function=_flag(f),
            dynamic=_flag(d),
            type_checking=_flag(t),
        )
        for m, line, names, o, f, d, t in sites_
    )
    uses = tuple(
        NameUse(
            kind=_text(kind),
            name=_text(name),
            file=path,
            line=_number(line),
            written=_text(written),
            optional=_flag(o),
            single=_flag(s),
            app=_flag(a),
            colon=_flag(c),
            group=None if group is None else _text(group),
        )
        for kind, name, line, written, o, s, a, c, group in uses_
    )
    warnings = tuple(
        Problem(
            _text(message),
            file=path if mine else None,
            line=None if line is None else _number(line),
            function=None if function is None else _text(function),
            hint=None if hint is None else _text(hint),
            severity=_severity(severity),
        )
        for message, mine, line, function, hint, severity in warnings_
    )
    return FileScan(sites, uses, warnings)


def _text(value: object) -> Any:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def _number(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("not a number")
    return value


def _severity(value: object) -> Any:
    if value not in ("error", "warning"):
        raise ValueError("not a severity")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a flag")
    return value
