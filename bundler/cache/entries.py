"""Rebuild only what changed: a function whose inputs are the same as last time keeps its zip.

The key covers everything that decides a zip's bytes: the tool's version, the target, the
function's settings, its first-party files (by content), and each shipped distribution (by
the hash of its RECORD, which lists the hash of every file it installed). A cache entry
remembers the zip's hash and sizes, with a hash of its own; it is used only while the zip
on disk is still that zip, so a damaged or replaced zip is rebuilt, never trusted, and the
manifest's hash is always the zip's.

"Still that zip": the entry also remembers the zip's identity on disk (size, modification
and change times, inode, device), and a zip whose identity changed in any way is hashed
again. The change time (ctime) is the point: no program can set it, and every write,
`cp -p`, `rsync -a`, `touch -d` and CI cache restore moves it, even when they keep the
size and modification time. Hashing every zip on every lookup instead cost 1 s on a
no-change rebuild of 200 functions (2.5 GB of zips) for no case this misses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.analysis.session import Analysis, Site
from bundler.environment.distributions import Distribution
from bundler.errors import Problem
from bundler.files import file_digest, file_sha256, open_regular
from bundler.pack.contents import distribution_files
from bundler.pack.packer import Bundle
from bundler.project.discover import Function
from bundler.project.source import file_signature
from bundler.store.folder import (
    CacheFolder,
    remove_entry,
    write_entry,
    wrong_kind,
)

CACHE_FORMAT = 4
_ENTRY_LIMIT = 16 * 1024 * 1024  # bytes: an entry is a few KB; more is not one of ours
_SMALL = 1024 * 1024  # first-party files up to this size are hashed; larger ones by stat


@dataclass(frozen=True)
class CachedBuild:
    """What a cache hit gives back instead of packing again."""

    bundle: Bundle
    sizes: Mapping[str, int]
    warnings: tuple[Problem, ...]
    dropped: Mapping[str, tuple[int, int]] = field(default_factory=dict)


class BuildCache:
    """Function-level entries under `cache/functions/` (one small JSON file each)."""

    def __init__(self, cache: CacheFolder | Path, options: Sequence[object] = ()) -> None:
        self.cache = CacheFolder(cache) if isinstance(cache, Path) else cache
        self.folder = self.cache.path / "functions"
        self.options = list(options)
        self._records: dict[Path, str] = {}  # distribution digests, by dist-info path
        self._files: dict[Path, tuple[tuple[int, ...], bytes]] = {}  # shared files once

    def head(self, site: Site, function: Function) -> list[object]:
        """What decides `function`'s zip besides its files and distributions."""
        target = site.environment.target
        settings = function.settings
        return [
            CACHE_FORMAT,
            __version__,
            target.runtime,
            target.machine,
            function.name,
            _relative(function.main_file, site.root),
            function.layout,
            list(settings.include),
            list(settings.exclude),
            os.environ.get("SOURCE_DATE_EPOCH", ""),
            self.options,
        ]

    def key(self, site: Site, analysis: Analysis, first_party: Iterable[Path]) -> str:
        """The hash of everything that decides this function's zip."""
        digest = hashlib.sha256()
        head = self.head(site, analysis.function)
        digest.update(json.dumps(head).encode())
        for path in sorted(set(first_party)):
            digest.update(b"\0" + os.path.relpath(path, site.root).encode())
            digest.update(self._first_party_digest(path))
        for resolved in analysis.resolution.distributions:
            distribution = site.environment.distributions[resolved.name]
            digest.update(f"\0{resolved.name}=={resolved.version}".encode())
            digest.update(self.distribution_digest(distribution))
        return digest.hexdigest()

    def _first_party_digest(self, path: Path) -> bytes:
        """`_file_digest`, once per build for a file many functions share."""
        signature = file_signature(path)
        known = self._files.get(path)
        if known is not None and signature and known[0] == signature:
            return known[1]
        found = _file_digest(path)
        self._files[path] = (signature, found)
        return found

    def lookup(self, key: str, zip_path: Path) -> tuple[CachedBuild, dict[str, Any]] | None:
        """The earlier result for `key` and its entry (which `FunctionIndex` keeps), if the
        zip on disk still hashes to the one it describes; None otherwise (an entry of the
        wrong kind is removed)."""
        if not self.cache.usable:
            return None
        entry = self._read_entry(self.folder / f"{key}.json")
        if entry is None:
            return None
        try:
            found = zip_path.stat()
            if found.st_size != entry["zipped"]:
                return None  # cheap first: a zip of another size is another zip
            unchanged = entry.get("zipIdentity") == _identity(found)
            sha256 = entry["sha256"] if unchanged else file_sha256(zip_path)
        except OSError:
            return None  # no zip, or not one that can be read: build it again
        if sha256 != entry["sha256"]:
            return None
        if not unchanged:  # the same bytes under a new identity (a copy): remember it
            entry = {**entry, "zipIdentity": _identity(found)}
            self._write(key, entry)
        return cached_build(entry, zip_path), entry

    def entry_identity(self, key: str) -> list[int] | None:
        """The identity on disk of `key`'s entry file (None when it is not a file)."""
        try:
            found = os.lstat(f"{self.folder}/{key}.json")  # a str: no Path made per entry
        except OSError:
            return None
        return _identity(found) if stat.S_ISREG(found.st_mode) else None

    def unchanged_zip(
        self, key: str, entry: Any, identity: Any, zip_path: Path
    ) -> CachedBuild | None:
        """The build `entry` (a copy of `key`'s entry, kept elsewhere) describes, when it
        is well formed, `key`'s entry file has not been touched since the copy (it has
        `identity`), and the zip on disk still has the identity the entry remembers; None
        otherwise (then `lookup` reads, checks and repairs)."""
        if not self.cache.usable or not _well_formed(entry):
            return None
        try:
            if identity is None or self.entry_identity(key) != identity:
                return None
            if entry.get("zipIdentity") != _identity(zip_path.stat()):
                return None  # moved, copied or gone: `lookup` hashes it
        except OSError:
            return None
        return cached_build(entry, zip_path)

    def store(
        self,
        key: str,
        bundle: Bundle,
        sizes: Mapping[str, int],
        warnings: Iterable[Problem],
        dropped: Mapping[str, tuple[int, int]] | None = None,
    ) -> dict[str, Any] | None:
        """Remember a build (and return its entry); written atomically, so concurrent
        builds never read half.

        The cache only saves time: when it cannot be written, it is given up (one warning
        for the build, see `CacheFolder`)."""
        if not self.cache.usable:
            return None
        body: dict[str, Any] = {
            "format": CACHE_FORMAT,
            "sha256": bundle.sha256,
            "zipped": bundle.zipped,
            "unzipped": bundle.unzipped,
            "files": bundle.files,
            "sizes": dict(sorted(sizes.items())),
            "warnings": [problem_json(w) for w in warnings],
            "dropped": {k: list(v) for k, v in sorted((dropped or {}).items())},
        }
        with contextlib.suppress(OSError):  # without it, the next lookup hashes the zip
            body["zipIdentity"] = _identity(bundle.path.stat())
        self._write(key, body)
        return body

    def _write(self, key: str, body: Mapping[str, Any]) -> None:
        """Write one entry atomically, with a hash of its own."""
        text = json.dumps(body, sort_keys=True)
        entry = {"check": hashlib.sha256(text.encode()).hexdigest(), "entry": body}
        final = self.folder / f"{key}.json"
        try:
            self.cache.make_folder(self.folder)
            with write_entry(final, mode=None) as pending:
                pending.stream.write(json.dumps(entry, sort_keys=True).encode("utf-8"))
        except OSError as error:
            self.cache.fail(error, final)

    def _read_entry(self, path: Path) -> dict[str, Any] | None:
        """An entry whose own hash and fields check out; None for a miss (an entry of the
        wrong kind, a FIFO, a folder or a link, is removed; an unreadable folder gives the
        cache up)."""
        try:
            with open_regular(path, follow_symlinks=False) as stream:
                text = stream.read(_ENTRY_LIMIT)
        except FileNotFoundError:
            return None
        except OSError as error:
            try:
                if not wrong_kind(error):
                    raise
                remove_entry(path)
            except OSError as failure:
                self.cache.fail(failure, path)
            return None
        try:
            document = json.loads(text)
            body = document["entry"]
            check = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        except (ValueError, KeyError, TypeError, RecursionError):
            return None
        if document.get("check") != check or not _well_formed(body):
            return None
        return body  # type: ignore[no-any-return]

    def distribution_digest(self, distribution: Distribution) -> bytes:
        """Its RECORD, and each shipped file's size, time and mode: a file edited after
        installation, or an editable install's source, must ship as it is now. Once per
        distribution per run."""
        found = self._records.get(distribution.location)
        if found is None:
            digest = hashlib.sha256()
            try:
                digest.update(file_digest(distribution.location / "RECORD")[0])
            except OSError:  # none, or no regular file (never waiting on a FIFO)
                digest.update(b"no RECORD")
            for arcname, source in distribution_files(distribution):
                digest.update(f"\0{arcname}\0".encode() + _stat_digest(source))
            found = digest.hexdigest()
            self._records[distribution.location] = found
        return found.encode()


