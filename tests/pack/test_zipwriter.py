"""The zip writer: precomputed deflate streams in, zips that zipfile and unzip accept out."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import missing

from bundler.errors import BundlerError
from bundler.pack.zipwriter import ZIP32_LIMIT, ZipWriter
from bundler.store.deflated import Deflated

STAMP = (1980, 1, 1, 0, 0, 0)


def deflate(data: bytes) -> Deflated:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    compressed = compressor.compress(data) + compressor.flush()
    return Deflated(
        crc32=zlib.crc32(data), size=len(data), compressed_size=len(compressed), data=compressed
    )


def write(
    path: Path,
    members: list[tuple[str, Deflated, bool]],
    stamp: tuple[int, int, int, int, int, int] = STAMP,
) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        writer = ZipWriter(fd, stamp)
        for name, member, executable in members:
            writer.add(name, member, executable=executable)
        return writer.finish()
    finally:
        os.close(fd)


def with_zipfile(path: Path, members: dict[str, bytes], executable: set[str]) -> None:
    """What bundler.pack.packer wrote with zipfile before this writer existed."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (0o100000 | (0o755 if name in executable else 0o644)) << 16
            info.file_size = len(data)
            with archive.open(info, "w") as target:
                target.write(data)


MEMBERS = {
    "handler.py": b"def handler(event, context):\n    return 1\n",
    "pkg/__init__.py": b"",
    "pkg/data.json": b'{"a": 1}\n' * 5000,
    "pkg/caf\u00e9/\u65e5\u672c.txt": b"unicode name\n",
    "pkg/random.bin": bytes(range(256)) * 300,
    "pkg/tool.sh": b"#!/bin/sh\necho hi\n",
}


def test_same_bytes_as_zipfile(tmp_path: Path) -> None:
    members = [(n, deflate(d), n == "pkg/tool.sh") for n, d in MEMBERS.items()]
    digest = write(tmp_path / "mine.zip", members)
    with_zipfile(tmp_path / "theirs.zip", MEMBERS, {"pkg/tool.sh"})
    mine = (tmp_path / "mine.zip").read_bytes()
    assert mine == (tmp_path / "theirs.zip").read_bytes()
    assert digest == hashlib.sha256(mine).hexdigest()


def test_zipfile_reads_names_modes_and_data(tmp_path: Path) -> None:
    members = [(n, deflate(d), n == "pkg/tool.sh") for n, d in MEMBERS.items()]
    write(tmp_path / "fn.zip", members, stamp=(2023, 11, 14, 22, 13, 20))
    with zipfile.ZipFile(tmp_path / "fn.zip") as archive:
        assert archive.testzip() is None
        assert {n: archive.read(n) for n in archive.namelist()} == MEMBERS
        infos = archive.infolist()
    assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}
    assert {i.create_system for i in infos} == {3}
    assert {i.filename: stat.filemode(i.external_attr >> 16) for i in infos}[
        "pkg/tool.sh"
    ] == "-rwxr-xr-x"
    assert {stat.filemode(i.external_attr >> 16) for i in infos if i.filename != "pkg/tool.sh"} == {
        "-rw-r--r--"
    }


