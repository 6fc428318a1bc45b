"""The polling watcher: what it looks at, and that an edit made while a reload runs is not
lost."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from bundler.serve.watcher import Watcher, WatchSet, changed, fingerprint


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_what_a_fingerprint_covers(tmp_path: Path) -> None:
    tree = tmp_path / "functions"
    kept = touch(tree / "a" / "a.py")
    touch(tree / "a" / "__pycache__" / "a.cpython-311.pyc")
    touch(tree / ".hidden" / "b.py")
    touch(tree / "c.py.swp")
    root_file = touch(tmp_path / "pyproject.toml")
    touch(tmp_path / "sub" / "not-listed.txt")
    single = touch(tmp_path / "elsewhere" / "shared.py")
    found = fingerprint(WatchSet(paths=(single,), trees=(tree,), listed=(tmp_path,)))
    assert set(found) == {single, root_file, tree, tree / "a", kept}


def test_changes_added_removed_and_edited(tmp_path: Path) -> None:
    a, b = touch(tmp_path / "a"), touch(tmp_path / "b")
    watch = WatchSet(listed=(tmp_path,))
    before = fingerprint(watch)
    a.write_text("longer")
    b.unlink()
    c = touch(tmp_path / "c")
    assert changed(before, fingerprint(watch)) == [a, b, c]


def test_the_number_of_files_is_bounded(tmp_path: Path) -> None:
    for index in range(30):
        touch(tmp_path / "tree" / f"{index}.py")
    assert len(fingerprint(WatchSet(trees=(tmp_path / "tree",)), limit=10)) == 10


def test_an_edit_during_a_reload_is_seen(tmp_path: Path) -> None:
    source = touch(tmp_path / "f.py", "one")
    calls: list[list[Path]] = []
    second = threading.Event()

    def reload(paths: list[Path]) -> None:
        calls.append(paths)
        if len(calls) == 1:
            source.write_text("three!")  # edited while the first rebuild runs
            stat = source.stat()
            os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        else:
            second.set()

    watcher = Watcher(lambda: WatchSet(paths=(source,)), reload, interval=0.02, settle=0.02)
    watcher.start()
    try:
        threading.Event().wait(0.1)
        source.write_text("two")
        assert second.wait(10), calls
    finally:
        watcher.stop()
    assert calls == [[source], [source]]