def cached_build(entry: Mapping[str, Any], zip_path: Path) -> CachedBuild:
    """The build a well-formed entry describes, its zip at `zip_path`."""
    bundle = Bundle(
        path=zip_path,
        sha256=entry["sha256"],
        zipped=entry["zipped"],
        unzipped=entry["unzipped"],
        files=entry["files"],
    )
    warnings = tuple(problem_from_json(w) for w in entry["warnings"])
    dropped = {k: (v[0], v[1]) for k, v in entry["dropped"].items()}
    return CachedBuild(bundle, dict(entry["sizes"]), warnings, dropped)


def _relative(path: Path, root: Path) -> str:
    """`path.relative_to(root).as_posix()`, without making paths (once per function on
    every build)."""
    text, prefix = str(path), str(root).rstrip("/") + "/"
    if text.startswith(prefix):
        return text[len(prefix) :]
    return path.relative_to(root).as_posix()


def _well_formed(body: Any) -> bool:
    """Whether an entry has the fields and types this version writes."""
    if not isinstance(body, dict) or body.get("format") != CACHE_FORMAT:
        return False
    counts = [body.get(k) for k in ("zipped", "unzipped", "files")]
    sizes, warnings, dropped = body.get("sizes"), body.get("warnings"), body.get("dropped")
    return (
        isinstance(body.get("sha256"), str)
        and all(type(c) is int and c >= 0 for c in counts)
        and isinstance(sizes, dict)
        and all(isinstance(k, str) and type(v) is int for k, v in sizes.items())
        and isinstance(warnings, list)
        and all(isinstance(w, dict) and set(w) == _PROBLEM_FIELDS for w in warnings)
        and isinstance(dropped, dict)
        and all(
            isinstance(v, list) and len(v) == 2 and all(type(n) is int for n in v)
            for v in dropped.values()
        )
    )


