"""Reading blobs back from the cache folder (a pack's record, else a blob file of its own),
each checked before use: a damaged or forged one is dropped, never shipped. `BlobStore`
does the compressing and writing; this is its reading half."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bundler.store import packs
from bundler.store.blobfile import (
    HEADER,
    Damaged,
    blob_path,
    inflates_to,
    parse_record,
    read_blob_file,
    read_blob_range,
)
from bundler.store.deflated import Deflated
from bundler.store.folder import CacheFolder, remove_entry


@dataclass(kw_only=True)
class BlobStats:
    """What a store did in one run."""

    compressed: int = 0  # distinct contents deflated
    compressed_bytes: int = 0  # their uncompressed size
    loaded: int = 0  # blobs found in the cache folder
    reused: int = 0  # requests answered from memory
    repaired: int = 0  # damaged blobs deleted and compressed again


class BlobLoader:
    """The cache-reading methods of `BlobStore`, which sets these attributes."""

    cache: CacheFolder | None
    level: int
    stats: BlobStats
    _lock: threading.Lock
    _root: Path
    _index: dict[bytes, list[packs.Location]] | None

    def _reserve(self, size: int) -> bool:
        raise NotImplementedError

    def _load(self, digest: bytes) -> Deflated | None:
        """The blob from a pack, else its own file, checked; None if absent or damaged,
        or when the cache fails (it is given up)."""
        assert self.cache is not None
        try:
            with self._lock:
                if self._index is None:
                    self._index = packs.read_indexes(self._root / "packs")
                locations = self._index.get(digest, ())
            for location in locations:
                found = self._genuine(digest, self._load_packed(digest, location))
                if found is not None:
                    return found
            own = blob_path(self._root, digest)
            return self._genuine(digest, self._load_file(digest), own)
        except OSError as error:
            self.cache.fail(error, Path(error.filename) if error.filename else self._root)
            return None

    def _load_packed(self, digest: bytes, location: packs.Location) -> Deflated | None:
        """A pack's record, checked; None if absent or damaged (then counted as repaired)."""
        record = packs.read_record(location)
        if record is None:  # merged into another pack meanwhile
            return None
        fields = parse_record(digest, self.level, record)
        kept = fields is not None and self._reserve(fields[2])
        data = record[HEADER.size :] if kept else None
        return self._loaded(fields, data, location.path, location.offset + HEADER.size)

    def _load_file(self, digest: bytes) -> Deflated | None:
        """The blob's own file, checked; None if absent or damaged (deleted)."""
        path = blob_path(self._root, digest)
        try:
            crc, size, compressed_size, data = read_blob_file(
                path, digest, self.level, self._reserve
            )
        except FileNotFoundError:
            return None
        except Damaged:
            remove_entry(path)
            return self._loaded(None, None, path, 0)
        return self._loaded((crc, size, compressed_size), data, path, HEADER.size)

    def _loaded(
        self, fields: tuple[int, int, int] | None, data: bytes | None, path: Path, offset: int
    ) -> Deflated | None:
        """A blob read from the cache (its bytes in `data`, else in `path` from `offset`),
        counted as loaded; None, counted as repaired, when it did not check out."""
        with self._lock:
            if fields is None:
                self.stats.repaired += 1
                return None
            self.stats.loaded += 1
        crc, size, compressed_size = fields
        if data is not None:
            return Deflated(crc32=crc, size=size, compressed_size=compressed_size, data=data)
        return Deflated(
            crc32=crc, size=size, compressed_size=compressed_size, path=path, offset=offset
        )

    def _genuine(
        self, digest: bytes, blob: Deflated | None, own_file: Path | None = None
    ) -> Deflated | None:
        """`blob` if it inflates to the content `digest` names; a forged or damaged one is
        dropped (and compressed again by the caller), never shipped."""
        if blob is None:
            return None
        if blob.data is not None:
            stream: Iterable[bytes] = [blob.data]
        else:
            assert blob.path is not None  # a blob is in memory or in a file
            stream = read_blob_range(blob.path, blob.offset, blob.compressed_size)
        if inflates_to(digest, blob.crc32, blob.size, stream):
            return blob
        with self._lock:
            self.stats.loaded -= 1
            self.stats.repaired += 1
        if own_file is not None:  # a pack's record is just not used: the pack stays
            with contextlib.suppress(OSError):
                remove_entry(own_file)
        return None
