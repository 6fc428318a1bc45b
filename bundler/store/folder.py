"""The cache folder of a build (`.bundle-cache` or `--cache-dir`): opened, given up.

A build opens it once: makes it, takes a shared lock, checks that a file can be written
there and sweeps the temporary files that killed builds left. The cache only saves time,
so it never fails a build: when it cannot be used at the start, or at the first fault
during the build (a full disk, a folder made read-only), the build goes on without it
and one warning says so.

Every temporary name in the cache starts with `.tmp-`. Every build holds a shared `flock`
on `<cache>/.lock` while it runs (a killed build's lock dies with it). The build that
opens the cache while no other build runs gets the lock exclusively for a moment and
removes every temporary name; one that starts beside a running build removes only those
untouched for a day, so a live build's files are never deleted from under it.

Whatever stands where the cache expects a folder or a file of its own and is of another
kind (a file where a folder should be, a folder, FIFO or dangling link where a file
should be) is removed by the reader that finds it: a miss, then written again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile
import threading
import time
import uuid
import weakref
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from bundler.errors import Problem
from bundler.files import NotARegularFile, PendingFile, open_regular, write_atomically

TEMPORARY = ".tmp-"  # the prefix of every temporary name in the cache
STALE_AFTER = 24 * 3600  # seconds untouched after which a temporary name is a leftover
LOCK_WAIT = 10.0  # seconds to wait for another build's exclusive moment to end
# Where temporary names are made: folder -> how many levels of sub-folders to look in
_SWEPT = {
    ".": 0,
    "functions": 0,
    "libraries": 0,
    "sources": 0,
    "sites": 0,
    "wheels": 0,
    "targets": 1,
    "blobs": 3,
}
_DOCUMENT_LIMIT = 256 * 2**20  # bytes: the largest, a site's index at 2,000 functions, is 2 MB
_HINT = (
    "give it free space and write permission, choose another with --cache-dir, "
    "or build with --no-cache"
)


class CacheFolder:
    """One build's cache folder and whether it is still in use; safe across threads.

    `CacheFolder(path)` trusts the folder (for a blob store on its own); `open(path)`
    checks, locks and sweeps it as a build does. Call `close()` at the end of the build.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._guard = threading.Lock()
        self._problem: Problem | None = None
        self._lock_handle: int | None = None

    @classmethod
    def open(cls, path: Path) -> CacheFolder:
        """The folder made, locked and swept; given up (one warning) if it cannot be."""
        cache = cls(path)
        try:
            cache.make_folder(path)
            alone = cache._lock()
            _check_writable(path)
            cache.sweep(0 if alone else STALE_AFTER)  # while the lock is still exclusive
            if alone:
                cache._share()
        except OSError as error:
            cache.fail(error, path)
        if not cache.usable:
            cache.close()
        return cache

    @property
    def usable(self) -> bool:
        """Whether the build still reads and writes the cache."""
        return self._problem is None

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The one warning of a cache that was given up, if it was."""
        return (self._problem,) if self._problem else ()

    def fail(self, error: OSError, where: Path) -> None:
        """Give the cache up for the rest of the build because `error` happened at `where`."""
        reason = error.strerror or str(error)
        inside = "" if isinstance(error, _Unusable) else _relative(where, self.path)
        self._give_up(f"{reason} ({inside})" if inside else reason)

    def close(self) -> None:
        """Release the build's lock."""
        with self._guard:
            handle, self._lock_handle = self._lock_handle, None
        if handle is not None:
            os.close(handle)

    def read_document(self, path: Path, limit: int = _DOCUMENT_LIMIT) -> Any:
        """The JSON document at `path` in the cache, or None when there is none, it is not
        a regular file, or it is not JSON (a miss: the caller works it out again)."""
        if not self.usable:
            return None
        try:
            with open_regular(path, follow_symlinks=False) as stream:
                return json.loads(stream.read(limit))
        except (OSError, ValueError, RecursionError):
            return None

    def write_document(self, path: Path, document: Any) -> None:
        """Write `document` as JSON at `path` atomically; a failure gives the cache up
        (one warning), never the build."""
        if not self.usable:
            return
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        try:
            self.make_folder(path.parent)
            with write_entry(path, mode=None) as pending:
                pending.stream.write(text.encode("utf-8"))
        except OSError as error:
            self.fail(error, path)

    def make_folder(self, folder: Path) -> None:
        """`mkdir -p folder`; an entry of another kind in the way inside the cache is
        removed. Raises OSError, saying why when the cache folder cannot be a folder."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return
        except (FileExistsError, NotADirectoryError):
            pass
        blocker = _first_non_folder(folder)
        if blocker is None:  # another build fixed it meanwhile
            folder.mkdir(parents=True, exist_ok=True)
        elif blocker != self.path and blocker.is_relative_to(self.path):
            remove_entry(blocker)
            folder.mkdir(parents=True, exist_ok=True)
        elif blocker == self.path:
            raise _Unusable("it is not a folder")
        else:
            raise _Unusable(f"{blocker} is not a folder")

    def sweep(self, older_than: float) -> int:
        """Remove temporary names untouched for `older_than` seconds; how many it removed."""
        limit = time.time() - older_than
        removed = 0
        for name, depth in _SWEPT.items():
            removed += _sweep(self.path / name, depth, limit)
        return removed

    def _lock(self) -> bool:
        """Lock the folder: exclusively (True) if no other build runs, else shared."""
        handle = _open_lock(self.path / ".lock")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                alone = True
            except BlockingIOError:
                alone = False
                _wait_shared(handle)
        except OSError as error:
            os.close(handle)
            if error.errno == errno.ENOLCK:  # a file system without locks: sweep by age
                return False
            raise
        self._lock_handle = handle
        return alone

    def _share(self) -> None:
        """Turn the exclusive lock into the shared one every running build holds."""
        if self._lock_handle is not None:
            _wait_shared(self._lock_handle)  # flock converts, not atomically

    def _give_up(self, reason: str) -> None:
        with self._guard:
            if self._problem is None:
                self._problem = Problem(
                    f"cannot use the cache folder, building without it: {reason}",
                    file=self.path,
                    hint=_HINT,
                    severity="warning",
                )


class ScratchFolder:
    """A temporary folder outside the cache, made at first use and removed by `remove()`
    (or when the owner forgets it): where a build without a cache keeps its large files."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._guard = threading.Lock()
        self._path: Path | None = None
        self._finalizer: weakref.finalize[..., ScratchFolder] | None = None

    def path(self) -> Path:
        """The folder, made now if it was not yet."""
        with self._guard:
            if self._path is None:
                self._path = Path(tempfile.mkdtemp(prefix=self.prefix))
                self._finalizer = weakref.finalize(
                    self, shutil.rmtree, self._path, ignore_errors=True
                )
            return self._path

    def remove(self) -> None:
        """Remove the folder and everything in it, if it was made."""
        with self._guard:
            if self._finalizer is not None:
                self._finalizer()
            self._path = self._finalizer = None