_PROBLEM_FIELDS = {"message", "file", "line", "function", "hint", "severity"}


def _identity(found: os.stat_result) -> list[int]:
    """What changes whenever a file's bytes may have changed: ctime cannot be set back."""
    return [found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino, found.st_dev]


def problem_from_json(data: Mapping[str, Any]) -> Problem:
    """A problem `problem_json` wrote."""
    if not isinstance(data, dict) or set(data) != _PROBLEM_FIELDS:
        raise ValueError("not a problem")
    return Problem(**{**data, "file": Path(data["file"]) if data["file"] else None})


def problem_json(problem: Problem) -> dict[str, Any]:
    """`problem` as JSON, for the cache."""
    return {
        "message": problem.message,
        "file": str(problem.file) if problem.file else None,
        "line": problem.line,
        "function": problem.function,
        "hint": problem.hint,
        "severity": problem.severity,
    }


def _file_digest(path: Path) -> bytes:
    """A first-party file: its content (by size and time when large) and its mode."""
    try:
        found = path.stat()
        mode = f":{found.st_mode & 0o111:o}".encode()  # the zip keeps the executable bit
        if found.st_size <= _SMALL:
            return file_digest(path)[0] + mode
        return f"{found.st_size}:{found.st_mtime_ns}:{found.st_ino}".encode() + mode
    except OSError:
        return b"missing"


def _stat_digest(path: Path) -> bytes:
    try:
        stat = path.stat()
    except OSError:
        return b"missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_mode & 0o111:o}".encode()