def test_unzip_accepts_it(tmp_path: Path) -> None:
    if shutil.which("unzip") is None:
        missing("the unzip command", "apt-get install unzip")
    write(tmp_path / "fn.zip", [(n, deflate(d), False) for n, d in MEMBERS.items()])
    done = subprocess.run(["unzip", "-t", str(tmp_path / "fn.zip")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No errors detected" in done.stdout


def test_members_copied_from_a_file_at_an_offset(tmp_path: Path) -> None:
    data = b"0123456789" * 200_000  # copied in several blocks
    member = deflate(data)
    assert member.data is not None
    blob = tmp_path / "blob"
    blob.write_bytes(b"HEADER" + member.data + b"TRAILER")
    from_file = Deflated(
        crc32=member.crc32,
        size=member.size,
        compressed_size=member.compressed_size,
        path=blob,
        offset=6,
    )
    write(tmp_path / "a.zip", [("big.txt", from_file, False), ("small", deflate(b"x"), False)])
    write(tmp_path / "b.zip", [("big.txt", member, False), ("small", deflate(b"x"), False)])
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.read("big.txt") == data


def test_a_blob_file_shorter_than_said_is_an_error(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"abc")
    member = Deflated(crc32=0, size=10, compressed_size=10, path=blob)
    with pytest.raises(OSError, match="ended 7 bytes early"):
        write(tmp_path / "fn.zip", [("a", member, False)])


def test_empty_zip(tmp_path: Path) -> None:
    write(tmp_path / "fn.zip", [])
    assert (tmp_path / "fn.zip").read_bytes() == b"PK\x05\x06" + bytes(18)
    with zipfile.ZipFile(tmp_path / "fn.zip") as archive:
        assert archive.namelist() == []


def test_more_than_65535_members_get_zip64_end_records(tmp_path: Path) -> None:
    empty = deflate(b"")
    names = [f"m/{i:05d}" for i in range(65_537)]
    write(tmp_path / "fn.zip", [(n, empty, False) for n in names])
    with zipfile.ZipFile(tmp_path / "fn.zip") as archive:
        assert archive.namelist() == names
        assert archive.read("m/65536") == b""


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (
            Deflated(crc32=0, size=ZIP32_LIMIT + 1, compressed_size=2, data=b"\x03\x00"),
            "'big' is 2,147,483,648",
        ),
        (
            Deflated(crc32=0, size=2, compressed_size=ZIP32_LIMIT + 1, path=Path("/nonexistent")),
            "'big' compresses to 2,147,483,648",
        ),
    ],
)
def test_refuses_what_needs_zip64(tmp_path: Path, member: Deflated, message: str) -> None:
    with pytest.raises(BundlerError) as caught:
        write(tmp_path / "fn.zip", [("big", member, False)])
    assert str(caught.value) == (
        f"the zip is too large: member {message}, past the 2,147,483,647 bytes a zip holds "
        "without zip64; AWS Lambda takes at most 50 MiB zipped and 250 MiB unzipped: "
        "ship fewer or smaller files"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of data and path"),
        ({"data": b"ab", "path": Path("x")}, "exactly one of data and path"),
        ({"data": b"abc"}, "compressed_size does not match the data"),
    ],
)
def test_deflated_is_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Deflated(crc32=0, size=1, compressed_size=2, **kwargs)  # type: ignore[arg-type]


def test_bad_names_and_double_finish(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "fn.zip", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        writer = ZipWriter(fd, STAMP)
        for bad in ("", "a\0b"):
            with pytest.raises(ValueError, match="invalid member name"):
                writer.add(bad, deflate(b""))
        writer.finish()
        with pytest.raises(ValueError, match="already finished"):
            writer.finish()
        with pytest.raises(ValueError, match="already finished"):
            writer.add("a", deflate(b""))
    finally:
        os.close(fd)


NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\\/"),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    members=st.dictionaries(
        st.lists(NAMES, min_size=1, max_size=3).map("/".join),
        st.one_of(
            st.just(b""), st.binary(max_size=3000), st.binary(max_size=8).map(lambda b: b * 500)
        ),
        max_size=8,
    ),
    executable=st.booleans(),
)
def test_random_members_read_back_equal(
    tmp_path: Path, members: dict[str, bytes], executable: bool
) -> None:
    names = sorted(members)
    path = tmp_path / "fn.zip"
    write(path, [(n, deflate(members[n]), executable) for n in names])
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == names
        assert {n: archive.read(n) for n in names} == members
    with_zipfile(
        tmp_path / "theirs.zip", {n: members[n] for n in names}, set(names) if executable else set()
    )
    assert path.read_bytes() == (tmp_path / "theirs.zip").read_bytes()
