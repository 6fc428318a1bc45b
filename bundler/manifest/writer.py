"""Writing `manifest.json`, the one way every command does: sorted keys, atomically; and
merging the manifests of a sharded build."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.environment.distributions import Environment
from bundler.environment.targets import normalise_arch
from bundler.errors import BundlerError, Problem, UsageError
from bundler.files import open_regular
from bundler.manifest.document import (
    MANIFEST_NAME,
    DroppedFiles,
    Manifest,
    ManifestFunction,
    ShippedDistribution,
)
from bundler.manifest.reader import read_manifest
from bundler.pack.packer import write_text_atomically
from bundler.results import FunctionBuild


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
    """Write a manifest document the way `bundle build` does: sorted keys, atomically.
    A manifest already holding these bytes is left alone (a no-change rebuild)."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    data = text.encode("utf-8")
    try:
        with open_regular(path, follow_symlinks=False) as current:
            if os.fstat(current.fileno()).st_size == len(data) and current.read() == data:
                return
    except OSError:
        pass  # none yet, or not a plain file: written below, which says what is wrong
    write_text_atomically(path, text)


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
        bundler_version=first.bundler_version,
        platform=first.platform,
        arch=first.arch,
        runtime=first.runtime,
        functions=tuple(functions),
    )
