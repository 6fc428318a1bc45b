"""The same version of a distribution, as the wheel built for the Lambda runtime (fetched
by default when the installed one does not fit; never with `--offline`), downloaded with
pip, checked against its RECORD and unpacked into a cache.

Nothing in the cache is trusted: a cached wheel is checked again each time it is unpacked
(a damaged one is downloaded again), and the unpacked folder is checked against the
RECORD written when it was unpacked before its files ship (a damaged one is unpacked
again). Builds sharing one cache download and unpack each to a temporary name renamed
into place; a folder another build put there meanwhile is as good as one's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from bundler.environment.distributions import Distribution
from bundler.environment.targets import Target
from bundler.errors import Problem
from bundler.pack.unpack import (
    DamagedWheel,
    FetchError,
    read_unpacked,
    unpack_wheel,
    unpacked,
    unpacked_intact,
)
from bundler.store.folder import CacheFolder, remove_entry, write_entry

__all__ = [
    "DamagedWheel",
    "FetchError",
    "FetchedWheel",
    "NoWheelError",
    "fetch_wheel",
    "newest_version_with_wheel",
    "read_unpacked",
    "unpack_wheel",
    "unpacked_intact",
]

DEFAULT_INDEX = "https://pypi.org/simple"
_ATTEMPTS = 4  # cached wheels tried before the last download


@dataclass(frozen=True)
class FetchedWheel:
    """A wheel for the target, and the distribution unpacked (and checked) from it."""

    wheel: Path
    distribution: Distribution


def fetch_wheel(
    name: str,
    version: str,
    target: Target,
    cache: Path,
    *,
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
    index_url: str | None = None,
) -> FetchedWheel:
    """`name==version` as the wheel that `target` accepts, from the cache or the index.

    Wheels are kept in `cache/wheels/`, unpacked ones in
    `cache/targets/<runtime>-<arch>/<name>-<version>/` (laid out like site-packages).
    Raises FetchError; OSError when the cache folder cannot be written.
    """
    key = f"{canonicalize_name(name)}-{version}"
    folder = cache / "targets" / f"{target.runtime}-{target.arch}" / key
    wheels = cache / "wheels"
    CacheFolder(cache).make_folder(folder.parent)
    for _attempt in range(_ATTEMPTS):
        wheel = _best_wheel(wheels, name, version, target)
        downloaded = wheel is None
        if wheel is None:
            wheel = _download(name, version, target, wheels, pip, index_url)
        try:
            return FetchedWheel(wheel, unpacked(wheel, folder))
        except DamagedWheel:
            remove_entry(wheel)  # never kept; one damaged in the cache since is downloaded again
            if downloaded:
                raise
    raise FetchError.of(
        f"the cached wheels of {name}=={version} keep turning out damaged",
        file=wheels,
        hint="build again once no other build uses this cache folder",
    )


def newest_version_with_wheel(
    name: str, target: Target, index_url: str | None = None
) -> str | None:
    """The newest release of `name` on the index with a wheel `target` accepts.

    One request to the index's JSON simple API (PEP 691); yanked files, pre-releases and
    wheels whose Requires-Python excludes the runtime do not count.
    """
    try:
        document = _index_page(name, index_url)
    except OSError:
        return None
    python = Version(f"{target.python[0]}.{target.python[1]}.0")
    best: Version | None = None
    for file in document.get("files", []):
        try:
            _name, version, _build, tags = parse_wheel_filename(file["filename"])
            fits = SpecifierSet(file.get("requires-python") or "").contains(python)
        except (InvalidWheelFilename, InvalidVersion, InvalidSpecifier, KeyError, TypeError):
            continue  # an sdist, or a file name no installer would take
        if file.get("yanked") or version.is_prerelease or not fits:
            continue
        if any(target.accepts(tag) for tag in tags) and (best is None or version > best):
            best = version
    return str(best) if best is not None else None


def _index_page(name: str, index_url: str | None) -> dict[str, Any]:
    """The index's JSON page of `name` (PEP 691); an empty one when the index answers that
    it has none; OSError when the index cannot be reached."""
    import urllib.error  # here: urllib.request imports http.client and ssl, and most
    import urllib.request  # builds ask no index

    url = f"{(index_url or _index_url()).rstrip('/')}/{canonicalize_name(name)}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            document = json.load(response)
    except urllib.error.HTTPError:
        return {}  # it answered: no such project (404), or no JSON page for it
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _download(
    name: str,
    version: str,
    target: Target,
    wheels: Path,
    pip: Sequence[str],
    index_url: str | None,
) -> Path:
    """Download the wheel into a scratch folder, then copy it into `wheels` atomically."""
    platforms = [a for p in target.platforms for a in ("--platform", p)]
    with tempfile.TemporaryDirectory(prefix="bundler-download-") as scratch:
        command = [
            *pip, "download", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--only-binary=:all:", *platforms, "--implementation", "cp",
            "--python-version", f"{target.python[0]}.{target.python[1]}",
            "--abi", target.abi, "--abi", "abi3", "--abi", "none",
            "--dest", scratch, f"{name}=={version}",
        ]  # fmt: skip
        if index_url:
            command[len(pip) + 1 : len(pip) + 1] = ["--index-url", index_url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise _pip_failed(done.stderr, name, version, target, index_url)
        found = _best_wheel(Path(scratch), name, version, target)
        if found is None:
            raise _no_wheel(name, version, target, index_url)
        CacheFolder(wheels.parent).make_folder(wheels)
        with open(found, "rb") as source, write_entry(wheels / found.name, mode=None) as copy:
            shutil.copyfileobj(source, copy.stream)
    return wheels / found.name


def _pip_failed(
    stderr: str, name: str, version: str, target: Target, index_url: str | None
) -> FetchError:
    if "No matching distribution" in stderr or "Could not find a version" in stderr:
        return _no_wheel(name, version, target, index_url)
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    return FetchError(
        Problem(
            f"pip could not download {name}=={version} for {target.runtime} on "
            f"{target.arch}: {last}",
            hint="check the network and the index (PIP_INDEX_URL), then build again",
        )
    )


class NoWheelError(FetchError):
    """The index has no wheel of that version for the target (it was asked and answered)."""


def _no_wheel(name: str, version: str, target: Target, index_url: str | None) -> FetchError:
    try:  # pip says "no matching distribution" also when it could not reach the index
        _index_page(name, index_url)
    except OSError as error:
        reason = getattr(error, "reason", None) or error.strerror or error
        return FetchError(
            Problem(
                f"the package index {index_url or _index_url()} cannot be reached: {reason}",
                hint="check the network and the index (PIP_INDEX_URL), or build with --offline",
            )
        )
    newest = newest_version_with_wheel(name, target, index_url)
    if newest is None:
        hint = (
            f"no release of {name} has one: build it from source in an image of the "
            f"{target.runtime} runtime, or choose another runtime"
        )
    else:
        hint = f"the newest version with one is {newest}: pin {name}=={newest}"
    return NoWheelError(
        Problem(
            f"{name} {version} has no wheel for {target.describe()} on the package index",
            hint=hint,
        )
    )


def _best_wheel(wheels: Path, name: str, version: str, target: Target) -> Path | None:
    """The cached wheel of `name==version` whose best tag ranks first for `target`."""
    if not wheels.is_dir():
        return None
    rank = {tag: index for index, tag in enumerate(target.tags)}
    best: tuple[int, Path] | None = None
    for path in wheels.glob("*.whl"):
        try:
            found, found_version, _build, tags = parse_wheel_filename(path.name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if found != canonicalize_name(name) or found_version != Version(version):
            continue
        score = min((rank[t] for t in tags if t in rank), default=None)
        if score is not None and (best is None or (score, path) < best):
            best = (score, path)
    return best[1] if best else None


def _index_url() -> str:
    return os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
