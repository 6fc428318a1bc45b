"""A compressed member as the blob store keeps it and the zip writer copies it: a raw
deflate stream with its CRC and sizes, in memory or in a blob file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Deflated:
    """A member's raw deflate stream (RFC 1951, no zlib header), with its CRC and sizes.

    The bytes are `data`, or `compressed_size` bytes of the file `path` from `offset`.
    """

    crc32: int
    size: int
    compressed_size: int
    data: bytes | None = None
    path: Path | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError("a Deflated member needs exactly one of data and path")
        if self.data is not None and len(self.data) != self.compressed_size:
            raise ValueError("compressed_size does not match the data")
