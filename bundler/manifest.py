"""`manifest.json`: what was built, with no wall-clock fields, so two builds agree.

One writer (`manifest_document`) and one reader (`read_manifest`) that every command
calls: a manifest is input like any other (a CI cache restores it, a shard is copied
between jobs, someone edits it), so every field is checked before it is used. A function
name read from a manifest follows the name rule and its zip is exactly `NAME.zip`: names
become file names in `verify`, `audit` and the build's clean-up, never paths.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bundler import __version__
from bundler.environment.distributions import Environment
from bundler.environment.targets import normalise_arch
from bundler.errors import BundlerError, Problem, UsageError
from bundler.files import NotARegularFile, open_regular
from bundler.json_fields import (
    Malformed,
    read_field,
    read_integer,
    read_list,
    read_object,
    read_optional_string,
    read_string,
)
from bundler.pack.packer import write_text_atomically
from bundler.project.discover import NAME_RULE
from bundler.results import FunctionBuild

MANIFEST_VERSION = 1
_MANIFEST_LIMIT = 256 * 2**20  # bytes: 2,000 functions take about 2 MiB
MANIFEST_NAME = "manifest.json"
KINDS = ("sync", "background", "scheduled", "event")
_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
_HINT = "pass a manifest.json written by `bundle build`, or build again"


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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
        return tuple(f.name for f in self.functions)

    def header(self) -> tuple[object, ...]:
        """What two shards of one build share."""
        return (self.version, self.bundler_version, self.platform, self.arch, self.runtime)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "bundlerVersion": self.bundler_version,
            "system": {"platform": self.platform, "arch": self.arch, "runtime": self.runtime},
            "functions": [f.to_json() for f in self.functions],
        }


def manifest_document(
    builds: Sequence[FunctionBuild], environment: Environment, site: Path
) -> dict[str, Any]:
    """The manifest of the functions that built, sorted by name."""
    target = environment.target
    functions = []
    for built in builds:
        function, bundle, sizes = built.function, built.bundle, built.sizes
        if function is None or bundle is None or built.resolution is None:
            continue
        functions.append(
            ManifestFunction(
                name=function.name,
                path=bundle.path.name,
                main_file=function.main_file.relative_to(site).as_posix(),
                handler=function.handler,
                runtime=target.runtime,
                kind=function.kind,
                invocation_mode=function.invocation_mode,
                schedule=function.schedule,
                trigger=function.trigger,
                files=bundle.files,
                zipped_size=bundle.zipped,
                unzipped_size=bundle.unzipped,
                sha256=bundle.sha256,
                distributions=tuple(
                    ShippedDistribution(d.name, d.version, sizes.get(d.name, 0))
                    for d in built.resolution.distributions
                ),
                routes=tuple(r.to_json() for r in function.routes),
                excluded_routes=tuple(
                    r.to_json(with_methods=False) for r in function.excluded_routes
                ),
                dropped_files=tuple(
                    DroppedFiles(p, files, size)
                    for p, (files, size) in sorted(built.dropped.items())
                ),
            )
        )
    manifest = Manifest(
        bundler_version=__version__,
        platform="linux",
        arch=normalise_arch(target.machine) or target.machine,  # Lambda's names
        runtime=target.runtime,
        functions=tuple(sorted(functions, key=lambda f: f.name)),
    )
    return manifest.to_json()


def write_manifest(
    out: Path, builds: Sequence[FunctionBuild], environment: Environment, site: Path
) -> Path:
    """Write `manifest.json` into `out` atomically; returns its path."""
    path = out / MANIFEST_NAME
    write_document(path, manifest_document(builds, environment, site))
    return path


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    """Write a manifest document the way `bundle build` does: sorted keys, atomically."""
    write_text_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def read_manifest(path: Path) -> Manifest:
    """The manifest at `path`, every field checked; UsageError naming the file otherwise."""
    try:
        with open_regular(path) as stream:  # a FIFO would block, /dev/zero never end
            data = stream.read(_MANIFEST_LIMIT + 1)
        if len(data) > _MANIFEST_LIMIT:
            raise _malformed(path, f"larger than {_MANIFEST_LIMIT // 2**20} MiB: not a manifest")
    except FileNotFoundError:
        raise UsageError.of(
            f"no {MANIFEST_NAME} in {path.parent}",
            file=path,
            hint="run `bundle build` first (or pass --out with the folder it wrote)",
        ) from None
    except IsADirectoryError:
        raise _malformed(path, "this is a folder, not a manifest") from None
    except NotARegularFile:
        if path.is_dir():
            raise _malformed(path, "this is a folder, not a manifest") from None
        raise _malformed(path, "not a regular file (a pipe, device or socket)") from None
    except OSError as error:
        raise _malformed(path, f"cannot read this manifest: {error.strerror}") from None
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise _malformed(path, f"not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise _malformed(path, f"not valid JSON: {error.msg}", error.lineno) from None
    except (ValueError, RecursionError) as error:  # a 5000-digit number, [[[[...]]]]
        raise _malformed(path, f"not valid JSON: {error}") from None
    try:
        return _manifest(document)
    except Malformed as error:
        raise _malformed(path, str(error)) from None


def merge_manifests(paths: Sequence[Path]) -> Manifest:
    """One manifest from the manifests of several shards of the same site and target."""
    if not paths:
        raise UsageError.of("no manifests to merge", hint="pass one or more manifest.json files")
    manifests = [read_manifest(path) for path in paths]
    owners: dict[str, Path] = {}
    functions: list[ManifestFunction] = []
    problems: list[Problem] = []
    for path, manifest in zip(paths, manifests, strict=True):
        if manifest.header() != manifests[0].header():
            problems.append(
                Problem(
                    f"this manifest is for another target or bundler version than {paths[0]}",
                    file=path,
                    hint="merge only shards of one build (same --runtime, --arch, version)",
                )
            )
            continue
        for function in manifest.functions:
            if function.name in owners:
                problems.append(
                    Problem(
                        f"function {function.name!r} is in two manifests (also "
                        f"{owners[function.name]})",
                        file=path,
                        hint="give each shard its own --shard K/N of the same N",
                    )
                )
                continue
            owners[function.name] = path
            functions.append(function)
    if problems:
        raise BundlerError(*problems)
    functions.sort(key=lambda f: f.name)
    first = manifests[0]
    return Manifest(
        first.bundler_version, first.platform, first.arch, first.runtime, tuple(functions)
    )


def _malformed(path: Path, what: str, line: int | None = None) -> UsageError:
    return UsageError(Problem(f"not a manifest bundle build wrote: {what}", path, line, hint=_HINT))


def _manifest(document: object) -> Manifest:
    top = read_object(document, "the document")
    version = read_integer(top, "version", "")
    if version != MANIFEST_VERSION:
        raise Malformed(f"version: this bundler reads version {MANIFEST_VERSION}, not {version}")
    system = read_object(read_field(top, "system", ""), "system")
    listed = read_list(top, "functions", "")
    functions = [_function(item, f"functions[{index}]") for index, item in enumerate(listed)]
    seen: set[str] = set()
    for index, function in enumerate(functions):
        if function.name in seen:
            raise Malformed(f"functions[{index}].name: {function.name!r} is listed twice")
        seen.add(function.name)
    return Manifest(
        bundler_version=read_string(top, "bundlerVersion", ""),
        platform=read_string(system, "platform", "system."),
        arch=read_string(system, "arch", "system."),
        runtime=read_string(system, "runtime", "system."),
        functions=tuple(sorted(functions, key=lambda f: f.name)),
        version=version,
    )


def _function(item: object, where: str) -> ManifestFunction:
    entry = read_object(item, where)
    at = f"{where}."
    name = read_string(entry, "name", at)
    if not NAME_RULE.fullmatch(name):
        raise Malformed(
            f"{at}name: {name!r} is not a function name (letters, digits, '-' and '_' only)"
        )
    path = read_string(entry, "path", at)
    if path != f"{name}.zip":
        raise Malformed(f"{at}path: {path!r} is not {name + '.zip'!r}")
    handler = read_string(entry, "handler", at)
    module, _, attribute = handler.rpartition(".")
    if attribute != "handler" or not NAME_RULE.fullmatch(module):
        raise Malformed(f"{at}handler: {handler!r} is not MODULE.handler")
    main_file = read_string(entry, "mainFile", at)
    pure = PurePosixPath(main_file)
    if pure.is_absolute() or ".." in pure.parts or not main_file.endswith(".py"):
        raise Malformed(f"{at}mainFile: {main_file!r} is not a .py file inside the site")
    kind = read_string(entry, "kind", at)
    if kind not in KINDS:
        raise Malformed(f"{at}kind: {kind!r} is not one of {', '.join(KINDS)}")
    sha256 = read_string(entry, "sha256", at)
    if not _SHA256.fullmatch(sha256):
        raise Malformed(f"{at}sha256: {sha256!r} is not 64 lowercase hex digits")
    shipped = read_list(entry, "distributions", at)
    distributions = []
    for index, value in enumerate(shipped):
        inner = f"{at}distributions[{index}]."
        item = read_object(value, inner[:-1])
        distributions.append(
            ShippedDistribution(
                read_string(item, "name", inner),
                read_string(item, "version", inner),
                read_integer(item, "bytes", inner),
            )
        )
    return ManifestFunction(
        name=name,
        path=path,
        main_file=main_file,
        handler=handler,
        runtime=read_string(entry, "runtime", at),
        kind=kind,
        invocation_mode=read_optional_string(entry, "invocationMode", at),
        schedule=read_optional_string(entry, "schedule", at),
        trigger=read_optional_string(entry, "trigger", at),
        files=read_integer(entry, "files", at),
        zipped_size=read_integer(entry, "zippedSize", at),
        unzipped_size=read_integer(entry, "unzippedSize", at),
        sha256=sha256,
        distributions=tuple(distributions),
        routes=tuple(read_object(r, f"{at}routes[]") for r in entry.get("routes", [])),
        excluded_routes=tuple(
            read_object(r, f"{at}excludedRoutes[]") for r in entry.get("excludedRoutes", [])
        ),
        dropped_files=tuple(
            DroppedFiles(
                read_string(d, "pattern", f"{at}droppedFiles[]."),
                read_integer(d, "files", f"{at}droppedFiles[]."),
                read_integer(d, "bytes", f"{at}droppedFiles[]."),
            )
            for d in (read_object(v, f"{at}droppedFiles[]") for v in entry.get("droppedFiles", []))
        ),
    )
