"""Reading files the bundler did not write, the two hashes it writes (a file's sha256 for
the manifest and cache, a RECORD entry's), and the one way it writes: under a temporary name
in the same folder, renamed into place."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bundler.errors import BundlerError, Problem

_CHUNK = 1024 * 1024


class NotARegularFile(OSError):
    """A path that is a folder, a FIFO, a device or a socket where a file was expected."""


def open_regular(path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
    """Open `path` for reading only if it is a regular file, else NotARegularFile.

    Opening never blocks: a FIFO swapped in where a file was (in a cache, a distribution
    or a function folder) would otherwise wait forever for a writer. Without
    `follow_symlinks` a symbolic link is refused too (OSError ELOOP).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    handle = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise NotARegularFile(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(handle, True)
        return os.fdopen(handle, "rb")
    except BaseException:
        os.close(handle)
        raise


def open_shipped(path: Path, size: int | None = None) -> BinaryIO:
    """Open a file that was admitted (by its real path) for reading, re-checked on the
    descriptor: a link, a non-regular file or another size than `size` found now means
    it changed since it was checked, and it is refused, not read."""
    try:
        stream = open_regular(path, follow_symlinks=False)
    except NotARegularFile:
        raise _changed(path, "it is not a regular file any more") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _changed(path, "it is a link now") from None
        raise
    found = os.fstat(stream.fileno()).st_size
    if size is not None and found != size:
        stream.close()
        raise _changed(path, f"{size:,} bytes when listed, {found:,} bytes now")
    return stream


def stat_signature(found: os.stat_result) -> tuple[int, ...]:
    """A file's identity and times: equal signatures mean an unchanged file (its change
    time cannot be set back, so a copy, a `touch -d` or an edit with the time restored
    all show)."""
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


def changed_size(path: Path, listed: int, read: int) -> BundlerError:
    """The error for a file whose bytes read differ from its size when listed."""
    return _changed(path, f"{listed:,} bytes when listed, {read:,} bytes read")


def _changed(path: Path, how: str) -> BundlerError:
    return BundlerError(
        Problem(
            f"this file changed while it was being bundled ({how})",
            file=path,
            hint="build again once nothing writes to it",
        )
    )


def file_digest(path: Path, *, follow_symlinks: bool = True) -> tuple[bytes, int]:
    """The sha256 of a regular file, read in chunks, and how many bytes were read."""
    digest = hashlib.sha256()
    size = 0
    with open_regular(path, follow_symlinks=follow_symlinks) as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.digest(), size


def file_sha256(path: Path) -> str:
    """The hex sha256 of a regular file, read in chunks (NotARegularFile otherwise)."""
    return file_digest(path)[0].hex()


def record_hash(data: bytes) -> str:
    """`sha256=<urlsafe base64, unpadded>`, as a wheel's RECORD writes it (PEP 376/427)."""
    return record_hash_of(hashlib.sha256(data).digest())


def record_hash_of(digest: bytes) -> str:
    """A RECORD entry's hash from a raw sha256 digest."""
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class PendingFile:
    """A file being written under a temporary name: `stream` writes it, and `destination`
    (which a writer that names the file by its content may set late) is where it goes."""

    stream: BinaryIO
    path: Path
    destination: Path


@contextmanager
def write_atomically(
    destination: Path,
    prefix: str,
    *,
    mode: int | None = 0o644,
    rename: Callable[[Path, Path], object] = os.replace,
) -> Iterator[PendingFile]:
    """Write a file under a temporary name beginning with `prefix` in `destination`'s
    folder, then rename it into place; on any failure (the body's too) the temporary file
    is removed and nothing replaces `destination`.

    `mode` is set before the rename (None keeps mkstemp's 0600); `rename` may be one that
    first clears what stands at the name. The prefix is what the sweeps of leftovers match.
    """
    handle, name = tempfile.mkstemp(prefix=prefix, dir=destination.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            pending = PendingFile(stream, temporary, destination)
            yield pending
        if mode is not None:
            os.chmod(temporary, mode)
        rename(temporary, pending.destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@dataclass
class PendingFolder:
    """A folder being filled under a temporary name; `placed` says, once renamed, whether
    it took its place (False when another process placed the same folder first)."""

    path: Path
    placed: bool = False


@contextmanager
def build_folder_atomically(
    destination: Path,
    prefix: str,
    *,
    remove: Callable[[Path], object] | None = None,
) -> Iterator[PendingFolder]:
    """Fill a folder under a temporary name beginning with `prefix` beside `destination`,
    then rename it into place. A folder already standing there is another process's copy
    of the same thing and is kept (`placed` is False); a file there is replaced. Whatever
    is left of the temporary folder is removed with `remove`, on success or failure."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    pending = PendingFolder(Path(tempfile.mkdtemp(prefix=prefix, dir=destination.parent)))
    try:
        yield pending
        pending.placed = _rename_folder(pending.path, destination)
    finally:
        if os.path.lexists(pending.path):
            (remove or _remove_tree)(pending.path)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _rename_folder(temporary: Path, destination: Path) -> bool:
    try:
        os.replace(temporary, destination)
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST) and destination.is_dir():
            return False
        if error.errno != errno.ENOTDIR:
            raise
        destination.unlink()  # a file or a link where the folder should be
        os.replace(temporary, destination)
    return True
