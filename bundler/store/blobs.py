"""A content-addressed store of deflated file contents: each distinct content compressed once.

The key is the sha256 of a file's bytes (always hashed here, never taken from a RECORD:
an installed file edited after installation must ship as it is on disk) and the
compression level. One run keeps what it found in memory; a cache folder keeps it between
runs: the small blobs a run compresses go into one pack (`bundler.store.packs`) when the store
closes, a large one into a file of its own at once (`bundler.store.blobfile` has the format):

    <cache>/blobs/zlib-<version>/level-<n>/packs/pack-<64 hex>.pack
    <cache>/blobs/zlib-<version>/level-<n>/<2 hex>/<62 hex>

Everything is written to a temporary name and renamed into place, so concurrent builds
never see half a blob; every blob read is checked once per run, and a damaged one is
compressed again, never shipped. The zlib version is part of the path: another zlib may
compress differently, and a warm cache must give the same bytes as a cold build. The
cache only saves time: at the first fault in it (a full disk, a folder made read-only)
the store gives it up (`CacheFolder.fail`, one warning) and goes on without it.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from bundler.errors import BundlerError, Problem
from bundler.files import open_shipped
from bundler.store import packs
from bundler.store.blobcache import BlobLoader, BlobStats
from bundler.store.blobfile import (
    CHUNK,
    HEADER,
    Changed,
    blob_path,
    deflate_blocks,
    make_header,
    read_blob_range,
    write_blob_file,
)
from bundler.store.deflated import Deflated
from bundler.store.folder import CacheFolder, ScratchFolder

DEFAULT_LEVEL = 6  # zlib's default, what zipfile's ZIP_DEFLATED uses
_WHOLE = 8 * 1024 * 1024  # files up to this size are read whole, larger ones streamed
_SMALL = 64 * 1024  # compressed blobs up to this size go into the run's pack, larger ones
# into a file of their own; both stay in memory up to _KEPT each and _MEMORY_BUDGET in all,
# so that copying them into every zip that holds them reads no file (at 100 functions
# over numpy, boto3...: 38 MB of blobs, copied into 1.3 GB of zips)
_KEPT = 16 * 1024 * 1024
_MEMORY_BUDGET = 128 * 1024 * 1024


class BlobStore(BlobLoader):
    """Deflated contents by sha256, for one build; safe to call from several threads.

    `cache` is the cache folder (blobs go under `cache/blobs`), or None for no cache.
    Large blobs that cannot go there spill to a temporary folder removed by `close()`.
    """

    def __init__(self, cache: CacheFolder | Path | None, *, level: int = DEFAULT_LEVEL) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"compression level {level} is not between 0 and 9")
        self.level = level
        self.stats = BlobStats()
        self.cache = CacheFolder(cache) if isinstance(cache, Path) else cache
        base = self.cache.path if self.cache else Path()
        self._root = base / "blobs" / f"zlib-{zlib.ZLIB_RUNTIME_VERSION}" / f"level-{level}"
        self._spill = ScratchFolder("bundler-blobs-")  # large blobs the cache cannot take
        self._lock = threading.Lock()
        self._key_locks: dict[bytes, threading.Lock] = {}
        self._by_digest: dict[bytes, Deflated] = {}
        self._by_source: dict[tuple[str, int], Deflated] = {}
        self._memory = 0
        self._folders: set[Path] = set()
        self._index: dict[bytes, list[packs.Location]] | None = None
        self._pending: list[tuple[bytes, bytes, bytes]] = []  # (digest, header, compressed)

    @property
    def _persistent(self) -> bool:
        return self.cache is not None and self.cache.usable

    def close(self) -> None:
        """Write this run's new blobs as a pack, forget them, remove any temporary folder."""
        self._spill.remove()
        with self._lock:
            pending, self._pending = self._pending, []
            self._by_digest.clear()
            self._by_source.clear()
            self._memory = 0
        if pending and self.cache is not None and self._persistent:
            folder = self._root / "packs"
            try:
                self.cache.make_folder(folder)
                packs.write_pack(folder, ((d, h + c) for d, h, c in pending))
            except OSError as error:
                self.cache.fail(error, folder)

    def deflate_bytes(self, data: bytes) -> Deflated:
        """The deflated form of `data` (an in-memory member such as a rewritten RECORD)."""
        digest = hashlib.sha256(data).digest()
        return self._get(digest, lambda: self._compress_bytes(digest, data))

    def deflate_file(self, path: Path, size: int) -> Deflated:
        """The deflated form of the file `path`, whose size was `size` when listed.

        Within one run a file is read once: later calls with the same path and size
        are answered from memory (files are not expected to change during a build).
        """
        source = (str(path), size)
        with self._lock:
            found = self._by_source.get(source)
            if found is not None:
                self.stats.reused += 1
                return found
        data = _read_whole(path, size) if size <= _WHOLE else None
        if data is not None:  # the bytes read, whatever the listed size said
            digest = hashlib.sha256(data).digest()
            blob = self._get(digest, lambda: self._compress_bytes(digest, data))
        else:  # large, or grown past _WHOLE since it was listed: streamed
            digest = _hash_file(path)
            blob = self._get(digest, lambda: self._compress_file(digest, path))
        with self._lock:
            self._by_source[source] = blob
        return blob

    def _get(self, digest: bytes, compress: Callable[[], Deflated]) -> Deflated:
        """From memory, else the cache folder, else `compress()`: once per digest."""
        with self._lock:
            found = self._by_digest.get(digest)
            if found is not None:
                self.stats.reused += 1
                return found
            key_lock = self._key_locks.setdefault(digest, threading.Lock())
        with key_lock:
            with self._lock:
                found = self._by_digest.get(digest)
            if found is not None:
                with self._lock:
                    self.stats.reused += 1
                return found
            blob = self._load(digest) if self._persistent else None
            if blob is None:
                blob = compress()
            with self._lock:
                self._by_digest[digest] = blob
                self._key_locks.pop(digest, None)
        return blob

    def _compress_bytes(self, digest: bytes, data: bytes) -> Deflated:
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        compressed = compressor.compress(data) + compressor.flush()
        crc, size = zlib.crc32(data), len(data)
        self._count(size)
        keep = self._reserve(len(compressed))
        if keep and len(compressed) <= _SMALL and self._persistent:  # into this run's pack
            digested = hashlib.sha256(compressed)
            header = make_header(digest, self.level, crc, size, digested, len(compressed))
            with self._lock:
                self._pending.append((digest, header, compressed))
        elif keep:  # a file of its own in the cache, a copy in memory
            self._to_cache(digest, lambda: ((compressed,), lambda: (crc, size)))
        if keep:
            return Deflated(crc32=crc, size=size, compressed_size=len(compressed), data=compressed)
        path, _ = self._publish(digest, lambda: ((compressed,), lambda: (crc, size)))
        return Deflated(
            crc32=crc, size=size, compressed_size=len(compressed), path=path, offset=HEADER.size
        )

    def _compress_file(self, digest: bytes, path: Path) -> Deflated:
        """Stream a large file through zlib into the blob file, never whole in memory."""
        streams: list[tuple[Iterable[bytes], Callable[[], tuple[int, int]]]] = []

        def stream() -> tuple[Iterable[bytes], Callable[[], tuple[int, int]]]:
            streams.append(deflate_blocks(_read_blocks(path), digest, self.level))
            return streams[-1]

        try:
            blob_path, compressed_size = self._publish(digest, stream)
        except _SourceFailed as failed:
            raise failed.error from None
        except Changed:
            raise BundlerError(
                Problem(
                    "this file changed while it was being bundled",
                    file=path,
                    hint="build again once nothing writes to the environment",
                )
            ) from None
        crc, size = streams[-1][1]()
        self._count(size)
        if self._reserve(compressed_size):  # read back once, not once per zip
            data = b"".join(read_blob_range(blob_path, HEADER.size, compressed_size))
            if len(data) == compressed_size:
                return Deflated(crc32=crc, size=size, compressed_size=compressed_size, data=data)
        return Deflated(
            crc32=crc,
            size=size,
            compressed_size=compressed_size,
            path=blob_path,
            offset=HEADER.size,
        )

    def _publish(
        self,
        digest: bytes,
        stream: Callable[[], tuple[Iterable[bytes], Callable[[], tuple[int, int]]]],
    ) -> tuple[Path, int]:
        """Write a blob file (see `blobfile.write_blob_file`) into the cache, else into
        the spill folder; its path and compressed size. `stream()` gives the compressed
        blocks and the (crc32, size) they come to, afresh for each attempt."""
        found = self._to_cache(digest, stream)
        if found is not None:
            return found
        final = blob_path(Path(tempfile.gettempdir()), digest)  # named in an error
        try:
            final = blob_path(self._spill.path(), digest)
            final.parent.mkdir(exist_ok=True)
            return final, write_blob_file(final, digest, self.level, *stream())
        except OSError as error:
            raise BundlerError(
                Problem(
                    f"cannot write a temporary file: {error.strerror or error}",
                    file=final.parent,
                    hint="free some space in the temporary folder (TMPDIR)",
                )
            ) from None

    def _to_cache(
        self,
        digest: bytes,
        stream: Callable[[], tuple[Iterable[bytes], Callable[[], tuple[int, int]]]],
    ) -> tuple[Path, int] | None:
        """`_publish` into the cache folder; None when there is none or it failed (given up)."""
        if self.cache is None or not self.cache.usable:
            return None
        final = blob_path(self._root, digest)
        try:
            if final.parent not in self._folders:  # mkdir costs as much as a small write
                self.cache.make_folder(final.parent)
                self._folders.add(final.parent)
            return final, write_blob_file(final, digest, self.level, *stream())
        except OSError as error:
            self.cache.fail(error, final)
        return None

    def _reserve(self, size: int) -> bool:
        """Whether a blob of `size` compressed bytes may stay in memory (and count it)."""
        if size > _KEPT:
            return False
        with self._lock:
            if self._memory + size > _MEMORY_BUDGET:
                return False
            self._memory += size
            return True

    def _count(self, size: int) -> None:
        with self._lock:
            self.stats.compressed += 1
            self.stats.compressed_bytes += size


class _SourceFailed(Exception):
    """Reading the file being compressed failed (not the cache: its error stays its own)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def _read_blocks(path: Path) -> Iterator[bytes]:
    """A file being compressed, block by block; a read error is a `_SourceFailed`."""
    try:
        with open_shipped(path) as stream:
            yield from iter(lambda: stream.read(CHUNK), b"")
    except OSError as error:
        raise _SourceFailed(error) from error


def _read_whole(path: Path, size: int) -> bytes | None:
    """The whole file if it still holds at most _WHOLE bytes, else None."""
    with open_shipped(path, size) as stream:
        data = stream.read(_WHOLE + 1)
    return data if len(data) <= _WHOLE else None


def _hash_file(path: Path) -> bytes:
    """The sha256 of a file being compressed, re-checked as shipped."""
    digest = hashlib.sha256()
    with open_shipped(path) as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.digest()
