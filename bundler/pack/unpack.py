"""Unpacking a wheel for `--fetch-wheels`, and checking a folder unpacked earlier.

A wheel is checked against its RECORD as it is unpacked: every member listed with a
hash that matches, nothing unlisted, no path leaving the folder. It is unpacked to a
temporary name renamed into place, with a RECORD of its own (hash and size of every file
written), against which the folder is checked again before its files ship: anything
edited, deleted or of another kind is unpacked again.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from bundler.environment.distributions import Distribution, read_distribution
from bundler.errors import BundlerError
from bundler.files import (
    build_folder_atomically,
    file_digest,
    open_regular,
    record_hash,
    record_hash_of,
)
from bundler.store.folder import TEMPORARY, remove_entry

_SIGNATURES = ("RECORD", "RECORD.jws", "RECORD.p7s")


class FetchError(BundlerError):
    """A wheel for the target could not be downloaded or unpacked."""


class DamagedWheel(FetchError):
    """A wheel that is no valid wheel: truncated, or its RECORD missing, unreadable or
    not matching its files."""


def read_unpacked(folder: Path) -> Distribution:
    """The one distribution in an unpacked wheel's folder, read as environment.py does."""
    from importlib import metadata  # here: 30 ms at start, and most builds unpack nothing

    for found in metadata.distributions(path=[str(folder)]):
        distribution = read_distribution(found)
        if distribution is not None:
            return distribution
    raise FetchError.of(f"no distribution found in {folder}", hint="delete the folder and retry")


def unpack_wheel(wheel: Path, folder: Path) -> bool:
    """Unpack `wheel` into `folder` atomically, after checking every file against RECORD.

    `.data/purelib` and `.data/platlib` go to the top; scripts, headers and data are left
    out (Lambda never runs them). A path leaving the folder, a file missing from RECORD or
    a hash that differs is a `FetchError`; a wheel that is not a valid zip, or whose
    RECORD is missing or unreadable, a `DamagedWheel`. False when another build unpacked
    it there meanwhile (its folder is kept).
    """
    with _open_wheel(wheel) as archive:
        members = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        for member in members:
            _check_path(member, wheel)
        infos = {m.split("/", 1)[0] for m in members if m.split("/", 1)[0].endswith(".dist-info")}
        if len(infos) != 1:
            raise DamagedWheel.of(f"{wheel.name} has {len(infos)} .dist-info folders, not 1")
        info = infos.pop()
        if f"{info}/RECORD" not in members:
            raise DamagedWheel.of(f"{wheel.name} has no {info}/RECORD", hint=_DAMAGED)
        record = _read_record(archive.read(f"{info}/RECORD"), f"{info}/RECORD", wheel)
        unlisted = sorted(m for m in members if m not in record and m.rsplit("/", 1)[-1]
                          not in _SIGNATURES)  # fmt: skip
        if unlisted:
            raise DamagedWheel.of(
                f"{wheel.name} holds files its RECORD does not list: {unlisted[0]}"
            )
        data = info[: -len(".dist-info")] + ".data/"
        with build_folder_atomically(folder, f"{TEMPORARY}unpack-") as pending:
            work = pending.path
            lines = []
            for member, digest in sorted(record.items()):
                if member == f"{info}/RECORD":
                    continue
                if member not in members:
                    raise DamagedWheel.of(f"{wheel.name} lacks {member}, listed in its RECORD")
                content = archive.read(member)
                if digest and digest != record_hash(content):
                    raise DamagedWheel.of(
                        f"{wheel.name}: {member} does not match its RECORD hash", hint=_DAMAGED
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
        return pending.placed


def unpacked_intact(folder: Path) -> bool:
    """Whether `folder` holds one `.dist-info` whose RECORD is sound and whose every
    listed file is a regular file of the listed size and hash."""
    try:
        [info] = [p for p in folder.iterdir() if p.name.endswith(".dist-info")]
        with open_regular(info / "RECORD", follow_symlinks=False) as stream:
            text = stream.read().decode("utf-8")
        for line in text.splitlines():
            path, digest, size = line.rsplit(",", 2)
            if path == f"{info.name}/RECORD":
                continue
            _check_path(path, folder)
            found, length = file_digest(folder / path, follow_symlinks=False)
            if (record_hash_of(found), length) != (digest, int(size)):
                return False
    except (OSError, ValueError, FetchError):
        return False  # missing, unreadable, not UTF-8, malformed, or not a file
    return True


def unpacked(wheel: Path, folder: Path) -> Distribution:
    """The distribution unpacked from `wheel` into `folder`, checked against its RECORD;
    unpacked again when anything differs (at most twice: another build may be at it)."""
    for _attempt in range(3):
        if os.path.lexists(folder):
            if unpacked_intact(folder):
                return read_unpacked(folder)
            remove_entry(folder)
        if unpack_wheel(wheel, folder):
            return read_unpacked(folder)
    raise FetchError.of(
        f"the unpacked copy of {wheel.name} keeps changing",
        file=folder,
        hint="build again once no other build uses this cache folder",
    )


_DAMAGED = "the index served a damaged wheel: build again, and tell its maintainers if it stays so"


@contextmanager
def _open_wheel(wheel: Path) -> Iterator[zipfile.ZipFile]:
    """The wheel as a zip; a file that is none (truncated, a folder, a FIFO) is a
    DamagedWheel, and so is a member that cannot be inflated."""
    try:
        with open_regular(wheel, follow_symlinks=False) as stream, zipfile.ZipFile(stream) as zf:
            yield zf
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        raise DamagedWheel.of(f"{wheel.name} is not a valid zip: {error}", hint=_DAMAGED) from None
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        reason = error.strerror or str(error)
        raise DamagedWheel.of(f"{wheel.name} cannot be read: {reason}", hint=_DAMAGED) from None


def _check_path(member: str, wheel: Path) -> None:
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts or "\\" in member or ":" in path.parts[0]:
        raise DamagedWheel.of(f"{wheel.name} holds a path outside its folder: {member}")


def _read_record(data: bytes, name: str, wheel: Path) -> dict[str, str]:
    """RECORD path -> `sha256=...` digest ('' for RECORD itself and unhashed entries)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedWheel.of(f"{wheel.name}: {name} is not UTF-8", hint=_DAMAGED) from None
    record: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            path, digest, _size = line.rsplit(",", 2)  # a path may hold commas, not the rest
        except ValueError:
            raise DamagedWheel.of(
                f"{wheel.name}: line {number} of {name} is not PATH,HASH,SIZE", hint=_DAMAGED
            ) from None
        _check_path(path, wheel)
        if digest and not digest.startswith("sha256="):
            raise DamagedWheel.of(f"{wheel.name}: {path} has a {digest.split('=')[0]} hash")
        record[path] = digest
    return record


def _installed_path(member: str, data: str) -> str | None:
    if not member.startswith(data):
        return member
    scheme, _, rest = member[len(data) :].partition("/")
    return rest if scheme in ("purelib", "platlib") else None
