"""`manifest.json` version 1: what was built, with no wall-clock fields, so two builds
agree; the values every command reads it into."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"
KINDS = ("sync", "background", "scheduled", "event")


@dataclass(frozen=True)
class DroppedFiles:
    """What one `exclude` file pattern kept out of a function's zip."""

    pattern: str
    files: int
    bytes: int


@dataclass(frozen=True)
class ShippedDistribution:
    """A distribution in a function's zip, as the manifest lists it."""

    name: str
    version: str
    bytes: int


@dataclass(frozen=True, kw_only=True)
class ManifestFunction:
    """One function of a manifest; `path` is always `NAME.zip`."""

    name: str
    path: str
    main_file: str
    handler: str
    runtime: str
    kind: str
    invocation_mode: str | None
    schedule: str | None
    trigger: str | None
    files: int
    zipped_size: int
    unzipped_size: int
    sha256: str
    distributions: tuple[ShippedDistribution, ...]
    routes: tuple[Mapping[str, Any], ...] = ()  # v2 routes, zip-it-and-ship-it's shape
    excluded_routes: tuple[Mapping[str, Any], ...] = ()
    dropped_files: tuple[DroppedFiles, ...] = ()  # by `exclude` file patterns

    @property
    def module(self) -> str:
        """The handler's module: what Lambda imports (`hello` for `hello.handler`)."""
        return self.handler.rsplit(".", 1)[0]

    def to_json(self) -> dict[str, Any]:
        """The function's entry as manifest.json writes it (camelCase keys)."""
        return {
            "name": self.name,
            "path": self.path,
            "mainFile": self.main_file,
            "handler": self.handler,
            "runtime": self.runtime,
            "kind": self.kind,
            "invocationMode": self.invocation_mode,
            "schedule": self.schedule,
            "trigger": self.trigger,
            "files": self.files,
            "zippedSize": self.zipped_size,
            "unzippedSize": self.unzipped_size,
            "sha256": self.sha256,
            "distributions": [
                {"name": d.name, "version": d.version, "bytes": d.bytes} for d in self.distributions
            ],
            # as zip-it-and-ship-it: only when declared
            **({"routes": [dict(r) for r in self.routes]} if self.routes else {}),
            **(
                {"excludedRoutes": [dict(r) for r in self.excluded_routes]}
                if self.excluded_routes
                else {}
            ),
            **(
                {"droppedFiles": [dataclasses.asdict(d) for d in self.dropped_files]}
                if self.dropped_files
                else {}
            ),
        }


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """A whole manifest: the target it was built for and its functions, sorted by name."""

    bundler_version: str
    platform: str
    arch: str
    runtime: str
    functions: tuple[ManifestFunction, ...]
    version: int = MANIFEST_VERSION

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the functions listed, in order."""
        return tuple(f.name for f in self.functions)

    def header(self) -> tuple[object, ...]:
        """What two shards of one build share."""
        return (self.version, self.bundler_version, self.platform, self.arch, self.runtime)

    def to_json(self) -> dict[str, Any]:
        """The whole manifest as manifest.json writes it."""
        return {
            "version": self.version,
            "bundlerVersion": self.bundler_version,
            "system": {"platform": self.platform, "arch": self.arch, "runtime": self.runtime},
            "functions": [f.to_json() for f in self.functions],
        }
