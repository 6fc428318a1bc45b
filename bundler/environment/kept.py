"""The environment's index kept in the cache between builds, keyed by stat.

Indexing an environment reads every distribution's METADATA and RECORD (24 distributions:
6,000 RECORD rows made into paths, 0.15 s, on every build). What it reads is decided by
the site-packages folders' names and, in each `.dist-info`, the metadata files: the
fingerprint is the stat of each of those (and of every other top-level entry, for the
`.pth` files and finders of editable installs). `pip install`, `uninstall` and upgrades
change the folders' names; a file edited in place changes its stat (its change time
cannot be set back). When the fingerprint matches, the index is read from one JSON file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.environment.distributions import (
    METADATA_FILES,
    DistFile,
    Distribution,
    Environment,
)
from bundler.environment.interpreter import Interpreter
from bundler.environment.targets import Target
from bundler.files import stat_signature
from bundler.store.folder import CacheFolder

KEPT_FORMAT = 1


class KeptEnvironment:
    """An environment indexed once and kept at `file` (None: not kept)."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self._document: dict[str, Any] | None = None  # to write at `save`, when new

    def environment(self, interpreter: Interpreter, target: Target) -> Environment:
        """The environment of `interpreter` for `target`: from `file` when nothing it was
        read from has changed, else indexed (and kept by `save`)."""
        fingerprint = None if self.file is None else environment_fingerprint(interpreter)
        if fingerprint is not None and self.file is not None:
            kept = CacheFolder(self.file.parent).read_document(self.file)
            found = _restored(kept, fingerprint, interpreter, target)
            if found is not None:
                return found
        environment = Environment.from_interpreter(interpreter, target)
        if fingerprint is not None and not environment.warnings:  # a warning: read again
            self._document = _document(environment, fingerprint)
        return environment

    def save(self, cache: CacheFolder | None) -> None:
        """Write the index read by this build (none when it came from the file)."""
        if cache is not None and self.file is not None and self._document is not None:
            cache.write_document(self.file, self._document)
            self._document = None


def kept_file(cache_dir: Path | None, interpreter: Interpreter) -> Path | None:
    """Where the index of `interpreter`'s environment is kept under `cache_dir`."""
    if cache_dir is None:
        return None
    name = hashlib.sha256(str(interpreter.executable).encode()).hexdigest()[:16]
    return cache_dir / "environments" / f"{name}.json"


def environment_fingerprint(interpreter: Interpreter) -> str | None:
    """The stat of everything indexing `interpreter`'s environment reads; None when a
    metadata file is not a plain file (a link or a FIFO: indexed again, which warns)."""
    digest = hashlib.sha256()
    head = [KEPT_FORMAT, __version__, str(interpreter.executable)]
    digest.update(json.dumps([*head, [str(p) for p in interpreter.site_packages]]).encode())
    for folder in interpreter.site_packages:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            digest.update(f"\0{folder}\0{error.errno}".encode())
            continue
        for entry in entries:
            try:
                digest.update(
                    f"\0{entry.name}\0{_signature(entry.stat(follow_symlinks=False))}".encode()
                )
                metadata = entry.name.endswith((".dist-info", ".egg-info"))
                if not metadata or not entry.is_dir(follow_symlinks=False):
                    continue
                for name in METADATA_FILES:
                    try:
                        found = os.lstat(os.path.join(entry.path, name))
                    except FileNotFoundError:
                        continue
                    if not stat.S_ISREG(found.st_mode):
                        return None
                    digest.update(f"\0{name}\0{_signature(found)}".encode())
            except OSError:
                return None  # cannot be stat'ed: indexed again, which says why
    return digest.hexdigest()


def _inside(arcname: object) -> bool:
    """Whether `arcname` names a file under site-packages, as indexing keeps them: a cache
    restored from elsewhere must not make a path out of it (`..`, absolute)."""
    if not isinstance(arcname, str) or not arcname or "\0" in arcname:
        return False
    parts = arcname.split("/")
    return not arcname.startswith("/") and ".." not in parts and "" not in parts


def _signature(found: os.stat_result) -> str:
    return f"{found.st_mode},{stat_signature(found)}"  # the kind too: a file become a link


def _document(environment: Environment, fingerprint: str) -> dict[str, Any]:
    distributions = [
        {
            "name": d.name,
            "displayName": d.display_name,
            "version": d.version,
            "location": str(d.location),
            "files": [f.arcname for f in d.files],
            "requires": list(d.requires_text),
            "extras": list(d.extras),
            "hasRecord": d.has_record,
            "editable": [[module, str(path)] for module, path in d.editable_sources],
        }
        for d in environment.distributions.values()  # in the order they were found
    ]
    owners = {m: list(names) for m, names in environment.owners.items()}
    return {
        "format": KEPT_FORMAT,
        "fingerprint": fingerprint,
        "distributions": distributions,
        "owners": owners,
    }


def _restored(
    document: object, fingerprint: str, interpreter: Interpreter, target: Target
) -> Environment | None:
    """The environment `document` holds, if it is one of ours for `fingerprint`."""
    if not isinstance(document, dict) or document.get("format") != KEPT_FORMAT:
        return None
    if document.get("fingerprint") != fingerprint:
        return None
    folders = {str(p) for p in interpreter.site_packages}
    try:
        distributions: dict[str, Distribution] = {}
        for data in document["distributions"]:
            location = Path(data["location"])
            site = location.parent  # every file is at its arcname under site-packages
            if str(site) not in folders or not all(map(_inside, data["files"])):
                return None  # not what indexing this environment gives: indexed again
            distributions[str(data["name"])] = Distribution(
                name=str(data["name"]),
                display_name=str(data["displayName"]),
                version=str(data["version"]),
                location=location,
                files=tuple(DistFile(str(a), site / a) for a in data["files"]),
                requires_text=tuple(map(str, data["requires"])),
                extras=tuple(map(str, data["extras"])),
                has_record=bool(data["hasRecord"]),
                editable_sources=tuple((str(m), Path(p)) for m, p in data["editable"]),
            )
        owners = {str(m): tuple(map(str, names)) for m, names in document["owners"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not one of ours: indexed again
    return Environment(
        interpreter=interpreter, target=target, distributions=distributions, owners=owners
    )
