"""The one reader of `manifest.json`, which every command calls: a manifest is input like
any other (a CI cache restores it, a shard is copied between jobs, someone edits it), so
every field is checked before it is used. A function name read from a manifest follows
the name rule and its zip is exactly `NAME.zip`: names become file names in `verify`,
`audit` and the build's clean-up, never paths.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bundler.errors import Problem, UsageError
from bundler.files import NotARegularFile, open_regular
from bundler.manifest.document import (
    KINDS,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    DroppedFiles,
    Manifest,
    ManifestFunction,
    ShippedDistribution,
)
from bundler.manifest.fields import (
    Malformed,
    read_field,
    read_integer,
    read_list,
    read_object,
    read_optional_string,
    read_string,
)
from bundler.project.discover import NAME_RULE

_MANIFEST_LIMIT = 256 * 2**20  # bytes: 2,000 functions take about 2 MiB
_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
_HINT = "pass a manifest.json written by `bundle build`, or build again"


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


def _malformed(path: Path, what: str, line: int | None = None) -> UsageError:
    return UsageError(
        Problem(f"not a manifest bundle build wrote: {what}", file=path, line=line, hint=_HINT)
    )


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
    # PurePosixPath's test, by hand: once per function of every build that reads it
    if main_file.startswith("/") or ".." in main_file.split("/") or not main_file.endswith(".py"):
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
