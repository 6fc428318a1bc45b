"""Reading files the bundler did not write, and the two hashes it writes: a file's sha256
(manifest, cache) and a RECORD entry's."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import stat
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