class _Unusable(OSError):
    """The cache folder itself cannot be used: `strerror` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.ENOTDIR, reason)


def write_entry(final: Path, *, mode: int | None = 0o644) -> AbstractContextManager[PendingFile]:
    """`write_atomically` for a cache entry: the cache's temporary prefix (which the sweep
    removes when a writer died), and a folder standing at the name removed first."""
    return write_atomically(final, TEMPORARY, mode=mode, rename=replace_entry)


def wrong_kind(error: OSError) -> bool:
    """Whether opening a cache entry failed because something of another kind stands at
    its name or above it (a folder, a FIFO, a link; a file where a folder should be)."""
    return isinstance(error, NotARegularFile) or error.errno in (
        errno.ELOOP,
        errno.EISDIR,
        errno.ENOTDIR,
    )


def replace_entry(temporary: Path, final: Path) -> None:
    """Rename the file `temporary` to `final`, removing a folder that stands there."""
    try:
        os.replace(temporary, final)
    except OSError as error:
        if error.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST):
            raise
        remove_entry(final)
        os.replace(temporary, final)


def remove_entry(path: Path) -> None:
    """Remove whatever stands at `path`: a file, a link, a FIFO or a whole folder.

    A folder is first renamed to a temporary name, so no reader sees it half removed
    and a removal cut short is swept later.
    """
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISDIR(info.st_mode):
        path.unlink(missing_ok=True)
        return
    trash = path.with_name(f"{TEMPORARY}trash-{uuid.uuid4().hex}")
    try:
        os.replace(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _open_lock(path: Path) -> int:
    """The lock file, opened without following links or blocking on a FIFO; an entry of
    another kind at its name is removed first."""
    for _attempt in range(2):
        flags = os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            handle = os.open(path, flags, 0o644)
        except OSError as error:
            if error.errno not in (errno.ELOOP, errno.EISDIR):
                raise
        else:
            if stat.S_ISREG(os.fstat(handle).st_mode):
                return handle
            os.close(handle)
        remove_entry(path)
    raise _Unusable(f"{path.name} cannot be made a file")


def _wait_shared(handle: int) -> None:
    """A shared lock, waiting at most LOCK_WAIT for another build's sweep to end."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise _Unusable(
                    f"another build has held its lock for over {LOCK_WAIT:.0f} s"
                ) from None
            time.sleep(0.05)


def _check_writable(folder: Path) -> None:
    """Write a small file and remove it: a read-only or full folder says so now."""
    handle, name = tempfile.mkstemp(prefix=TEMPORARY, dir=folder)
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(bytes(4096))
    finally:
        path.unlink(missing_ok=True)


def _sweep(folder: Path, depth: int, limit: float) -> int:
    """Remove temporary names in `folder` (and `depth` levels of sub-folders) last
    changed before `limit`."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.name.startswith(TEMPORARY):
                if entry.stat(follow_symlinks=False).st_mtime < limit:
                    remove_entry(Path(entry.path))
                    removed += 1
            elif depth > 0 and entry.is_dir(follow_symlinks=False):
                removed += _sweep(Path(entry.path), depth - 1, limit)
        except OSError:
            continue  # gone meanwhile, or not ours to remove: the next build tries again
    return removed


def _first_non_folder(folder: Path) -> Path | None:
    """The first of `folder` and its parents, from the top, that exists and is not a
    folder (a link to a folder counts as one)."""
    for path in (*reversed(folder.parents), folder):
        with contextlib.suppress(FileNotFoundError):
            if not path.is_dir() and os.path.lexists(path):
                return path
    return None


def _relative(path: Path, root: Path) -> str:
    """`path` inside `root`, as a POSIX path; '' for the root itself or outside it."""
    if path == root or not path.is_relative_to(root):
        return ""
    return path.relative_to(root).as_posix()
