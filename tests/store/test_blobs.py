"""The blob store: each content deflated once, kept between runs, never shipped damaged."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
from support import bounded

from bundler.errors import BundlerError
from bundler.store import blobfile, blobs
from bundler.store.blobfile import HEADER
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
    assert len(compressed) == member.compressed_size
    data = zlib.decompress(compressed, -15)
    assert (len(data), zlib.crc32(data)) == (member.size, member.crc32)
    return data


def blob_files(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "blobs").rglob("*") if p.is_file())


def test_deflates_bytes_and_files(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_bytes(TEXT)
    store = BlobStore(None)
    assert inflate(store.deflate_bytes(TEXT)) == TEXT
    assert inflate(store.deflate_file(source, len(TEXT))) == TEXT
    assert inflate(store.deflate_bytes(b"")) == b""
    assert store.stats == BlobStats(compressed=2, compressed_bytes=len(TEXT), reused=1)


def test_same_content_compressed_once_per_run(tmp_path: Path) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_bytes(TEXT)
    store = BlobStore(None)
    first = store.deflate_file(tmp_path / "a.py", len(TEXT))
    assert store.deflate_file(tmp_path / "b.py", len(TEXT)) is first
    assert store.deflate_file(tmp_path / "a.py", len(TEXT)) is first
    assert (store.stats.compressed, store.stats.reused) == (1, 2)


def test_the_level_is_honoured(tmp_path: Path) -> None:
    stored = BlobStore(None, level=0).deflate_bytes(TEXT)
    best = BlobStore(None, level=9).deflate_bytes(TEXT)
    assert stored.compressed_size > len(TEXT) > best.compressed_size
    assert inflate(stored) == inflate(best) == TEXT
    with pytest.raises(ValueError, match="compression level 10 is not between 0 and 9"):
        BlobStore(None, level=10)


def test_the_cache_folder_serves_the_next_run(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store = BlobStore(cache)
    first = store.deflate_bytes(TEXT)
    assert blob_files(cache) == []  # small blobs wait for close(), then go in one pack
    store.close()
    [path] = blob_files(cache)
    assert path.parent.relative_to(cache).as_posix() == (
        f"blobs/zlib-{zlib.ZLIB_RUNTIME_VERSION}/level-6/packs"
    )
    assert path.name.startswith("pack-") and path.suffix == ".pack"
    again = BlobStore(cache)
    assert again.deflate_bytes(TEXT) == first
    assert again.stats == BlobStats(loaded=1)
    again.close()
    assert blob_files(cache) == [path]  # nothing new: no new pack
    other_level = BlobStore(cache, level=9)
    other_level.deflate_bytes(TEXT)
    assert other_level.stats == BlobStats(compressed=1, compressed_bytes=len(TEXT))
    other_level.close()
    assert len(blob_files(cache)) == 2


def flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def flip_header_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[45] ^= 0x01  # inside the crc32 field
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[:-1]),  # truncated
        lambda p: p.write_bytes(p.read_bytes()[:20]),  # half a header
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(p.read_bytes() + b"x"),
        flip_last_byte,
        flip_header_byte,
        lambda p: p.write_bytes(b"NOTABLOB" + p.read_bytes()[8:]),
    ],
)
@pytest.mark.parametrize("large", [False, True])
def test_a_damaged_blob_is_compressed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: object, large: bool
) -> None:
    if large:  # streamed from the file, checked without reading it whole
        monkeypatch.setattr(blobs, "_WHOLE", 100)
        monkeypatch.setattr(blobs, "_SMALL", 10)
    source = tmp_path / "mod.py"
    source.write_bytes(TEXT)
    cache = tmp_path / "cache"
    if not large:
        monkeypatch.setattr(blobs, "_MEMORY_BUDGET", 0)  # a file of its own, not a pack
    good = BlobStore(cache).deflate_file(source, len(TEXT))
    [path] = blob_files(cache)
    intact = path.read_bytes()
    damage(path)  # type: ignore[operator]
    store = BlobStore(cache)
    again = store.deflate_file(source, len(TEXT))
    store.close()
    assert inflate(again) == TEXT
    assert (again.crc32, again.size, again.compressed_size) == (
        good.crc32,
        good.size,
        good.compressed_size,
    )
    assert store.stats == BlobStats(compressed=1, compressed_bytes=len(TEXT), repaired=1)
    assert path.read_bytes() == intact
    assert blob_files(cache) == [path]


def test_large_files_are_streamed_into_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "_WHOLE", 1000)
    monkeypatch.setattr(blobs, "CHUNK", 1000)  # reading the source
    monkeypatch.setattr(blobfile, "CHUNK", 1000)  # reading the blob file back
    data = bytes(range(256)) * 100
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    store = BlobStore(tmp_path / "cache")
    member = store.deflate_file(source, len(data))
    (blob,) = blob_files(tmp_path / "cache")
    assert member.data == blob.read_bytes()[HEADER.size :]  # read back once, kept in memory
    assert inflate(member) == data
    again = BlobStore(tmp_path / "cache")
    assert inflate(again.deflate_file(source, len(data))) == data
    assert again.stats == BlobStats(loaded=1)


def test_a_streamed_blob_past_the_memory_budget_is_copied_from_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "_WHOLE", 1000)
    monkeypatch.setattr(blobs, "_MEMORY_BUDGET", 100)
    data = bytes(range(256)) * 100  # 447 bytes deflated
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    member = BlobStore(tmp_path / "cache").deflate_file(source, len(data))
    assert member.data is None and member.path == blob_files(tmp_path / "cache")[0]
    assert inflate(member) == data


def test_a_blob_past_the_pack_size_is_a_file_of_its_own_and_kept_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "_SMALL", 10)
    store = BlobStore(tmp_path / "cache")
    member = store.deflate_bytes(TEXT)
    store.close()
    (blob,) = blob_files(tmp_path / "cache")
    assert member.data is not None and blob.read_bytes()[HEADER.size :] == member.data
    assert not (blob.parent.parent / "packs").exists()


def test_without_a_cache_large_blobs_spill_to_a_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "_MEMORY_BUDGET", 10)  # room for one tiny blob
    store = BlobStore(None)
    kept = store.deflate_bytes(b"small")
    spilled = store.deflate_bytes(TEXT)
    assert kept.data is not None
    assert spilled.path is not None and spilled.data is None
    assert inflate(spilled) == TEXT
    store.close()
    assert not spilled.path.exists()
    assert not spilled.path.parent.parent.exists()


def test_a_file_changed_while_streamed_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "_WHOLE", 10)
    source = tmp_path / "big.bin"
    source.write_bytes(TEXT)
    monkeypatch.setattr(blobs, "_hash_file", lambda _path: hashlib.sha256(b"before").digest())
    cache = tmp_path / "cache"
    with pytest.raises(BundlerError) as caught:
        BlobStore(cache).deflate_file(source, len(TEXT))
    assert str(caught.value) == (
        f"{source.as_posix()}: this file changed while it was being bundled; "
        "build again once nothing writes to the environment"
    )
    assert blob_files(cache) == []


@pytest.mark.parametrize("whole", [True, False])
def test_a_vanished_source_raises_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole: bool
) -> None:
    if not whole:
        monkeypatch.setattr(blobs, "_WHOLE", 10)
        monkeypatch.setattr(blobs, "_hash_file", lambda _path: b"x" * 32)
    with pytest.raises(FileNotFoundError):
        BlobStore(tmp_path / "cache").deflate_file(tmp_path / "gone.py", 100)
    assert blob_files(tmp_path / "cache") == []


HINT = (
    "give it free space and write permission, choose another with --cache-dir, "
    "or build with --no-cache"
)


@pytest.mark.parametrize("size", [len(TEXT), 300_000])  # into a pack; a file of its own
def test_a_cache_folder_that_is_a_file_is_given_up_with_one_warning(
    tmp_path: Path, size: int
) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file, not a folder")
    data = (TEXT * (size // len(TEXT) + 1))[:size]
    other = bytes(range(256)) * 2000
    store = BlobStore(cache)
    assert inflate(store.deflate_bytes(data)) == data
    assert inflate(store.deflate_bytes(other)) == other
    store.close()
    assert [p.format() for p in store.cache.warnings] == [  # type: ignore[union-attr]
        f"{cache.as_posix()}: cannot use the cache folder, building without it: "
        f"it is not a folder; {HINT}"
    ]
    assert cache.read_text() == "a file, not a folder"


def test_threads_compress_one_content_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytes(range(256)) * 4000
    sources = []
    for i in range(8):
        sources.append(tmp_path / f"copy{i}.bin")
        sources[-1].write_bytes(data)
    calls = []
    original = BlobStore._compress_bytes

    def counted(self: BlobStore, digest: bytes, content: bytes) -> Deflated:
        calls.append(digest)
        return original(self, digest, content)

    monkeypatch.setattr(BlobStore, "_compress_bytes", counted)
    store = BlobStore(tmp_path / "cache")
    barrier = threading.Barrier(len(sources))
    results: list[Deflated] = []

    def work(source: Path) -> None:
        barrier.wait()
        results.append(store.deflate_file(source, len(data)))

    threads = [threading.Thread(target=work, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)
    store.close()
    assert len(blob_files(tmp_path / "cache")) == 1


RACE = """
import sys
from pathlib import Path
from bundler.store.blobs import BlobStore
cache, data = Path(sys.argv[1]), Path(sys.argv[2]).read_bytes()
for level in range(10):
    store = BlobStore(cache, level=level)
    assert store.deflate_bytes(data).size == len(data)
    store.close()
