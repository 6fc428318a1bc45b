"""Deterministic, atomic zips: `write_zip`, `write_text_atomically`, `zip_timestamp`."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from build_support import HEALTHY, error_lines, make_site, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import missing

from bundler.errors import BundlerError, Problem, UsageError
from bundler.pack.contents import Contents, Entry
from bundler.pack.packer import ZIP_EPOCH, Packer, write_text_atomically, write_zip, zip_timestamp
from bundler.store import blobs
from bundler.store.packs import read_indexes


def make_contents(
    folder: Path, files: dict[str, bytes], executable: tuple[str, ...] = ()
) -> Contents:
    """Contents as collect_contents gives them: entries sorted by arcname."""
    entries = []
    for arcname in sorted(files):
        source = folder / "src" / arcname
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(files[arcname])
        source.chmod(0o755 if arcname in executable else 0o644)
        entries.append(
            Entry(
                arcname=arcname,
                source=source,
                owner="",
                size=len(files[arcname]),
                executable=arcname in executable,
            )
        )
    return Contents(tuple(entries))


FILES = {
    "handler.py": b"def handler(event, context):\n    return 1\n",
    "pkg/__init__.py": b"",
    "pkg/data.json": b'{"a": 1}\n' * 1000,
    "pkg/tool.sh": b"#!/bin/sh\n",
}


@pytest.fixture(autouse=True)
def _no_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def test_writes_a_valid_zip_with_its_hash_and_sizes(tmp_path: Path) -> None:
    contents = make_contents(tmp_path, FILES, executable=("pkg/tool.sh",))
    destination = tmp_path / "out" / "fn.zip"
    bundle = write_zip(contents, destination)
    data = destination.read_bytes()
    assert bundle.path == destination
    assert bundle.sha256 == hashlib.sha256(data).hexdigest()
    assert bundle.zipped == len(data)
    assert bundle.unzipped == sum(len(v) for v in FILES.values())
    assert bundle.files == 4
    with zipfile.ZipFile(destination) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == sorted(FILES)
        assert {n: archive.read(n) for n in archive.namelist()} == FILES
        infos = archive.infolist()
    assert {i.date_time for i in infos} == {ZIP_EPOCH}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    assert {i.create_system for i in infos} == {3}
    assert {i.filename: stat.filemode(i.external_attr >> 16) for i in infos} == {
        "handler.py": "-rw-r--r--",
        "pkg/__init__.py": "-rw-r--r--",
        "pkg/data.json": "-rw-r--r--",
        "pkg/tool.sh": "-rwxr-xr-x",
    }
    assert stat.S_IMODE(destination.stat().st_mode) == 0o644
    assert sorted(p.name for p in destination.parent.iterdir()) == ["fn.zip"]


def test_unzip_accepts_the_zip(tmp_path: Path) -> None:
    if shutil.which("unzip") is None:
        missing("the unzip command", "apt-get install unzip")
    destination = tmp_path / "fn.zip"
    write_zip(make_contents(tmp_path, FILES), destination)
    done = subprocess.run(["unzip", "-t", str(destination)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No errors detected" in done.stdout


def test_same_contents_same_bytes(tmp_path: Path) -> None:
    one = write_zip(make_contents(tmp_path / "a", FILES), tmp_path / "one.zip")
    two = write_zip(make_contents(tmp_path / "b", FILES), tmp_path / "two.zip")
    assert one.sha256 == two.sha256
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_empty_file_and_empty_contents(tmp_path: Path) -> None:
    bundle = write_zip(Contents(()), tmp_path / "empty.zip")
    assert bundle.files == 0 and bundle.unzipped == 0
    with zipfile.ZipFile(tmp_path / "empty.zip") as archive:
        assert archive.namelist() == []


def test_check_gets_the_zipped_size(tmp_path: Path) -> None:
    seen: list[int] = []
    bundle = write_zip(make_contents(tmp_path, FILES), tmp_path / "fn.zip", check=seen.append)
    assert seen == [bundle.zipped]


def test_check_raising_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()

    def refuse(zipped: int) -> None:
        raise BundlerError(Problem(f"too big: {zipped}"))

    with pytest.raises(BundlerError, match="too big"):
        write_zip(make_contents(tmp_path, FILES), out / "fn.zip", check=refuse)
    assert list(out.iterdir()) == []


def test_check_raising_keeps_the_previous_zip_whole(tmp_path: Path) -> None:
    destination = tmp_path / "fn.zip"
    destination.write_bytes(b"previous build")

    def refuse(_zipped: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_zip(make_contents(tmp_path, FILES), destination, check=refuse)
    assert destination.read_bytes() == b"previous build"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fn.zip", "src"]


def test_a_vanished_source_leaves_no_file(tmp_path: Path) -> None:
    contents = make_contents(tmp_path, FILES)
    contents.entries[-1].source.unlink()
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError):
        write_zip(contents, out / "fn.zip")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("value", "stamp"),
    [
        (None, (1980, 1, 1, 0, 0, 0)),
        ("", (1980, 1, 1, 0, 0, 0)),
        ("   ", (1980, 1, 1, 0, 0, 0)),  # empty: as if unset (the specification)
        ("-5", (1980, 1, 1, 0, 0, 0)),  # `date +%s` of 1969: clamped like any time before 1980
        ("-" + "9" * 5000, (1980, 1, 1, 0, 0, 0)),
        ("0", (1980, 1, 1, 0, 0, 0)),  # before 1980: the earliest a zip can say
        ("315532799", (1980, 1, 1, 0, 0, 0)),
        ("315532800", (1980, 1, 1, 0, 0, 0)),
        ("315532802", (1980, 1, 1, 0, 0, 2)),
        ("1700000000", (2023, 11, 14, 22, 13, 20)),
        (" 1700000000 ", (2023, 11, 14, 22, 13, 20)),
        ("\t1700000000\n", (2023, 11, 14, 22, 13, 20)),
        ("0000001700000000", (2023, 11, 14, 22, 13, 20)),
        ("4354819198", (2107, 12, 31, 23, 59, 58)),
        ("4354819200", (2107, 12, 31, 23, 59, 58)),  # 2108: after the last time a zip holds
        ("9" * 30, (2107, 12, 31, 23, 59, 58)),  # past what time.gmtime takes
        ("9" * 5000, (2107, 12, 31, 23, 59, 58)),  # past what int() parses by default
    ],
)
def test_zip_timestamp(
    monkeypatch: pytest.MonkeyPatch, value: str | None, stamp: tuple[int, ...]
) -> None:
    if value is not None:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert zip_timestamp() == stamp


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("not a number", "'not a number'"),
        ("1.5", "'1.5'"),
        ("1e9", "'1e9'"),
        ("12 34", "'12 34'"),
        ("0x10", "'0x10'"),
        ("+5", "'+5'"),
        ("1_700_000_000", "'1_700_000_000'"),  # int() takes it; `date +%s` never prints it
        ("\u0661\u0662", "'\u0661\u0662'"),  # Arabic-Indic digits: int() takes them too
        ("-", "'-'"),
        ("1" * 50 + "x", "'111111111111111111111111111111'... (51 characters)"),
    ],
)
def test_a_malformed_source_date_epoch_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, value: str, shown: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(UsageError) as caught:
        Packer()
    assert [p.format() for p in caught.value.problems] == [
        f"SOURCE_DATE_EPOCH={shown} is not a whole number of seconds since 1970; set it as "
        "`date +%s` or `git log -1 --format=%ct` prints it, or unset it"
    ]


def test_source_date_epoch_in_the_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = write_zip(make_contents(tmp_path / "a", FILES), tmp_path / "plain.zip")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = write_zip(make_contents(tmp_path / "b", FILES), tmp_path / "dated.zip")
    assert plain.sha256 != dated.sha256
    with zipfile.ZipFile(tmp_path / "dated.zip") as archive:
        assert {i.date_time for i in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_source_date_epoch_after_2107_is_clamped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "4354819200")  # 2108-01-01
    assert zip_timestamp() == (2107, 12, 31, 23, 59, 58)
    write_zip(make_contents(tmp_path, FILES), tmp_path / "fn.zip")


def test_write_text_atomically(tmp_path: Path) -> None:
    destination = tmp_path / "out" / "manifest.json"
    write_text_atomically(destination, "{}\n")
    write_text_atomically(destination, '{"a": 1}\n')
    assert destination.read_bytes() == b'{"a": 1}\n'
    assert stat.S_IMODE(destination.stat().st_mode) == 0o644
    assert [p.name for p in destination.parent.iterdir()] == ["manifest.json"]


def test_write_text_atomically_failure_leaves_the_old_file(tmp_path: Path) -> None:
    destination = tmp_path / "manifest.json"
    destination.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(destination, "bad \udc80 surrogate")
    assert destination.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_packer_compresses_shared_files_once(tmp_path: Path) -> None:
    contents = make_contents(tmp_path, FILES)
    with Packer() as packer:
        one = packer.write_zip(contents, tmp_path / "one.zip")
        two = packer.write_zip(contents, tmp_path / "two.zip")
        assert packer.store.stats.compressed == len(set(FILES.values()))
    assert one.sha256 == two.sha256 == write_zip(contents, tmp_path / "alone.zip").sha256


def test_members_shared_at_other_offsets_and_modes_read_back(tmp_path: Path) -> None:
    """A packer reuses a member's headers across zips: only the offset may differ, and a
    file shipped executable in one zip and not in another keeps its own mode in each."""
    first = make_contents(tmp_path / "a", {"a.py": b"A", **FILES})
    second = make_contents(tmp_path / "b", {"aa_longer.py": b"B" * 5000, **FILES}, ("pkg/tool.sh",))
    with Packer() as packer:
        shared = [packer.write_zip(c, tmp_path / f"{n}.zip") for n, c in enumerate((first, second))]
    alone = [write_zip(c, tmp_path / f"alone{n}.zip") for n, c in enumerate((first, second))]
    assert [b.sha256 for b in shared] == [b.sha256 for b in alone]
    for bundle, contents in zip(shared, (first, second), strict=True):
        with zipfile.ZipFile(bundle.path) as archive:
            assert archive.testzip() is None
            for entry in contents.entries:
                info = archive.getinfo(entry.arcname)
                assert archive.read(info) == entry.source.read_bytes()
                assert info.external_attr >> 16 == (0o100755 if entry.executable else 0o100644)


def test_in_memory_members(tmp_path: Path) -> None:
    contents = make_contents(tmp_path, FILES)
    record = Entry(
        arcname="pkg-1.0.dist-info/RECORD",
        source=tmp_path / "nowhere",
        owner="pkg",
        size=7,
        executable=False,
        data=b"a,b,c\n",
    )
    with_record = Contents(tuple(sorted((*contents.entries, record), key=lambda e: e.arcname)))
    write_zip(with_record, tmp_path / "fn.zip")
    with zipfile.ZipFile(tmp_path / "fn.zip") as archive:
        assert archive.read("pkg-1.0.dist-info/RECORD") == b"a,b,c\n"
        assert archive.namelist() == sorted([*FILES, "pkg-1.0.dist-info/RECORD"])


def test_same_bytes_with_a_cold_a_warm_and_no_cache(tmp_path: Path) -> None:
    contents = make_contents(tmp_path, FILES, executable=("pkg/tool.sh",))
    cache = tmp_path / "cache"
    plain = write_zip(contents, tmp_path / "plain.zip")
    with Packer(cache) as packer:
        cold = packer.write_zip(contents, tmp_path / "cold.zip")
    with Packer(cache) as packer:
        warm = packer.write_zip(contents, tmp_path / "warm.zip")
        assert packer.store.stats.compressed == 0
        assert packer.store.stats.loaded == len(set(FILES.values()))
    assert plain.sha256 == cold.sha256 == warm.sha256
    assert (tmp_path / "plain.zip").read_bytes() == (tmp_path / "warm.zip").read_bytes()


def test_a_damaged_cache_never_reaches_the_zip(tmp_path: Path) -> None:
    contents = make_contents(tmp_path, FILES)
    cache = tmp_path / "cache"
    with Packer(cache) as packer:
        good = packer.write_zip(contents, tmp_path / "good.zip")
    [folder] = cache.rglob("packs")
    for [location] in read_indexes(folder).values():
        data = bytearray(location.path.read_bytes())
        data[location.offset + location.length - 1] ^= 0x55  # a bit of the compressed bytes
        location.path.write_bytes(bytes(data))
    with Packer(cache) as packer:
        again = packer.write_zip(contents, tmp_path / "again.zip")
        assert packer.store.stats.repaired == len(set(FILES.values()))
    assert again.sha256 == good.sha256
    with zipfile.ZipFile(tmp_path / "again.zip") as archive:
        assert archive.testzip() is None


def test_threads_share_one_packer(tmp_path: Path) -> None:
    files = {f"mod{i}.py": (b"x = %d\n" % (i % 3)) * (100 + i % 3) for i in range(40)}
    contents = make_contents(tmp_path, {**FILES, **files})
    expected = write_zip(contents, tmp_path / "serial.zip").sha256
    with Packer(tmp_path / "cache") as packer, ThreadPoolExecutor(4) as pool:
        bundles = list(
            pool.map(lambda i: packer.write_zip(contents, tmp_path / f"fn{i}.zip"), range(8))
        )
        assert packer.store.stats.compressed == len(set(FILES.values()) | set(files.values()))
    assert {b.sha256 for b in bundles} == {expected}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.dictionaries(
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\\/."),
            min_size=1,
            max_size=12,
        ),
        st.one_of(
            st.just(b""), st.binary(max_size=2000), st.binary(max_size=4).map(lambda b: b * 999)
        ),
        max_size=6,
    )
)
def test_random_files_read_back_equal(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("random")
    contents = make_contents(folder, files)
    write_zip(contents, folder / "fn.zip")
    with zipfile.ZipFile(folder / "fn.zip") as archive:
        assert archive.testzip() is None
        assert {n: archive.read(n) for n in archive.namelist()} == files


# --- sizes are those of the bytes read ---------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_a_file_that_grew_since_it_was_listed_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    if streamed:  # files over _WHOLE are hashed, then streamed through zlib
        monkeypatch.setattr(blobs, "_WHOLE", 100)
    contents = make_contents(tmp_path, FILES)
    grown = tmp_path / "src" / "pkg" / "data.json"
    with grown.open("ab") as stream:
        stream.write(b"0123456789")
    out = tmp_path / "out"
    with pytest.raises(BundlerError) as caught:
        write_zip(contents, out / "fn.zip")
    how = "9,000 bytes when listed, 9,010 bytes " + ("read" if streamed else "now")
    assert [p.format() for p in caught.value.problems] == [
        f"{grown}: this file changed while it was being bundled ({how}); build again once "
        "nothing writes to it"
    ]
    assert list(out.iterdir()) == []


def test_a_file_grown_past_the_unzipped_limit_never_ships(tmp_path: Path) -> None:
    # listed (and checked against the 250 MiB limit) small, 260 MiB when it is read
    contents = make_contents(tmp_path, FILES)
    grown = tmp_path / "src" / "handler.py"
    os.truncate(grown, 260 * 1024 * 1024)  # sparse: no disk, and refused before any read
    with pytest.raises(BundlerError) as caught:
        write_zip(contents, tmp_path / "fn.zip")
    assert caught.value.problems[0].message == (
        "this file changed while it was being bundled (42 bytes when listed, 272,629,760 bytes now)"
    )
    assert not (tmp_path / "fn.zip").exists()


def test_the_bundle_reports_the_bytes_read(tmp_path: Path) -> None:
    contents = make_contents(tmp_path, FILES)
    bundle = write_zip(contents, tmp_path / "fn.zip")
    with zipfile.ZipFile(tmp_path / "fn.zip") as archive:
        assert bundle.unzipped == sum(i.file_size for i in archive.infolist())
    assert bundle.unzipped == contents.unzipped


def _write_in_a_thread(contents: Contents, destination: Path) -> BaseException | None:
    """write_zip, bounded in time: a FIFO opened by mistake would block it forever."""
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            write_zip(contents, destination)
            outcome.append(None)
        except BaseException as error:  # handed to the test
            outcome.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert outcome, "write_zip blocked: it opened a FIFO"
    return outcome[0]


@pytest.mark.parametrize("swap", ["fifo", "link"])
def test_a_file_swapped_after_it_was_checked_is_refused(tmp_path: Path, swap: str) -> None:
    contents = make_contents(tmp_path, FILES)
    swapped = tmp_path / "src" / "pkg" / "data.json"
    swapped.unlink()
    if swap == "fifo":
        os.mkfifo(swapped)
    else:
        swapped.symlink_to("/etc/passwd")
    error = _write_in_a_thread(contents, tmp_path / "out" / "fn.zip")
    assert isinstance(error, BundlerError)
    how = "it is not a regular file any more" if swap == "fifo" else "it is a link now"
    assert [p.format() for p in error.problems] == [
        f"{swapped}: this file changed while it was being bundled ({how}); build again once "
        "nothing writes to it"
    ]
    assert list((tmp_path / "out").iterdir()) == []


# --- SOURCE_DATE_EPOCH through the CLI -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stamp"),
    [
        ("-1", (1980, 1, 1, 0, 0, 0)),
        ("1700000000", (2023, 11, 14, 22, 13, 20)),
        ("99999999999999999999999999", (2107, 12, 31, 23, 59, 58)),
    ],
)
def test_source_date_epoch_out_of_range_builds_clamped(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, stamp: tuple[int]
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, python=python, env={"SOURCE_DATE_EPOCH": value})
    assert result.exit_code == 0, result.output
    for name in ("good.zip", "other.zip"):
        with zipfile.ZipFile(site / "dist" / "functions" / name) as archive:
            assert {i.date_time for i in archive.infolist()} == {stamp}


@pytest.mark.parametrize("value", ["1.5", "yesterday", "17 00000000"])
def test_a_malformed_source_date_epoch_stops_the_build(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, python=python, env={"SOURCE_DATE_EPOCH": value})
    assert result.exit_code == 2
    assert error_lines(result) == [
        f"error: SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds since 1970; set "
        "it as `date +%s` or `git log -1 --format=%ct` prints it, or unset it"
    ]
    assert list((site / "dist" / "functions").glob("*.zip")) == []
