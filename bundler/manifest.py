"""`manifest.json`: what was built, with no wall-clock fields, so two builds agree."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundler import __version__
from bundler.environment import Environment
from bundler.pack import write_text_atomically

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
        function, bundle, contents = built.function, built.bundle, built.contents
        if function is None or bundle is None or contents is None or built.resolution is None:
            continue
        sizes = contents.bytes_by_owner()
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
    return {
        "version": MANIFEST_VERSION,
        "bundlerVersion": __version__,
        "system": {"platform": "linux", "arch": target.machine, "runtime": target.runtime},
        "functions": functions,
    }


def write_manifest(
    out: Path, builds: Sequence[FunctionBuild], environment: Environment, site: Path
) -> Path:
    """Write `manifest.json` into `out` atomically; returns its path."""
    document = manifest_document(builds, environment, site)
    path = out / MANIFEST_NAME
    write_text_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest_names(out: Path) -> set[str]:
    """Names of the functions an earlier build wrote into `out` (none if unreadable)."""
    try:
        document = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
        return {str(f["name"]) for f in document["functions"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()
