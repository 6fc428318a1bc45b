"""Hot reload: a polling watcher over stat fingerprints, no dependency.

It looks at what decides the zips: the functions folder (new, removed and edited files),
every first-party file a zip holds (shared modules, included files), the files at the site
root (pyproject.toml, netlify.toml, requirements, the env file) and the site-packages
folders (a folder's time changes when pip installs or removes a distribution). A look costs
one `stat` per file, bounded by MAX_FILES; a change waits until the files are still for a
moment (an editor's save in several writes) and then calls back with the changed paths.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_FILES = 20000
Fingerprint = dict[Path, tuple[int, int, int]]


@dataclass(frozen=True)
class WatchSet:
    """Single files or folders looked at alone, and trees walked whole."""

    paths: tuple[Path, ...] = ()
    trees: tuple[Path, ...] = ()
    listed: tuple[Path, ...] = ()  # folders whose direct files are looked at


def fingerprint(watch: WatchSet, limit: int = MAX_FILES) -> Fingerprint:
    """(mtime_ns, size, inode) of every watched path that exists."""
    found: Fingerprint = {}

    def add(path: Path) -> None:
        try:
            stat = path.stat()
        except OSError:
            return
        found[path] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    for path in watch.paths:
        add(path)
    for folder in watch.listed:
        for path in _entries(folder):
            if path.is_file():
                add(path)
    for tree in watch.trees:
        for directory, dirs, files in os.walk(tree):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            add(Path(directory))
            for name in files:
                if len(found) >= limit:
                    return found
                if not name.endswith((".pyc", ".swp", "~")) and not name.startswith(".#"):
                    add(Path(directory, name))
    return found


def _entries(folder: Path) -> Iterable[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return ()


def changed(before: Fingerprint, after: Fingerprint) -> list[Path]:
    """Paths added, removed or modified."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


class Watcher:
    """Looks every `interval` seconds; `on_change(paths)` runs in the watcher's thread."""

    def __init__(
        self,
        watch_set: Callable[[], WatchSet],
        on_change: Callable[[list[Path]], None],
        interval: float = 0.5,
        settle: float = 0.2,
    ) -> None:
        self.watch_set = watch_set
        self.on_change = on_change
        self.interval = interval
        self.settle = settle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def start(self) -> None:
        """Start watching in a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and wait (a few seconds at most) for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        last = fingerprint(self.watch_set())
        while not self._stop.wait(self.interval):
            now = fingerprint(self.watch_set())
            if now == last:
                continue
            while not self._stop.wait(self.settle):  # until a look finds nothing new
                settled = fingerprint(self.watch_set())
                if settled == now:
                    break
                now = settled
            self.on_change(changed(last, now))
            # the watch set may have changed; a path edited during the rebuild keeps its
            # stat from before it, so the next look sees the edit
            fresh = fingerprint(self.watch_set())
            last = {path: now.get(path, stat) for path, stat in fresh.items()}
