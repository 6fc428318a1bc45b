"""Pack files: many blobs of `bundler.store.blobs` in one file, written once at the end of a build.

Creating one small file per blob costs as much as compressing it, so the blobs a build
compresses are kept in memory and written together when the store closes:

    <folder>/pack-<sha256 of the index, hex>.pack

    records: one per blob, opaque here (`bundler.store.blobs` writes its checked blob header
             then the compressed bytes, and checks both on every read)
    index:   one entry per record, sorted by key: key (32 bytes), offset, length (8 each)
    footer:  magic, number of entries, offset of the index, sha256 of the index

A pack is written to a temporary name and renamed into place, so a reader never sees half
of one; builds running at the same time each write their own pack (a blob in two packs is
harmless). A pack whose footer or index does not check out, or that is no regular file
(a folder, a FIFO, a link), is ignored and deleted. When a
folder holds more than `MAX_PACKS` packs, the next writer merges them all into its own and
deletes them.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bundler.files import open_regular
from bundler.store.folder import remove_entry, write_entry, wrong_kind

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
            remove_entry(path)
            continue
        for key, offset, length in entries:
            found.setdefault(key, []).append(Location(path, offset, length))
    return found


def read_record(location: Location) -> bytes | None:
    """The bytes of one record; None if its pack is gone (merged into another meanwhile).

    A pack that turned out to be no regular file is removed; its records read as empty.
    """
    try:
        with open_regular(location.path, follow_symlinks=False) as stream:
            stream.seek(location.offset)
            return stream.read(location.length)
    except FileNotFoundError:
        return None
    except OSError as error:
        if not wrong_kind(error):
            raise
    remove_entry(location.path)
    return b""


def write_pack(folder: Path, records: Iterable[tuple[bytes, bytes]]) -> Path | None:
    """Write (key, record) pairs as one new pack in `folder`; None when there are none.

    When the folder already holds more than `MAX_PACKS` packs, their records are merged
    into the new pack (each key once) and the old packs deleted.
    """
    old = _packs(folder)
    merging = old if len(old) >= MAX_PACKS else []
    try:
        # named by its table's hash, known once written
        with write_entry(folder / "pack.pack") as pending:
            stream = pending.stream
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
            pending.destination = final
    except _Empty:
        return None
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
    """The (key, offset, length) entries of a pack; None if its footer or index is damaged
    or it is no regular file; [] if it is gone."""
    try:
        with open_regular(path, follow_symlinks=False) as stream:
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
    except OSError as error:
        if wrong_kind(error):
            return None
        raise
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
        source = open_regular(path, follow_symlinks=False)
    except OSError as error:
        if isinstance(error, FileNotFoundError) or wrong_kind(error):
            return  # merged by another build meanwhile, or replaced by something else
        raise
    with source:
        for key, offset, length in entries:
            if key in index:
                continue
            record = os.pread(source.fileno(), length, offset)
            if len(record) != length:
                return
            index[key] = (stream.tell(), length)
            stream.write(record)
