"""Pack files: a build's new blobs written together, read back checked, merged when many."""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from pathlib import Path

import pytest
from fault_support import make_kind
from support import bounded

from bundler.store import packs
from bundler.store.blobs import BlobStats, BlobStore
from bundler.store.deflated import Deflated

TEXT = b"import json\n\ndef handler(event, context):\n    return json.dumps(event)\n" * 50


def inflate(member: Deflated) -> bytes:
    if member.data is not None:
        compressed = member.data
    else:
        assert member.path is not None
        with member.path.open("rb") as stream:
            stream.seek(member.offset)
            compressed = stream.read(member.compressed_size)
    return zlib.decompress(compressed, -15)


def blob_files(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "blobs").rglob("*") if p.is_file())


def closed(store: BlobStore, content: bytes) -> Deflated:
    """Deflate `content` with `store`, then close it (which writes its pack)."""
    member = store.deflate_bytes(content)
    store.close()
    return member


def test_many_blobs_share_one_pack(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    contents = [TEXT + b"# %d\n" % i for i in range(50)]
    with_cache = BlobStore(cache)
    first = [with_cache.deflate_bytes(c) for c in contents]
    with_cache.close()
    assert len(blob_files(cache)) == 1
    again = BlobStore(cache)
    assert [again.deflate_bytes(c) for c in contents] == first
    assert again.stats == BlobStats(loaded=50)


def record_of(cache: Path, content: bytes) -> tuple[Path, int, int]:
    [pack] = blob_files(cache)
    [[location]] = packs.read_indexes(pack.parent).values()
    assert location.path == pack
    return pack, location.offset, location.length


@pytest.mark.parametrize("where", [0, 45, -1])  # magic, crc32 field, last compressed byte
def test_a_damaged_pack_record_is_ignored_and_compressed_again(tmp_path: Path, where: int) -> None:
    cache = tmp_path / "cache"
    good = closed(BlobStore(cache), TEXT)
    pack, offset, length = record_of(cache, TEXT)
    data = bytearray(pack.read_bytes())
    data[offset + where % length] ^= 0x01
    pack.write_bytes(bytes(data))
    store = BlobStore(cache)
    assert store.deflate_bytes(TEXT) == good
    assert store.stats == BlobStats(compressed=1, compressed_bytes=len(TEXT), repaired=1)
    store.close()  # the repaired blob goes into a new pack, found first from now on
    third = BlobStore(cache)
    assert third.deflate_bytes(TEXT) == good
    assert third.stats == BlobStats(loaded=1)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[:-1]),  # truncated footer
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(p.read_bytes()[:-60] + b"x" + p.read_bytes()[-59:]),  # index
    ],
)
def test_a_pack_with_a_damaged_index_is_deleted(tmp_path: Path, damage: object) -> None:
    cache = tmp_path / "cache"
    good = closed(BlobStore(cache), TEXT)
    [pack] = blob_files(cache)
    damage(pack)  # type: ignore[operator]
    store = BlobStore(cache)
    assert store.deflate_bytes(TEXT) == good
    assert store.stats == BlobStats(compressed=1, compressed_bytes=len(TEXT))
    assert not pack.exists()
    store.close()
    assert len(blob_files(cache)) == 1


def test_too_many_packs_are_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packs, "MAX_PACKS", 3)
    cache = tmp_path / "cache"
    contents = [TEXT + b"# %d\n" % i for i in range(5)]
    for content in contents:
        closed(BlobStore(cache), content)
        assert len(blob_files(cache)) <= 4
    assert len(blob_files(cache)) == 2
    store = BlobStore(cache)
    assert [inflate(store.deflate_bytes(c)) for c in contents] == contents
    assert store.stats == BlobStats(loaded=5)


def test_two_stores_closing_at_once_both_leave_usable_packs(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    halves = [[TEXT + b"# %d %d\n" % (h, i) for i in range(20)] for h in range(2)]
    stores = [BlobStore(cache), BlobStore(cache)]
    for store, half in zip(stores, halves, strict=True):
        for content in half:
            store.deflate_bytes(content)
    barrier = threading.Barrier(2)

    def close(store: BlobStore) -> None:
        barrier.wait()
        store.close()

    threads = [threading.Thread(target=close, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(blob_files(cache)) == 2
    reader = BlobStore(cache)
    everything = halves[0] + halves[1]
    assert [inflate(reader.deflate_bytes(c)) for c in everything] == everything
    assert reader.stats == BlobStats(loaded=40)


def test_an_index_that_lies_is_caught_by_the_records_checks(tmp_path: Path) -> None:
    # an index whose own hash is right but whose entries point at each other's records
    cache = tmp_path / "cache"
    contents = [TEXT + b"# %d\n" % i for i in range(3)]
    closed_store = BlobStore(cache)
    for content in contents:
        closed_store.deflate_bytes(content)
    closed_store.close()
    [pack] = blob_files(cache)
    entries = packs._read_index(pack)
    assert entries is not None and len(entries) == 3
    lying = [(k, *entries[(i + 1) % 3][1:]) for i, (k, _o, _l) in enumerate(entries)]
    data = pack.read_bytes()
    start = min(offset for _k, offset, _l in entries) + sum(length for *_, length in entries)
    table = b"".join(packs._ENTRY.pack(*entry) for entry in lying)
    footer = packs._FOOTER.pack(packs._MAGIC, 3, start, hashlib.sha256(table).digest())
    pack.write_bytes(data[:start] + table + footer)
    store = BlobStore(cache)
    assert [inflate(store.deflate_bytes(c)) for c in contents] == contents
    assert store.stats == BlobStats(
        compressed=3, compressed_bytes=sum(map(len, contents)), repaired=3
    )


@pytest.mark.parametrize("kind", ["folder", "fifo", "dangling-link", "empty"])
def test_a_pack_of_the_wrong_kind_is_removed_and_compressed_again(
    tmp_path: Path, kind: str
) -> None:
    cache = tmp_path / "cache"
    closed(BlobStore(cache), TEXT)
    [pack] = blob_files(cache)
    pack.unlink()
    make_kind(pack, kind)
    store = BlobStore(cache)
    member = bounded(lambda: store.deflate_bytes(TEXT), 30)  # a FIFO would wait forever
    assert inflate(member) == TEXT
    store.close()
    assert not os.path.lexists(pack) or pack.is_file()
    assert [p.name.startswith("pack-") for p in (pack.parent).iterdir()] == [True]
    assert store.cache is not None and store.cache.warnings == ()
