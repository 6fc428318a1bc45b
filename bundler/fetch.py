"""`--fetch-wheels`: the same version of a distribution, as the wheel built for the Lambda
runtime, downloaded with pip, checked against its RECORD and unpacked into a cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from bundler.digests import file_sha256, record_hash
from bundler.environment import Distribution, read_distribution
from bundler.errors import BundlerError, Problem
from bundler.targets import LambdaTarget

DEFAULT_INDEX = "https://pypi.org/simple"
_SIGNATURES = ("RECORD", "RECORD.jws", "RECORD.p7s")


class FetchError(BundlerError):
    """A wheel for the target could not be downloaded or unpacked."""


@dataclass(frozen=True)
class FetchedWheel:
    """A wheel for the target, its sha256, and the distribution unpacked from it."""

    wheel: Path
    sha256: str
    distribution: Distribution


def fetch_wheel(
    name: str,
    version: str,
    target: LambdaTarget,
    cache: Path,
    *,
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
    index_url: str | None = None,
) -> FetchedWheel:
    """`name==version` as the wheel that `target` accepts, from the cache or the index.

    Wheels are kept in `cache/wheels/`, unpacked ones in
    `cache/targets/<runtime>-<arch>/<name>-<version>/` (laid out like site-packages).
    """
    key = f"{canonicalize_name(name)}-{version}"
    folder = cache / "targets" / f"{target.runtime}-{target.arch}" / key
    wheels = cache / "wheels"
    wheel = _best_wheel(wheels, name, version, target)
    if wheel is None:
        _download(name, version, target, wheels, pip, index_url)
        wheel = _best_wheel(wheels, name, version, target)
    if wheel is None:
        raise _no_wheel(name, version, target, index_url)
    if not folder.is_dir():
        unpack_wheel(wheel, folder)
    return FetchedWheel(wheel, file_sha256(wheel), read_unpacked(folder))


def read_unpacked(folder: Path) -> Distribution:
    """The one distribution in an unpacked wheel's folder, read as environment.py does."""
    for found in metadata.distributions(path=[str(folder)]):
        distribution = read_distribution(found)
        if distribution is not None:
            return distribution
    raise FetchError.of(f"no distribution found in {folder}", hint="delete the folder and retry")


def unpack_wheel(wheel: Path, folder: Path) -> None:
    """Unpack `wheel` into `folder` atomically, after checking every file against RECORD.

    `.data/purelib` and `.data/platlib` go to the top; scripts, headers and data are left
    out (Lambda never runs them). A path leaving the folder, a file missing from RECORD or
    a hash that differs is a `FetchError`.
    """
    with zipfile.ZipFile(wheel) as archive:
        members = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        for member in members:
            _check_path(member, wheel)
        infos = {m.split("/", 1)[0] for m in members if m.split("/", 1)[0].endswith(".dist-info")}
        if len(infos) != 1:
            raise FetchError.of(f"{wheel.name} has {len(infos)} .dist-info folders, not 1")
        info = infos.pop()
        record = _read_record(archive.read(f"{info}/RECORD").decode("utf-8"), wheel)
        unlisted = sorted(m for m in members if m not in record and m.rsplit("/", 1)[-1]
                          not in _SIGNATURES)  # fmt: skip
        if unlisted:
            raise FetchError.of(f"{wheel.name} holds files its RECORD does not list: {unlisted[0]}")
        data = info[: -len(".dist-info")] + ".data/"
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder.parent))
        try:
            lines = []
            for member, digest in sorted(record.items()):
                if member == f"{info}/RECORD":
                    continue
                if member not in members:
                    raise FetchError.of(f"{wheel.name} lacks {member}, listed in its RECORD")
                content = archive.read(member)
                if digest and digest != record_hash(content):
                    raise FetchError.of(
                        f"{wheel.name}: {member} does not match its RECORD hash",
                        hint="delete the cached wheel and fetch it again",
                    )
                target = _installed_path(member, data)
                if target is None:
                    continue
                path = work / target
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                mode = (members[member].external_attr >> 16) & 0o111
                path.chmod(0o755 if mode else 0o644)
                lines.append(f"{target},{record_hash(content)},{len(content)}")
            lines.append(f"{info}/RECORD,,")
            (work / info).mkdir(exist_ok=True)
            (work / info / "RECORD").write_text("\n".join(lines) + "\n", encoding="utf-8")
            os.replace(work, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def newest_version_with_wheel(
    name: str, target: LambdaTarget, index_url: str | None = None
) -> str | None:
    """The newest release of `name` on the index with a wheel `target` accepts.

    One request to the index's JSON simple API (PEP 691); yanked files, pre-releases and
    wheels whose Requires-Python excludes the runtime do not count.
    """
    url = f"{(index_url or _index_url()).rstrip('/')}/{canonicalize_name(name)}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            document = json.load(response)
    except (OSError, ValueError):
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


def _download(
    name: str,
    version: str,
    target: LambdaTarget,
    wheels: Path,
    pip: Sequence[str],
    index_url: str | None,
) -> None:
    platforms = [a for p in target.platforms for a in ("--platform", p)]
    command = [
        *pip, "download", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--only-binary=:all:", *platforms, "--implementation", "cp",
        "--python-version", f"{target.python[0]}.{target.python[1]}",
        "--abi", target.abi, "--abi", "abi3", "--abi", "none",
        "--dest", str(wheels), f"{name}=={version}",
    ]  # fmt: skip
    if index_url:
        command[len(pip) + 1 : len(pip) + 1] = ["--index-url", index_url]
    wheels.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode == 0:
        return
    if "No matching distribution" in done.stderr or "Could not find a version" in done.stderr:
        raise _no_wheel(name, version, target, index_url)
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    raise FetchError.of(
        f"pip could not download {name}=={version} for {target.runtime} on {target.arch}: {last}",
        hint="check the network and the index (PIP_INDEX_URL), then build again",
    )


def _no_wheel(name: str, version: str, target: LambdaTarget, index_url: str | None) -> FetchError:
    newest = newest_version_with_wheel(name, target, index_url)
    if newest is None:
        hint = (
            f"no release of {name} has one: build it from source in an image of the "
            f"{target.runtime} runtime, or choose another runtime"
        )
    else:
        hint = f"the newest version with one is {newest}: pin {name}=={newest}"
    return FetchError(
        Problem(
            f"{name} {version} has no wheel for {target.describe()} on the package index",
            hint=hint,
        )
    )


def _best_wheel(wheels: Path, name: str, version: str, target: LambdaTarget) -> Path | None:
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


def _check_path(member: str, wheel: Path) -> None:
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts or "\\" in member or ":" in path.parts[0]:
        raise FetchError.of(f"{wheel.name} holds a path outside its folder: {member}")


def _read_record(text: str, wheel: Path) -> dict[str, str]:
    """RECORD path -> `sha256=...` digest ('' for RECORD itself and unhashed entries)."""
    record: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        path, digest, _size = line.rsplit(",", 2)  # a path may hold commas, not the rest
        _check_path(path, wheel)
        if digest and not digest.startswith("sha256="):
            raise FetchError.of(f"{wheel.name}: {path} has a {digest.split('=')[0]} hash")
        record[path] = digest
    return record


def _installed_path(member: str, data: str) -> str | None:
    if not member.startswith(data):
        return member
    scheme, _, rest = member[len(data) :].partition("/")
    return rest if scheme in ("purelib", "platlib") else None


def _index_url() -> str:
    return os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
