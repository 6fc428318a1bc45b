"""Write deterministic zips: sorted entries, fixed times and modes, atomic renames.

Compression goes through `bundler.store.blobs`: a `Packer` shared by every function of a
build deflates each distinct file once (`bundler.pack.zipwriter` copies the deflated bytes).
"""

from __future__ import annotations

import calendar
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import UsageError
from bundler.files import changed_size, write_atomically
from bundler.pack.contents import Contents
from bundler.pack.zipwriter import Headers, ZipWriter
from bundler.store.blobs import DEFAULT_LEVEL, BlobStore
from bundler.store.deflated import Deflated
from bundler.store.folder import CacheFolder

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_END = (2107, 12, 31, 23, 59, 58)  # the last time a zip's DOS date can hold
_FIRST = calendar.timegm((*ZIP_EPOCH, 0, 0, 0))
_LAST = calendar.timegm((*ZIP_END, 0, 0, 0))
_EPOCH = re.compile(r"-?[0-9]+")  # ASCII digits only: int() would take others too


@dataclass(frozen=True, kw_only=True)
class Bundle:
    """A written zip: where it is, its bytes and its hash."""

    path: Path
    sha256: str
    zipped: int
    unzipped: int
    files: int


def zip_timestamp() -> tuple[int, int, int, int, int, int]:
    """1980-01-01, or SOURCE_DATE_EPOCH when set (reproducible-builds.org), within zip's range.

    The specification asks for a whole number of seconds, as `date +%s` prints it; a
    time a zip cannot hold is clamped to its range (1980 to 2107), and a value that is not
    a number is a usage error, as the specification recommends (never a silent 1980).
    """
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return ZIP_EPOCH
    if not _EPOCH.fullmatch(value):
        raise UsageError.of(
            f"SOURCE_DATE_EPOCH={_shown(value)} is not a whole number of seconds since 1970",
            hint="set it as `date +%s` or `git log -1 --format=%ct` prints it, or unset it",
        )
    digits = value.lstrip("-").lstrip("0") or "0"
    if value.startswith("-") or len(digits) > len(str(_LAST)):  # no int() of 5000 digits
        return ZIP_EPOCH if value.startswith("-") else ZIP_END
    seconds = int(digits)
    if seconds < _FIRST:
        return ZIP_EPOCH
    if seconds > _LAST:
        return ZIP_END
    moment = time.gmtime(seconds)
    return (
        moment.tm_year,
        moment.tm_mon,
        moment.tm_mday,
        moment.tm_hour,
        moment.tm_min,
        moment.tm_sec,
    )


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 40 else f"{value[:30]!r}... ({len(value):,} characters)"


class Packer:
    """Writes the zips of one build over one blob store: each distinct file is
    compressed once, and its deflated bytes are copied into every zip that holds it.

    `cache_dir` keeps the blobs between builds (None: for this packer only). Safe to
    call from several threads at once; use as a context manager, or call `close()`.
    """

    def __init__(
        self, cache_dir: CacheFolder | Path | None = None, *, level: int = DEFAULT_LEVEL
    ) -> None:
        self.stamp = zip_timestamp()  # once per build, before any work: it may be refused
        self.store = BlobStore(cache_dir, level=level)
        self._headers: Headers = {}  # shared by every zip: members repeat across functions

    def __enter__(self) -> Packer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the blobs held in memory and any temporary files."""
        self.store.close()
        self._headers.clear()

    def write_zip(
        self,
        contents: Contents,
        destination: Path,
        *,
        check: Callable[[int], object] | None = None,
    ) -> Bundle:
        """Write `contents` to `destination` through a temporary file renamed into place.

        `check(zipped_size)` runs before the rename; if it raises, nothing is left behind.
        Every size is that of the bytes read: a file whose size changed since it was
        listed (and checked against Lambda's limits) is refused.
        """
        destination.parent.mkdir(parents=True, exist_ok=True)
        members = self._deflate(contents)
        for entry, member in zip(contents.entries, members, strict=True):
            if entry.data is None and member.size != entry.size:
                raise changed_size(entry.source, entry.size, member.size)
        with write_atomically(destination, f".{destination.name}.") as pending:
            writer = ZipWriter(pending.stream.fileno(), self.stamp, self._headers)
            for entry, member in zip(contents.entries, members, strict=True):
                writer.add(entry.arcname, member, executable=entry.executable)
            digest = writer.finish()
            zipped = writer.position
            if check is not None:
                check(zipped)
        unzipped = sum(member.size for member in members)
        return Bundle(
            path=destination,
            sha256=digest,
            zipped=zipped,
            unzipped=unzipped,
            files=len(contents.entries),
        )

    def _deflate(self, contents: Contents) -> list[Deflated]:
        """The deflated members of `contents`, in order (in a build, `pack_all` has
        deflated its files on every thread already: these are found in the store)."""
        store = self.store
        return [
            store.deflate_bytes(e.data)
            if e.data is not None
            else store.deflate_file(e.source, e.size)
            for e in contents.entries
        ]


def write_zip(
    contents: Contents,
    destination: Path,
    *,
    check: Callable[[int], object] | None = None,
) -> Bundle:
    """Write one zip with a packer of its own (see `Packer.write_zip`); no cache."""
    with Packer() as packer:
        return packer.write_zip(contents, destination, check=check)


def write_text_atomically(destination: Path, text: str) -> None:
    """Write a text file through a temporary name renamed into place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with write_atomically(destination, f".{destination.name}.") as pending:
        pending.stream.write(text.encode("utf-8"))
