"""Pack files: many blobs of `bundler.blobs` in one file, written once at the end of a build.

Creating one small file per blob costs as much as compressing it, so the blobs a build
compresses are kept in memory and written together when the store closes:

    <folder>/pack-<sha256 of the index, hex>.pack

    records: one per blob, opaque here (`bundler.blobs` writes its checked blob header
             then the compressed bytes, and checks both on every read)
    index:   one entry per record, sorted by key: key (32 bytes), offset, length (8 each)
    footer:  magic, number of entries, offset of the index, sha256 of the index

A pack is written to a temporary name and renamed into place, so a reader never sees half
of one; builds running at the same time each write their own pack (a blob in two packs is
harmless). A pack whose footer or index does not check out is ignored and deleted. When a
folder holds more than `MAX_PACKS` packs, the next writer merges them all into its own and
deletes them.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_PACKS = 16
_MAGIC = b"BNDLPAK1"
_ENTRY = struct.Struct("<32sQQ")
_FOOTER = struct.Struct("<8sQQ32s")


@dataclass(frozen=True)
class Location:
    """Where one record lies: `length` bytes of the pack `path` from `offset`."""

    path: Path
    offset: int
    length: int


def read_indexes(folder: Path) -> dict[bytes, list[Location]]:
    """Every record of every sound pack under `folder`, by key (damaged packs are deleted)."""
    found: dict[bytes, list[Location]] = {}
    for path in _packs(folder):
        entries = _read_index(path)
        if entries is None:
            path.unlink(missing_ok=True)
            continue
        for key, offset, length in entries:
            found.setdefault(key, []).append(Location(path, offset, length))
    return found


def write_pack(folder: Path, records: Iterable[tuple[bytes, bytes]]) -> Path | None:
    """Write (key, record) pairs as one new pack in `folder`; None when there are none.

    When the folder already holds more than `MAX_PACKS` packs, their records are merged
    into the new pack (each key once) and the old packs deleted.
    """
    old = _packs(folder)
    merging = old if len(old) >= MAX_PACKS else []
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".pack", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            index: dict[bytes, tuple[int, int]] = {}
            for key, record in records:
                if key not in index:
                    index[key] = (stream.tell(), len(record))
                    stream.write(record)
            for path in merging:
                _copy_records(path, stream, index)
            if not index:
                raise _Empty
            table = b"".join(_ENTRY.pack(k, *index[k]) for k in sorted(index))
            start = stream.tell()
            stream.write(table)
            stream.write(_FOOTER.pack(_MAGIC, len(index), start, hashlib.sha256(table).digest()))
        final = folder / f"pack-{hashlib.sha256(table).hexdigest()}.pack"
        os.chmod(temporary, 0o644)
        os.replace(temporary, final)
    except _Empty:
        Path(temporary).unlink(missing_ok=True)
        return None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for path in merging:
        if path != final:
            path.unlink(missing_ok=True)
    return final


class _Empty(Exception):
    """Nothing to write."""


def _packs(folder: Path) -> list[Path]:
    """The packs of `folder`, newest first (a record repaired later is found first)."""
    found = []
    try:
        for path in folder.glob("pack-*.pack"):
            try:
                found.append((path.stat().st_mtime_ns, path))
            except FileNotFoundError:
                continue
    except OSError:
        return []
    return [path for _mtime, path in sorted(found, reverse=True)]


def _read_index(path: Path) -> list[tuple[bytes, int, int]] | None:
    """The (key, offset, length) entries of a pack; None if its footer or index is damaged."""
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size < _FOOTER.size:
                return None
            stream.seek(size - _FOOTER.size)
            magic, count, start, check = _FOOTER.unpack(stream.read(_FOOTER.size))
            if magic != _MAGIC or start + count * _ENTRY.size + _FOOTER.size != size:
                return None
            stream.seek(start)
            table = stream.read(count * _ENTRY.size)
    except FileNotFoundError:
        return []
    if hashlib.sha256(table).digest() != check:
        return None
    entries = [_ENTRY.unpack_from(table, i * _ENTRY.size) for i in range(count)]
    if any(offset + length > start for _key, offset, length in entries):
        return None
    return entries


def _copy_records(path: Path, stream: BinaryIO, index: dict[bytes, tuple[int, int]]) -> None:
    """Append the records of pack `path` not in `index` yet to `stream`, noting them."""
    entries = _read_index(path)
    if not entries:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        for key, offset, length in entries:
            if key in index:
                continue
            record = os.pread(fd, length, offset)
            if len(record) != length:
                return
            index[key] = (stream.tell(), length)
            stream.write(record)
    finally:
        os.close(fd)
