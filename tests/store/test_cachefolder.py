"""The cache folder of a build: made, locked, swept of what killed builds left, and given
up with one warning when it cannot be used."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fault_support import CACHE_HINT, make_kind

from bundler.store.folder import STALE_AFTER, CacheFolder

BLOBS = "blobs/zlib-1/level-6"
# A temporary name in every place a build makes one, as a killed build leaves them
LEFTOVERS = (
    ".tmp-check",
    "functions/.tmp-abc",
    f"{BLOBS}/packs/.tmp-def",
    f"{BLOBS}/ab/.tmp-ghi",
    "wheels/.tmp-jkl",
    "targets/python3.11-x86_64/.tmp-unpack-mno/pkg/__init__.py",
    "targets/python3.11-x86_64/.tmp-trash-pqr/RECORD",
)
KEPT = (
    "functions/0123.json",
    f"{BLOBS}/packs/pack-0123.pack",
    f"{BLOBS}/ab/cdef",
    "wheels/tiny-1.0-py3-none-any.whl",
    "targets/python3.11-x86_64/tiny-1.0/tiny/.tmp-not-ours-to-sweep",
)


def plant(cache: Path, names: tuple[str, ...], age: float = 0) -> None:
    for name in names:
        path = cache / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("left behind")
        if age:
            for old in (path, *path.parents):
                if old == cache:
                    break
                os.utime(old, (time.time() - age, time.time() - age))


def present(cache: Path, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if (cache / n).exists()]


def top_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The temporary entry of each planted path (a folder for the unpacked ones)."""
    found = []
    for name in names:
        parts = name.split("/")
        index = next(i for i, part in enumerate(parts) if part.startswith(".tmp-"))
        found.append("/".join(parts[: index + 1]))
    return tuple(found)


def test_opening_makes_the_folder_and_locks_it(tmp_path: Path) -> None:
    cache = CacheFolder.open(tmp_path / "a" / "cache")
    assert cache.usable and cache.warnings == ()
    assert sorted(p.name for p in (tmp_path / "a" / "cache").iterdir()) == [".lock"]
    cache.close()


@pytest.mark.parametrize("where", ["itself", "above"])
def test_a_file_where_the_folder_should_be_gives_it_up(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    path = blocker if where == "itself" else blocker / "cache"
    cache = CacheFolder.open(path)
    reason = "it is not a folder" if where == "itself" else f"{blocker} is not a folder"
    assert not cache.usable
    assert [p.format() for p in cache.warnings] == [
        f"{path}: cannot use the cache folder, building without it: {reason}; {CACHE_HINT}"
    ]
    assert blocker.read_text() == "a file"


def test_one_warning_however_many_faults(tmp_path: Path) -> None:
    cache = CacheFolder.open(tmp_path / "cache")
    for _ in range(3):
        cache.fail(OSError(28, "No space left on device"), tmp_path / "cache" / "functions")
    cache.fail(OSError(13, "Permission denied"), tmp_path / "cache")
    assert [p.format() for p in cache.warnings] == [
        f"{tmp_path / 'cache'}: cannot use the cache folder, building without it: "
        f"No space left on device (functions); {CACHE_HINT}"
    ]


@pytest.mark.parametrize("kind", ["file", "fifo", "dangling-link"])
def test_an_entry_of_another_kind_in_the_way_of_a_folder_is_replaced(
    tmp_path: Path, kind: str
) -> None:
    cache = CacheFolder(tmp_path / "cache")
    blocker = tmp_path / "cache" / "blobs"
    make_kind(blocker, kind)
    cache.make_folder(blocker / "zlib-1" / "level-6" / "packs")
    assert (blocker / "zlib-1" / "level-6" / "packs").is_dir()
    assert cache.usable


@pytest.mark.parametrize("kind", ["folder", "fifo", "dangling-link"])
def test_a_lock_of_another_kind_is_replaced(tmp_path: Path, kind: str) -> None:
    (tmp_path / "cache").mkdir()
    make_kind(tmp_path / "cache" / ".lock", kind)
    cache = CacheFolder.open(tmp_path / "cache")
    assert cache.usable, cache.warnings
    assert (tmp_path / "cache" / ".lock").is_file()
    cache.close()


def test_a_build_alone_sweeps_every_temporary_name(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    plant(root, LEFTOVERS + KEPT)
    cache = CacheFolder.open(root)
    assert cache.usable
    assert present(root, top_names(LEFTOVERS)) == []
    assert present(root, KEPT) == list(KEPT)
    cache.close()


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bundler.store.folder import CacheFolder
    cache = CacheFolder.open(Path(sys.argv[1]))
    assert cache.usable, cache.warnings
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    cache.close()
    """
)


def test_a_build_beside_a_running_one_sweeps_only_stale_names(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"  # a build running on this cache
        live = ("functions/.tmp-live", f"{BLOBS}/ab/.tmp-live")
        plant(root, live)  # written by the running build just now
        plant(root, LEFTOVERS, age=STALE_AFTER + 60)  # left by a build killed yesterday
        beside = CacheFolder.open(root)
        assert beside.usable
        assert present(root, live) == list(live)
        assert present(root, top_names(LEFTOVERS)) == []
        beside.close()
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0
    alone = CacheFolder.open(root)  # the running build has ended: its names are leftovers
    assert present(root, live) == []
    alone.close()
