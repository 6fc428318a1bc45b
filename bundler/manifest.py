"""`manifest.json`: what was built, with no wall-clock fields, so two builds agree."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundler import __version__
from bundler.discover import NAME_RULE
from bundler.environment import Environment
from bundler.errors import BundlerError, Problem
from bundler.pack import write_text_atomically
from bundler.targets import normalise_arch

if TYPE_CHECKING:
    from bundler.build import FunctionBuild

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


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
            {
                "name": function.name,
                "path": bundle.path.name,
                "mainFile": function.main_file.relative_to(site).as_posix(),
                "handler": function.handler,
                "runtime": target.runtime,
                "kind": function.kind,
                "invocationMode": function.invocation_mode,
                "schedule": function.schedule,
                "trigger": function.trigger,
                "files": bundle.files,
                "zippedSize": bundle.zipped,
                "unzippedSize": bundle.unzipped,
                "sha256": bundle.sha256,
                "distributions": [
                    {"name": d.name, "version": d.version, "bytes": sizes.get(d.name, 0)}
                    for d in built.resolution.distributions
                ],
            }
        )
        if function.routes:  # as zip-it-and-ship-it: only when declared
            functions[-1]["routes"] = [r.to_json() for r in function.routes]
        if function.excluded_routes:
            functions[-1]["excludedRoutes"] = [
                r.to_json(with_methods=False) for r in function.excluded_routes
            ]
    return {
        "version": MANIFEST_VERSION,
        "bundlerVersion": __version__,
        "system": {
            "platform": "linux",
            "arch": normalise_arch(target.machine) or target.machine,  # Lambda's names
            "runtime": target.runtime,
        },
        "functions": functions,
    }


def write_manifest(
    out: Path, builds: Sequence[FunctionBuild], environment: Environment, site: Path
) -> Path:
    """Write `manifest.json` into `out` atomically; returns its path."""
    path = out / MANIFEST_NAME
    write_document(path, manifest_document(builds, environment, site))
    return path


def read_manifest_names(out: Path) -> set[str]:
    """Names of the functions an earlier build wrote into `out` (none if unreadable)."""
    try:
        document = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
        names = {str(f["name"]) for f in document["functions"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {n for n in names if NAME_RULE.match(n)}  # never a path: the caller deletes zips


def merge_manifests(paths: Sequence[Path]) -> dict[str, Any]:
    """One manifest from the manifests of several shards of the same site and target."""
    merged: dict[str, Any] | None = None
    owners: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            functions = document["functions"]
            header = {k: v for k, v in document.items() if k != "functions"}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise BundlerError.of(
                f"cannot read this manifest: {error}",
                file=path,
                hint="pass manifest.json files written by `bundle build`",
            ) from None
        if merged is None:
            merged = {**header, "functions": []}
        elif header != {k: v for k, v in merged.items() if k != "functions"}:
            problems.append(
                Problem(
                    f"this manifest is for another target or bundler version than {paths[0]}",
                    file=path,
                    hint="merge only shards of one build (same --runtime, --arch, version)",
                )
            )
            continue
        for function in functions:
            name = function["name"]
            if name in owners:
                problems.append(
                    Problem(
                        f"function {name!r} is in two manifests (also {owners[name]})",
                        file=path,
                        hint="give each shard its own --shard K/N of the same N",
                    )
                )
                continue
            owners[name] = path
            merged["functions"].append(function)
    if problems:
        raise BundlerError(*problems)
    if merged is None:
        raise BundlerError.of("no manifests to merge", hint="pass one or more manifest.json files")
    merged["functions"].sort(key=lambda f: f["name"])
    return merged


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    """Write a manifest document the way `bundle build` does: sorted keys, atomically."""
    write_text_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
