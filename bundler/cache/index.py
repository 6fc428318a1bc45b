"""A no-change rebuild that does not scan: each function's inputs, fingerprinted by stat.

The function cache's key (`BuildCache.key`) needs the function's analysis: its imports
scanned and resolved. The index remembers, per function of a site, what its last build
read: its first-party files, the folders where an import was looked up (a file added there
could shadow one), the distributions it ships, and the site's settings and environment as
parsed. When none of them changed (the same stat for every file, the same names in every
folder, the same digest for every distribution), the last key still holds and the
function's entry is used without reading its code; anything else, and the function is
analysed as usual. One file per site, read once per build and written when something
changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.analysis.resolve import Resolution, Resolved
from bundler.analysis.roles import Role
from bundler.analysis.session import Analysis, Site
from bundler.cache.entries import BuildCache, CachedBuild, problem_from_json, problem_json
from bundler.errors import Problem
from bundler.project.discover import Function
from bundler.project.source import file_signature

INDEX_FORMAT = 1
_SETTLE_NS = 2 * 10**9  # a file changed this close to a build's start is not recorded


class FunctionIndex:
    """What each function's last build depended on, for one site and one build."""

    def __init__(self, cache: BuildCache, site: Site) -> None:
        self.cache = cache
        self.site = site
        name = hashlib.sha256(str(site.root).encode()).hexdigest()[:16]
        self.path = cache.cache.path / "sites" / f"{name}.json"
        self._site = _site_fingerprint(site, cache.options)
        self._lock = threading.Lock()
        # each file's stat and each folder's names, hashed as `_quick` does, once per build
        self._files: dict[str, bytes] = {}
        self._listings: dict[str, bytes] = {}
        self._records: dict[str, Any] = {}
        self._changed = False
        self._started = time.time_ns()
        self._read()
        self._early = self._list_early()

    def lookup(
        self, function: Function, zip_path: Path
    ) -> tuple[CachedBuild, Resolution, tuple[Problem, ...]] | None:
        """The cached build of `function` when nothing it read has changed since."""
        record = self._records.get(function.name)
        if not isinstance(record, dict):
            return None
        try:
            if record["quick"] != self._quick(function, record):
                return None
            hit = self.cache.unchanged_zip(
                record["key"], record["entry"], record["entryIdentity"], zip_path
            )
            if hit is None:
                return None
            resolution = _resolution_from_json(record["resolution"])
            warnings = tuple(problem_from_json(w) for w in record["warnings"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # not one of ours: the function is analysed
        return hit, resolution, warnings

    def record(
        self,
        function: Function,
        analysis: Analysis,
        key: str,
        files: Iterable[Path],
        entry: Mapping[str, Any] | None,
    ) -> None:
        """Remember what `function`'s build with `key` read, and its cache `entry`."""
        if entry is None:
            return
        site = self.site
        sources = sorted({str(p) for p in files})
        folders = {function.folder, site.root, *site.project_roots}
        folders.update(Path(p).parent for p in sources)
        record: dict[str, Any] = {
            "key": key,
            "entry": entry,
            "entryIdentity": self.cache.entry_identity(key),
            "files": sources,
            "folders": sorted(str(f) for f in folders),
            "distributions": [d.name for d in analysis.resolution.distributions],
            "resolution": _resolution_json(analysis.resolution),
            "warnings": [problem_json(w) for w in analysis.warnings],
        }
        late = [f for f in record["folders"] if f not in self._early]
        if not self._settled([str(function.main_file), *sources, *late]):
            return  # changed while this build read it: the next build analyses it again
        try:
            record["quick"] = self._quick(function, record)
        except (KeyError, OSError):
            return
        with self._lock:
            if self._records.get(function.name) != record:
                self._records[function.name] = record
                self._changed = True

    def close(self, names: Iterable[str]) -> None:
        """Write the index, keeping the functions in `names` (those this build saw)."""
        keep = set(names)
        with self._lock:
            records = {n: r for n, r in sorted(self._records.items()) if n in keep}
            if not self._changed and len(records) == len(self._records):
                return
            body = {"format": INDEX_FORMAT, "site": self._site, "functions": records}
        self.cache.cache.write_document(self.path, body)

    def _read(self) -> None:
        document = self.cache.cache.read_document(self.path)
        if not isinstance(document, dict) or document.get("format") != INDEX_FORMAT:
            return
        if document.get("site") != self._site:
            return  # the settings or the environment changed: every function is analysed
        if isinstance(document.get("functions"), dict):
            self._records = document["functions"]

    def _quick(self, function: Function, record: Mapping[str, Any]) -> str:
        """The digest of what `record` says the function read, as it is now."""
        digest = hashlib.sha256()
        head = [self.cache.head(self.site, function), record["key"]]
        digest.update(json.dumps(head).encode())
        for path in (str(function.main_file), *record["files"]):
            digest.update(self._file_part(path))
        for folder in record["folders"]:
            digest.update(self._listing(folder))
        environment = self.site.environment
        for name in record["distributions"]:
            distribution = environment.distributions[name]
            digest.update(f"\0{name}=={distribution.version}\0".encode())
            digest.update(self.cache.distribution_digest(distribution))
        return digest.hexdigest()

    def _list_early(self) -> frozenset[str]:
        """List, before any function is analysed, the folders its imports are looked up in
        (the site root, the functions' folders, the project roots, and every folder an
        earlier build recorded). A record then holds the names as they were before the
        analysis, so a name added during the build is seen by the next one, and these
        folders need no settle margin: the build's own `dist/` and cache folder, created in
        the site root just before, no longer leave every function unrecorded after a cold
        build."""
        site = self.site
        folders = {str(site.root), str(site.functions_dir), *map(str, site.project_roots)}
        folders.update(str(f.folder) for f in site.discovery.functions)
        for record in self._records.values():
            found = record.get("folders") if isinstance(record, dict) else None
            if isinstance(found, list):
                folders.update(f for f in found if isinstance(f, str))
        for folder in folders:
            self._listing(folder)
        return frozenset(folders)

    def _settled(self, paths: Iterable[str]) -> bool:
        """Whether none of `paths` changed since shortly before this build began: a file
        saved while the build read it must not be recorded with its new stat beside a key
        worked out from its old bytes. A change time cannot be set back; the margin covers
        file systems that keep coarse times."""
        for path in paths:
            try:
                if os.stat(path).st_ctime_ns >= self._started - _SETTLE_NS:
                    return False
            except OSError:
                return False
        return True

    def _listing(self, folder: str) -> bytes:
        """What `_quick` hashes of `folder`: its names, once per build. A module added
        there may shadow an import, while a file saved by writing a new copy and renaming
        it over the old (as many editors and `git checkout` do) changes the folder's times
        but not its names."""
        found = self._listings.get(folder)
        if found is None:
            try:
                names = sorted(os.listdir(folder))
            except OSError as error:
                names = [f"\0{error.errno}"]  # gone or unreadable: analysed again
            digest = hashlib.sha256("\0".join(names).encode()).hexdigest()
            found = f"\0{folder}/\0{digest}".encode()
            self._listings[folder] = found
        return found

    def _file_part(self, path: str) -> bytes:
        """What `_quick` hashes of the file at `path`: its stat, once per build however
        many functions read it."""
        found = self._files.get(path)
        if found is None:
            signature = self.site.sources.seen(path)  # a main file: discovery stat'ed it
            if signature is None:
                signature = file_signature(path)  # a str: no Path made per file
            found = f"\0{path}\0{list(signature)}".encode()
            self._files[path] = found
        return found


def _site_fingerprint(site: Site, options: list[object]) -> str:
    """The site's settings as parsed and its environment's distributions and folders:
    when any changes, every function is analysed again."""
    environment = site.environment
    interpreter = environment.interpreter
    folders = [[str(p), list(file_signature(p))] for p in interpreter.site_packages]
    parts = [
        __version__,
        _canonical(site.config),
        str(interpreter.executable),
        folders,
        sorted((n, d.version, str(d.location)) for n, d in environment.distributions.items()),
        [str(p) for p in site.project_roots],
        options,
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _canonical(value: object) -> object:
    """`value` as JSON that is the same in every process: sets sorted (their order follows
    the process's hash seed), dataclasses as their fields, anything else by its repr."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return [type(value).__name__, *(_canonical(getattr(value, f.name)) for f in fields)]
    if isinstance(value, Mapping):
        return sorted(([_canonical(k), _canonical(v)] for k, v in value.items()), key=repr)
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _resolution_json(resolution: Resolution) -> dict[str, Any]:
    """What a build reports of a resolution: the distributions and what was left out."""
    return {
        "distributions": [
            [
                d.name,
                d.version,
                list(d.extras),
                list(d.chain),
                d.role.kind,
                d.role.source,
                d.role.group,
            ]
            for d in resolution.distributions
        ],
        "leftOut": dict(resolution.left_out),
        "named": dict(resolution.named),
    }


def _resolution_from_json(data: Mapping[str, Any]) -> Resolution:
    distributions = tuple(
        Resolved(
            name=str(name),
            version=str(version),
            extras=tuple(map(str, extras)),
            chain=tuple(map(str, chain)),
            role=Role(_role_kind(kind), str(source), None if group is None else str(group)),
        )
        for name, version, extras, chain, kind, source, group in data["distributions"]
    )
    left_out = {str(k): str(v) for k, v in data["leftOut"].items()}
    named = {str(k): str(v) for k, v in data["named"].items()}
    return Resolution(
        distributions=distributions,
        imports={},
        edges=(),
        left_out=left_out,
        warnings=(),
        named=named,
    )


def _role_kind(value: object) -> Any:
    if value not in ("runtime", "extra", "dev", "project", "undeclared"):
        raise ValueError("not a role")
    return value
