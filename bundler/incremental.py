"""Rebuild only what changed: a function whose inputs are the same as last time keeps its zip.

The key covers everything that decides a zip's bytes: the tool's version, the target, the
function's settings, its first-party files (by content), and each shipped distribution (by
the hash of its RECORD, which lists the hash of every file it installed). A cache entry
remembers the zip's hash and sizes; it is used only while the zip on disk is still that
zip, so a damaged or replaced zip is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.analysis import Analysis, Site
from bundler.errors import Problem
from bundler.pack import Bundle

CACHE_FORMAT = 1
_SMALL = 1024 * 1024  # first-party files up to this size are hashed; larger ones by stat


@dataclass(frozen=True)
class CachedBuild:
    """What a cache hit gives back instead of packing again."""

    bundle: Bundle
    sizes: Mapping[str, int]
    warnings: tuple[Problem, ...]


class BuildCache:
    """Function-level entries under `folder/functions/` (one small JSON file each)."""

    def __init__(self, folder: Path, options: Sequence[object] = ()) -> None:
        self.folder = folder / "functions"
        self.options = list(options)
        self._records: dict[Path, str] = {}

    def key(self, site: Site, analysis: Analysis, first_party: Iterable[Path]) -> str:
        """The hash of everything that decides this function's zip."""
        function = analysis.function
        target = site.environment.target
        digest = hashlib.sha256()
        settings = function.settings
        head = [
            CACHE_FORMAT,
            __version__,
            target.runtime,
            target.machine,
            function.name,
            function.main_file.relative_to(site.root).as_posix(),
            function.layout,
            list(settings.include),
            list(settings.exclude),
            os.environ.get("SOURCE_DATE_EPOCH", ""),
            self.options,
        ]
        digest.update(json.dumps(head).encode())
        for path in sorted(set(first_party)):
            digest.update(b"\0" + str(path.relative_to(site.root)).encode())
            digest.update(_file_digest(path))
        for resolved in analysis.resolution.distributions:
            distribution = site.environment.distributions[resolved.name]
            digest.update(f"\0{resolved.name}=={resolved.version}".encode())
            digest.update(self._record_digest(distribution.location / "RECORD"))
        return digest.hexdigest()

    def lookup(self, key: str, zip_path: Path) -> CachedBuild | None:
        """The earlier result for `key`, if the zip on disk is still the one it describes."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            stat = zip_path.stat()
            if entry["format"] != CACHE_FORMAT or entry["zipped"] != stat.st_size:
                return None
            if entry["mtime_ns"] != stat.st_mtime_ns and _sha256(zip_path) != entry["sha256"]:
                return None
            bundle = Bundle(
                zip_path, entry["sha256"], entry["zipped"], entry["unzipped"], entry["files"]
            )
            warnings = tuple(
                Problem(**{**w, "file": Path(w["file"]) if w["file"] else None})
                for w in entry["warnings"]
            )
            return CachedBuild(bundle, dict(entry["sizes"]), warnings)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no entry, or a damaged one: build again

    def store(
        self, key: str, bundle: Bundle, sizes: Mapping[str, int], warnings: Iterable[Problem]
    ) -> None:
        """Remember a build; written atomically, so concurrent builds never read half."""
        entry: dict[str, Any] = {
            "format": CACHE_FORMAT,
            "sha256": bundle.sha256,
            "zipped": bundle.zipped,
            "unzipped": bundle.unzipped,
            "files": bundle.files,
            "mtime_ns": bundle.path.stat().st_mtime_ns,
            "sizes": dict(sorted(sizes.items())),
            "warnings": [_problem_json(w) for w in warnings],
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{key}.", dir=self.folder)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(entry, stream)
        os.replace(temporary, self.folder / f"{key}.json")

    def _record_digest(self, record: Path) -> bytes:
        found = self._records.get(record)
        if found is None:
            try:
                found = hashlib.sha256(record.read_bytes()).hexdigest()
            except OSError:
                found = "unreadable"
            self._records[record] = found
        return found.encode()  # one RECORD read per distribution per run


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "message": problem.message,
        "file": str(problem.file) if problem.file else None,
        "line": problem.line,
        "function": problem.function,
        "hint": problem.hint,
        "severity": problem.severity,
    }


def _file_digest(path: Path) -> bytes:
    try:
        stat = path.stat()
        if stat.st_size <= _SMALL:
            return hashlib.sha256(path.read_bytes()).digest()
        return f"{stat.st_size}:{stat.st_mtime_ns}".encode()
    except OSError:
        return b"missing"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
