"""The on-disk blob: a checked header, then raw deflate bytes."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest

from bundler.store.blobfile import HEADER, Damaged, parse_header, read_blob_file, write_blob_file

DATA = b"hello blob " * 100


def deflated() -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(DATA) + compressor.flush()


def write(tmp_path: Path) -> tuple[Path, bytes]:
    digest = hashlib.sha256(DATA).digest()
    path = tmp_path / "blob"
    sizes = (zlib.crc32(DATA), len(DATA))
    length = write_blob_file(path, digest, 6, [deflated()], lambda: sizes)
    assert length == len(deflated()) == path.stat().st_size - HEADER.size
    return path, digest


def test_a_blob_reads_back_with_its_sizes(tmp_path: Path) -> None:
    path, digest = write(tmp_path)
    crc, size, length, data = read_blob_file(path, digest, 6, keep=lambda _n: True)
    assert (crc, size, length, data) == (zlib.crc32(DATA), len(DATA), len(deflated()), deflated())
    assert read_blob_file(path, digest, 6, keep=lambda _n: False)[3] is None
    assert [p.name for p in tmp_path.iterdir()] == ["blob"]  # no temporary left behind


@pytest.mark.parametrize("where", [0, 20, HEADER.size + 3, -1])
def test_any_flipped_byte_is_damage(tmp_path: Path, where: int) -> None:
    path, digest = write(tmp_path)
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(Damaged):
        read_blob_file(path, digest, 6, keep=lambda _n: True)


def test_a_header_for_another_key_level_or_length_does_not_parse(tmp_path: Path) -> None:
    path, digest = write(tmp_path)
    header = path.read_bytes()[: HEADER.size]
    total = path.stat().st_size
    assert parse_header(digest, 6, header, total) is not None
    assert parse_header(bytes(32), 6, header, total) is None
    assert parse_header(digest, 9, header, total) is None
    assert parse_header(digest, 6, header, total + 1) is None
    assert parse_header(digest, 6, header[:-1], total) is None
