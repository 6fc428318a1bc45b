"""A deterministic zip writer for members whose deflate stream is computed ahead of time.

The layout is the one `zipfile` writes for a seekable file (CRC and sizes in the local
header, no data descriptor, no extra fields), so a zip from here reads like one from
`zipfile`; the difference is that the compressed bytes are copied, never recomputed. The
writer hashes the zip as it goes: the caller never reads it back.

No zip64 for members or offsets: every size and offset must stay at or under
`ZIP32_LIMIT`, the limit `zipfile` itself uses before it switches to zip64 (AWS Lambda
takes 50 MiB zipped and 250 MiB unzipped). More than 65,535 members get the zip64 end
records, as `zipfile` writes them.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from bundler.errors import BundlerError, Problem
from bundler.store.deflated import Deflated

ZIP32_LIMIT = (1 << 31) - 1  # zipfile.ZIP64_LIMIT: sizes and offsets past it need zip64
_FILECOUNT_LIMIT = 0xFFFF
_DEFLATED = 8
_VERSION = 20  # "2.0": deflate
_ZIP64_VERSION = 45
_UNIX = 3
_UTF8_NAME = 0x800
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL_HEAD = struct.Struct("<4s4B4HL2L5HL")  # a central record up to its offset...
_OFFSET = struct.Struct("<L")  # ...which differs in every zip, then the name
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_LOCATOR = struct.Struct("<4sLQL")
_BUFFER = 1024 * 1024
_HEADERS_KEPT = 200_000  # members whose headers a build keeps (~40 MB at most)

_Headers = tuple[bytes, bytes, bytes]  # local header, central record head, name
Headers = dict[tuple[str, bool, int, int, int], _Headers]
"""The headers of members already written in a build, shared by its `ZipWriter`s."""


class ZipWriter:
    """Writes members, in the order added, to a file descriptor opened for writing.

    Every member gets the same DOS timestamp `stamp`, unix mode 0644 (0755 if
    executable) and create_system 3, as `bundler.pack.packer` always wrote them. Call
    `finish()` once, after the last member, to write the central directory.
    """

    def __init__(
        self,
        fd: int,
        stamp: tuple[int, int, int, int, int, int],
        headers: Headers | None = None,
    ) -> None:
        self._fd = fd
        year, month, day, hour, minute, second = stamp
        self._date = (year - 1980) << 9 | month << 5 | day
        self._time = hour << 11 | minute << 5 | second // 2
        self._headers: Headers = {} if headers is None else headers
        self._central: list[bytes] = []  # the central directory records, in order, in pieces
        self._buffer = bytearray()
        self._position = 0
        self._digest = hashlib.sha256()
        self._finished = False

    @property
    def position(self) -> int:
        """Bytes written so far (the size of the zip once finished)."""
        return self._position

    def add(self, name: str, member: Deflated, *, executable: bool = False) -> None:
        """Append one member: its local header, then its compressed bytes."""
        if self._finished:
            raise ValueError("the zip is already finished")
        key = (name, executable, member.crc32, member.size, member.compressed_size)
        headers = self._headers.get(key)
        if headers is None:
            headers = self._make_headers(name, member, executable)
            if len(self._headers) < _HEADERS_KEPT:
                self._headers[key] = headers
        header, central, encoded = headers
        position = self._position
        if position > ZIP32_LIMIT:
            raise _too_large(f"member {name!r} starts at byte {position:,}")
        self._central += (central, _OFFSET.pack(position), encoded)
        data = member.data
        if data is not None and len(data) < _BUFFER:  # the common case, inlined
            buffer = self._buffer
            buffer += header
            buffer += data
            self._position = position + len(header) + member.compressed_size
            if len(buffer) >= _BUFFER:
                self._flush()
            return
        self._write(header)
        if data is not None:
            self._write(data)
        else:
            assert member.path is not None
            self._copy(member.path, member.offset, member.compressed_size)

    def _make_headers(self, name: str, member: Deflated, executable: bool) -> _Headers:
        """A member's local header, its central record up to the offset, and its name:
        the same in every zip of one build that holds this file under this name."""
        if not name or "\0" in name:
            raise ValueError(f"invalid member name {name!r}")
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_NAME
        crc, size, compressed_size = member.crc32, member.size, member.compressed_size
        for what, value in (("is", size), ("compresses to", compressed_size)):
            if value > ZIP32_LIMIT:
                raise _too_large(f"member {name!r} {what} {value:,}")
        mode = 0o755 if executable else 0o644
        common = (_DEFLATED, self._time, self._date, crc, compressed_size, size, len(encoded), 0)
        central = _CENTRAL_HEAD.pack(
            b"PK\x01\x02",
            _VERSION,
            _UNIX,
            _VERSION,
            0,
            flags,
            *common,
            0,
            0,
            0,
            (0o100000 | mode) << 16,
        )
        header = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, flags, *common) + encoded
        return header, central, encoded

    def finish(self) -> str:
        """Write the central directory and end records; return the zip's sha256 (hex)."""
        if self._finished:
            raise ValueError("the zip is already finished")
        self._finished = True
        start = self._position
        if start > ZIP32_LIMIT:
            raise _too_large(f"its central directory would start at byte {start:,}")
        self._write(b"".join(self._central))
        end = self._position
        count = len(self._central) // 3  # three pieces a member: see `add`
        size = end - start
        if size > ZIP32_LIMIT:
            raise _too_large(f"its central directory would take {size:,} bytes")
        if count > _FILECOUNT_LIMIT:
            self._write(
                _END64.pack(
                    b"PK\x06\x06",
                    44,
                    _ZIP64_VERSION,
                    _ZIP64_VERSION,
                    0,
                    0,
                    count,
                    count,
                    size,
                    start,
                )
            )
            self._write(_END64_LOCATOR.pack(b"PK\x06\x07", 0, end, 1))
            count = _FILECOUNT_LIMIT
        self._write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0))
        self._flush()
        return self._digest.hexdigest()

    def _write(self, data: bytes) -> None:
        self._position += len(data)
        if len(data) >= _BUFFER:
            self._flush()
            self._emit(data)
            return
        self._buffer += data
        if len(self._buffer) >= _BUFFER:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._emit(self._buffer)
            self._buffer.clear()

    def _emit(self, data: bytes | bytearray) -> None:
        self._digest.update(data)
        with memoryview(data) as view:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    def _copy(self, path: Path, offset: int, count: int) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            while count:
                block = os.pread(fd, min(count, _BUFFER), offset)
                if not block:
                    raise OSError(f"{path} ended {count} bytes early")
                self._write(block)
                offset += len(block)
                count -= len(block)
        finally:
            os.close(fd)


def _too_large(what: str) -> BundlerError:
    return BundlerError(
        Problem(
            f"the zip is too large: {what}, past the {ZIP32_LIMIT:,} bytes a zip holds "
            "without zip64",
            hint="AWS Lambda takes at most 50 MiB zipped and 250 MiB unzipped: "
            "ship fewer or smaller files",
        )
    )
