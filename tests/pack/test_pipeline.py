"""`pack_all`: every function's files deflated once, largest first, each zip written as soon
as its files are, a bug raised in the caller."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import pytest

from bundler.pack.contents import Contents, Entry
from bundler.pack.pipeline import Packing, Prepare, pack_all
from bundler.store.blobs import BlobStore
from bundler.store.deflated import Deflated


class RecordingStore(BlobStore):
    """A real blob store that also notes what it was asked to deflate, in order."""

    def __init__(self, events: list[str]) -> None:
        super().__init__(None)
        self.events = events

    def deflate_file(self, path: Path, size: int) -> Deflated:
        self.events.append(f"deflate {path.name}")
        return super().deflate_file(path, size)


def contents(folder: Path, files: dict[str, int]) -> Contents:
    """Real files of the given sizes, as collect_contents would list them."""
    entries = []
    for name, size in sorted(files.items()):
        source = folder / name
        if not source.exists():
            source.write_bytes(name.encode()[:1] * size)
        entries.append(Entry(arcname=name, source=source, owner="", size=size, executable=False))
    return Contents(tuple(entries))


def packing(events: list[str], name: str, listed: Contents) -> Packing[str]:
    def finish() -> str:
        events.append(f"finish {name}")
        return name

    return Packing(listed, finish)


def test_shared_files_are_deflated_once_largest_first(tmp_path: Path) -> None:
    events: list[str] = []
    store = RecordingStore(events)
    one = contents(tmp_path, {"a.py": 10, "big.so": 3 * 1024 * 1024, "shared.py": 20})
    two = contents(tmp_path, {"b.py": 30, "huge.so": 5 * 1024 * 1024, "shared.py": 20})
    prepare: list[Prepare[str]] = [
        lambda: packing(events, "one", one),
        lambda: packing(events, "two", two),
    ]
    assert sorted(pack_all(store, prepare, threads=1)) == ["one", "two"]
    assert store.stats.compressed == 5
    deflated = [e for e in events if e.startswith("deflate")]
    assert sorted(deflated) == sorted(set(deflated))  # each file once
    # one thread: function one is listed, its files deflated (the large one first), its
    # zip written; then two's files that one did not already deflate
    assert events == [
        "deflate big.so",
        "deflate a.py",
        "deflate shared.py",
        "finish one",
        "deflate huge.so",
        "deflate b.py",
        "finish two",
    ]


def test_a_zip_is_written_while_other_files_are_deflated(tmp_path: Path) -> None:
    """On two threads: a function whose files are deflated is finished at once, while the
    files of another are still being deflated."""
    events: list[str] = []
    small_done = threading.Event()

    class Store(RecordingStore):
        def deflate_file(self, path: Path, size: int) -> Deflated:
            found = super().deflate_file(path, size)
            if path.name == "small.py":
                small_done.set()
            return found

    store = Store(events)
    small = contents(tmp_path, {"small.py": 10})
    large = contents(tmp_path, {f"part{n}.so": 2 * 1024 * 1024 for n in range(6)})

    def prepare_large() -> Packing[str]:
        assert small_done.wait(10)  # listed once the small function's file is deflated
        return packing(events, "large", large)

    prepare: list[Prepare[str]] = [lambda: packing(events, "small", small), prepare_large]
    assert sorted(pack_all(store, prepare, threads=2)) == ["large", "small"]
    parts = [i for i, e in enumerate(events) if e.startswith("deflate part")]
    assert len(parts) == 6
    assert events.index("finish small") < parts[-1]
    assert events[-1] == "finish large"


def test_a_file_that_cannot_be_read_is_left_to_the_functions_holding_it(tmp_path: Path) -> None:
    events: list[str] = []
    store = RecordingStore(events)
    held = contents(tmp_path, {"gone.py": 10, "kept.py": 5})
    other = contents(tmp_path, {"kept.py": 5})
    (tmp_path / "gone.py").unlink()
    finished: list[str] = []

    def finisher(name: str, listed: Contents) -> Packing[str]:
        def finish() -> str:
            try:
                for entry in listed.entries:  # as Packer.write_zip reads them
                    store.deflate_file(entry.source, entry.size)
            except FileNotFoundError as error:
                return f"{name}: {error.strerror}"
            finished.append(name)
            return f"{name}: ok"

        return Packing(listed, finish)

    prepare: list[Prepare[str]] = [
        lambda: finisher("one", held),
        lambda: finisher("two", other),
        lambda: finisher("three", held),
    ]
    results = sorted(pack_all(store, prepare, threads=2))
    assert results == [
        "one: No such file or directory",
        "three: No such file or directory",
        "two: ok",
    ]
    assert finished == ["two"]


def test_results_that_need_no_zip_and_empty_zips(tmp_path: Path) -> None:
    store = BlobStore(None)
    prepare: list[Prepare[str]] = [lambda: "cached", lambda: Packing(Contents(()), lambda: "empty")]
    assert sorted(pack_all(store, prepare, threads=2)) == ["cached", "empty"]
    nothing: list[Prepare[str]] = []
    assert list(pack_all(store, nothing, threads=2)) == []


@pytest.mark.parametrize("where", ["prepare", "finish"])
def test_a_bug_stops_the_threads_and_is_raised(tmp_path: Path, where: str) -> None:
    store = BlobStore(None)
    listed = contents(tmp_path, {"a.py": 10})
    started: list[str] = []
    before = threading.active_count()

    def broken() -> Packing[str]:
        if where == "prepare":
            raise RuntimeError("a bug")

        def finish() -> str:
            raise RuntimeError("a bug")

        return Packing(listed, finish)

    def counted(n: int) -> str:
        started.append(str(n))
        return str(n)

    prepare: list[Prepare[str]] = [broken, *(functools.partial(counted, n) for n in range(50))]
    with pytest.raises(RuntimeError, match="a bug"):
        list(pack_all(store, prepare, threads=1))
    assert started == []  # nothing taken after the bug
    assert threading.active_count() == before  # every worker joined