"""


def test_processes_racing_on_one_folder_leave_valid_blobs(tmp_path: Path) -> None:
    data = TEXT * 200
    (tmp_path / "data").write_bytes(data)
    command = [sys.executable, "-c", RACE, str(tmp_path / "cache"), str(tmp_path / "data")]
    running = [subprocess.Popen(command) for _ in range(4)]
    assert [p.wait() for p in running] == [0] * 4
    files = blob_files(tmp_path / "cache")
    assert len(files) == 10  # one per level, no temporary leftovers
    for level in range(10):
        store = BlobStore(tmp_path / "cache", level=level)
        assert inflate(store.deflate_bytes(data)) == data
        assert store.stats == BlobStats(loaded=1)


@pytest.mark.parametrize("change", ["grew", "shrank", "grew-past-whole", "emptied"])
def test_a_file_that_changed_since_it_was_listed_is_refused_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    monkeypatch.setattr(blobs, "_WHOLE", 1000)  # files up to 1000 bytes are read whole
    monkeypatch.setattr(blobs, "_MEMORY_BUDGET", 0)  # every blob a file of its own
    listed = TEXT[:500]
    actual = {
        "grew": TEXT[:800],
        "shrank": TEXT[:100],
        "grew-past-whole": TEXT[:3000],
        "emptied": b"",
    }[change]
    source = tmp_path / "mod.py"
    source.write_bytes(actual)  # changed between the listing (500 bytes) and the read
    cache = tmp_path / "cache"
    with pytest.raises(BundlerError) as raised:  # what passed the limits is what ships
        BlobStore(cache).deflate_file(source, len(listed))
    assert raised.value.problems[0].message == (
        f"this file changed while it was being bundled (500 bytes when listed, "
        f"{len(actual):,} bytes now)"
    )
    assert blob_files(cache) == []
    again = BlobStore(cache).deflate_file(source, len(actual))  # listed anew: it ships
    assert (again.size, inflate(again)) == (len(actual), actual)


def test_a_fifo_where_a_file_was_listed_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "data.txt"
    os.mkfifo(fifo)
    with pytest.raises(BundlerError) as raised:  # not waiting for a writer forever
        bounded(lambda: BlobStore(None).deflate_file(fifo, 10), 30)
    assert raised.value.problems[0].message == (
        "this file changed while it was being bundled (it is not a regular file any more)"
    )
