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
from bundler.contents import distribution_files
from bundler.digests import file_sha256
from bundler.environment import Distribution
from bundler.errors import Problem
from bundler.pack import Bundle

CACHE_FORMAT = 2
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
        self._records: dict[Path, str] = {}  # distribution digests, by dist-info path

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
            digest.update(b"\0" + os.path.relpath(path, site.root).encode())
            digest.update(_file_digest(path))
        for resolved in analysis.resolution.distributions:
            distribution = site.environment.distributions[resolved.name]
            digest.update(f"\0{resolved.name}=={resolved.version}".encode())
            digest.update(self._distribution_digest(distribution))
        return digest.hexdigest()

    def lookup(self, key: str, zip_path: Path) -> CachedBuild | None:
        """The earlier result for `key`, if the zip on disk is still the one it describes."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            stat = zip_path.stat()
            if entry["format"] != CACHE_FORMAT or entry["zipped"] != stat.st_size:
                return None
            if entry["mtime_ns"] != stat.st_mtime_ns and file_sha256(zip_path) != entry["sha256"]:
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
    ) -> Problem | None:
        """Remember a build; written atomically, so concurrent builds never read half.

        The cache only saves time: when it cannot be written, a warning says so."""
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
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{key}.", dir=self.folder)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(entry, stream)
            os.replace(temporary, self.folder / f"{key}.json")
        except OSError as error:
            if temporary:
                Path(temporary).unlink(missing_ok=True)
            return Problem(
                f"cannot use the cache folder: {error.strerror or error}",
                file=self.folder,
                hint="make it writable, choose another with --cache-dir, or build with "
                "--no-cache; the zip was built",
                severity="warning",
            )
        return None

    def _distribution_digest(self, distribution: Distribution) -> bytes:
        """Its RECORD, and each shipped file's size, time and mode: a file edited after
        installation, or an editable install's source, must ship as it is now. Once per
        distribution per run."""
        found = self._records.get(distribution.location)
        if found is None:
            digest = hashlib.sha256()
            try:
                digest.update((distribution.location / "RECORD").read_bytes())
            except OSError:
                digest.update(b"no RECORD")
            for arcname, source in distribution_files(distribution):
                digest.update(f"\0{arcname}\0".encode() + _stat_digest(source))
            found = digest.hexdigest()
            self._records[distribution.location] = found
        return found.encode()


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
    """A first-party file: its content (by size and time when large) and its mode."""
    try:
        stat = path.stat()
        mode = f":{stat.st_mode & 0o111:o}".encode()  # the zip keeps the executable bit
        if stat.st_size <= _SMALL:
            return hashlib.sha256(path.read_bytes()).digest() + mode
        return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}".encode() + mode
    except OSError:
        return b"missing"


def _stat_digest(path: Path) -> bytes:
    try:
        stat = path.stat()
    except OSError:
        return b"missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_mode & 0o111:o}".encode()
