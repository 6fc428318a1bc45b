"""One blob on disk: a header (magic, content sha256, level, crc32, sizes, and a check)
followed by the raw deflate bytes. The same record is a blob's own file or a pack's entry.

The check is sha256(the header fields before it + sha256(compressed bytes)): it finds a
blob damaged by accident without inflating it. It cannot find a forged one (anyone who can
write the cache, say through a restored CI cache, can write a consistent header for other
bytes), so a blob read from the cache is also inflated once per build and its content
checked against the digest it is stored under (`inflates_to`) before it ships.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from bundler.files import open_regular
from bundler.store.folder import remove_entry, write_entry, wrong_kind

MAGIC = b"BNDLBLB1"
HEADER = struct.Struct("<8s32sBIQQ32s")
CHUNK = 1024 * 1024


class Damaged(Exception):
    """A blob whose header or bytes do not check out."""


class Changed(Exception):
    """The bytes deflated do not hash to the digest they were deflated for."""


def inflates_to(digest: bytes, crc: int, size: int, compressed: Iterable[bytes]) -> bool:
    """Whether the raw deflate stream `compressed` inflates to exactly `size` bytes whose
    sha256 is `digest` and crc32 is `crc` (read block by block, never whole)."""
    inflater = zlib.decompressobj(-15)
    hashed, total, check = hashlib.sha256(), 0, 0
    try:
        for block in compressed:
            while block:
                out = inflater.decompress(block, CHUNK)
                block = inflater.unconsumed_tail
                hashed.update(out)
                total += len(out)
                check = zlib.crc32(out, check)
                if total > size:
                    return False
        out = inflater.flush()
    except zlib.error:
        return False
    hashed.update(out)
    total += len(out)
    check = zlib.crc32(out, check)
    return inflater.eof and total == size and check == crc and hashed.digest() == digest


def deflate_blocks(
    blocks: Iterable[bytes], digest: bytes, level: int
) -> tuple[Iterator[bytes], Callable[[], tuple[int, int]]]:
    """The raw deflate stream of `blocks`, and a function that gives (crc32, size) of
    what went in once the stream is exhausted. The stream raises Changed at its end if
    what went in does not hash to `digest`."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    totals = [0, 0]

    def deflated() -> Iterator[bytes]:
        check = hashlib.sha256()
        for block in blocks:
            check.update(block)
            totals[0] = zlib.crc32(block, totals[0])
            totals[1] += len(block)
            yield compressor.compress(block)
        if check.digest() != digest:
            raise Changed
        yield compressor.flush()

    return deflated(), lambda: (totals[0], totals[1])


def make_header(
    digest: bytes, level: int, crc: int, size: int, compressed: hashlib._Hash, length: int
) -> bytes:
    """The header of a blob whose compressed bytes hash to `compressed`, `length` long."""
    fields = HEADER.pack(MAGIC, digest, level, crc, size, length, bytes(32))[:-32]
    return fields + check_of(fields, compressed)


def check_of(fields: bytes, compressed: hashlib._Hash) -> bytes:
    """The check: sha256 over the header fields, then the compressed bytes' sha256."""
    check = hashlib.sha256(fields)
    check.update(compressed.digest())
    return check.digest()


def parse_header(
    digest: bytes, level: int, header: bytes, total: int
) -> tuple[int, int, int, bytes] | None:
    """(crc32, size, compressed size, check) if `header` is `digest`'s at `level` and the
    record is `total` bytes long; None otherwise."""
    if len(header) != HEADER.size:
        return None
    magic, key, found_level, crc, size, compressed_size, check = HEADER.unpack(header)
    if magic != MAGIC or key != digest or found_level != level:
        return None
    if total != HEADER.size + compressed_size:
        return None
    return crc, size, compressed_size, check


def verify(header: bytes, check: bytes, compressed: hashlib._Hash) -> bool:
    """Whether the compressed bytes (hashed into `compressed`) match the header's check."""
    return check_of(header[: -len(check)], compressed) == check


def parse_record(digest: bytes, level: int, record: bytes) -> tuple[int, int, int] | None:
    """(crc32, size, compressed size) of a whole record (header and compressed bytes) of
    `digest` at `level`, if it checks out; None otherwise."""
    header = record[: HEADER.size]
    fields = parse_header(digest, level, header, len(record))
    if fields is None:
        return None
    crc, size, compressed_size, check = fields
    if not verify(header, check, hashlib.sha256(memoryview(record)[HEADER.size :])):
        return None
    return crc, size, compressed_size


def read_blob_file(
    path: Path, digest: bytes, level: int, keep: Callable[[int], bool]
) -> tuple[int, int, int, bytes | None]:
    """(crc32, size, compressed size, the compressed bytes if `keep(size)`) of a blob file.

    Raises Damaged when it does not check out (an entry that is no regular file is
    removed), OSError (FileNotFoundError) as reading does.
    """
    try:
        opened = open_regular(path, follow_symlinks=False)
    except OSError as error:
        if not wrong_kind(error):
            raise
        remove_entry(path)
        raise Damaged from None
    with opened as stream:
        header = stream.read(HEADER.size)
        fields = parse_header(digest, level, header, os.fstat(stream.fileno()).st_size)
        if fields is None:
            raise Damaged
        crc, size, compressed_size, check = fields
        compressed = hashlib.sha256()
        kept = keep(compressed_size)
        data = bytearray()
        for block in iter(lambda: stream.read(CHUNK), b""):
            compressed.update(block)
            if kept:
                data += block
        if not verify(header, check, compressed):
            raise Damaged
    return crc, size, compressed_size, bytes(data) if kept else None


def write_blob_file(
    final: Path,
    digest: bytes,
    level: int,
    blocks: Iterable[bytes],
    sizes: Callable[[], tuple[int, int]],
) -> int:
    """Write a blob file through a temporary name renamed into place; its compressed size.

    `sizes()` gives (crc32, size) of the content once `blocks` are exhausted. The
    temporary file is removed on any failure.
    """
    with write_entry(final) as pending:
        stream = pending.stream
        stream.write(bytes(HEADER.size))
        compressed = hashlib.sha256()
        length = 0
        for block in blocks:
            compressed.update(block)
            length += len(block)
            stream.write(block)
        crc, size = sizes()
        stream.seek(0)
        stream.write(make_header(digest, level, crc, size, compressed, length))
    return length


# Blob files read back


def read_blob_range(path: Path, offset: int, length: int) -> Iterator[bytes]:
    """The `length` compressed bytes of a blob kept in a file from `offset`, block by block."""
    with open_regular(path, follow_symlinks=False) as stream:
        stream.seek(offset)
        left = length
        while left > 0:
            block = stream.read(min(CHUNK, left))
            if not block:
                return  # shorter than its header says: inflates_to refuses it
            left -= len(block)
            yield block


def blob_path(root: Path, digest: bytes) -> Path:
    """Where a blob of its own lives under `root`: `<2 hex>/<62 hex>`."""
    name = digest.hex()
    return root / name[:2] / name[2:]
