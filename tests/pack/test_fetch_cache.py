"""`--fetch-wheels` with a cache that cannot be trusted: damaged wheels are downloaded
again, damaged unpacked folders unpacked again, damaged downloads are clear errors, and
builds sharing one cache at the same time never crash.

The wheels are tiny ones served by pip from a local folder (PIP_NO_INDEX, PIP_FIND_LINKS):
no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fault_support import CACHE_HINT, MOUNT, make_kind, needs_mount
from fetch_support import ARM311, ARM_WHEEL, DAMAGED, PAYLOAD, elf, rewrite
from support import bounded

from bundler.pack.fetch import FetchedWheel, FetchError, fetch_wheel


def fetch(cache: Path, **options: object) -> FetchedWheel:
    return bounded(lambda: fetch_wheel("tiny", "2.0", ARM311, cache, **options))  # type: ignore[arg-type]


def shipped(fetched: FetchedWheel) -> dict[str, bytes]:
    return {f.arcname: f.source.read_bytes() for f in fetched.distribution.files}


def test_fetch_from_the_index_then_from_the_cache(tmp_path: Path, house: Path) -> None:
    first = fetch(tmp_path / "cache")
    assert first.wheel == tmp_path / "cache" / "wheels" / ARM_WHEEL
    assert first.wheel.read_bytes() == (house / ARM_WHEEL).read_bytes()
    again = fetch(tmp_path / "cache", pip=("false",))  # pip is never run
    assert again == first
    assert shipped(again)["tiny/payload.bin"] == PAYLOAD
    assert [p.name for p in (tmp_path / "cache" / "wheels").iterdir()] == [ARM_WHEEL]


def damage_wheel(wheel: Path, how: str) -> None:
    info = "tiny-2.0.dist-info/RECORD"
    if how == "truncated":
        wheel.write_bytes(wheel.read_bytes()[: wheel.stat().st_size // 2])
    elif how in ("folder", "fifo", "dangling-link", "empty"):
        wheel.unlink()
        make_kind(wheel, how)
    else:
        change = {
            "record-malformed": {info: b"tiny/__init__.py\n"},
            "record-not-utf8": {info: b"tiny/\xff\xfe.py,,\n"},
            "member-edited": {"tiny/__init__.py": b"X = 666\n"},
        }[how]
        rewrite(wheel, change).replace(wheel)


WHEEL_DAMAGE = [
    "truncated",
    "folder",
    "fifo",
    "dangling-link",
    "empty",
    "record-malformed",
    "record-not-utf8",
    "member-edited",
]


@pytest.mark.parametrize("how", WHEEL_DAMAGE)
def test_a_damaged_cached_wheel_is_downloaded_again(tmp_path: Path, house: Path, how: str) -> None:
    cache = tmp_path / "cache"
    first = fetch(cache)
    expected = shipped(first)
    shutil.rmtree(cache / "targets")  # so the cached wheel is unpacked again
    damage_wheel(first.wheel, how)
    again = fetch(cache)
    assert again.wheel.read_bytes() == (house / ARM_WHEEL).read_bytes()
    assert shipped(again) == expected


def without_record(wheel: Path) -> None:
    copy = wheel.with_name("copy.whl")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(copy, "w") as target:
        for info in source.infolist():
            if not info.filename.endswith("/RECORD"):
                target.writestr(info, source.read(info))
    copy.replace(wheel)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        (
            "truncated",  # pip checks this one itself
            "pip could not download tiny==2.0 for python3.11 on arm64: ERROR: Wheel 'tiny' "
            "located at {house}/" + ARM_WHEEL + " is invalid.; check the network and the "
            "index (PIP_INDEX_URL), then build again",
        ),
        ("no-record", f"{ARM_WHEEL} has no tiny-2.0.dist-info/RECORD; {DAMAGED}"),
        ("record-not-utf8", f"{ARM_WHEEL}: tiny-2.0.dist-info/RECORD is not UTF-8; {DAMAGED}"),
        (
            "record-malformed",
            f"{ARM_WHEEL}: line 1 of tiny-2.0.dist-info/RECORD is not PATH,HASH,SIZE; {DAMAGED}",
        ),
        (
            "member-edited",
            f"{ARM_WHEEL}: tiny/__init__.py does not match its RECORD hash; {DAMAGED}",
        ),
    ],
)
def test_a_damaged_download_is_a_clear_error(
    tmp_path: Path, house: Path, how: str, message: str
) -> None:
    if how == "no-record":
        without_record(house / ARM_WHEEL)
    else:
        damage_wheel(house / ARM_WHEEL, how)
    with pytest.raises(FetchError) as raised:
        fetch(tmp_path / "cache")
    assert str(raised.value) == message.format(house=house)
    assert list((tmp_path / "cache").rglob("*.whl")) == []  # nothing damaged is kept
    assert list((tmp_path / "cache").rglob("*.py")) == []


def damage_folder(folder: Path, how: str) -> None:
    record = folder / "tiny-2.0.dist-info" / "RECORD"
    module = folder / "tiny" / "__init__.py"
    if how == "file-edited":
        module.write_text("X = 666\n")
    elif how == "file-deleted":
        module.unlink()
    elif how == "file-a-link-outside":
        module.unlink()
        module.symlink_to("/etc/hostname")
    elif how == "file-a-fifo":
        module.unlink()
        os.mkfifo(module)
    elif how == "record-malformed":
        record.write_text("tiny/__init__.py\n")
    elif how == "record-not-utf8":
        record.write_bytes(b"\xff\xfe\n")
    elif how == "record-missing":
        record.unlink()
    elif how == "folder-a-file":
        shutil.rmtree(folder)
        folder.write_text("not a folder")
    else:
        raise AssertionError(how)


FOLDER_DAMAGE = [
    "file-edited",
    "file-deleted",
    "file-a-link-outside",
    "file-a-fifo",
    "record-malformed",
    "record-not-utf8",
    "record-missing",
    "folder-a-file",
]


@pytest.mark.parametrize("how", FOLDER_DAMAGE)
def test_a_damaged_unpacked_folder_is_unpacked_again(tmp_path: Path, house: Path, how: str) -> None:
    cache = tmp_path / "cache"
    first = fetch(cache)
    expected = shipped(first)
    damage_folder(cache / "targets" / "python3.11-arm64" / "tiny-2.0", how)
    again = fetch(cache, pip=("false",))  # from the cached wheel, no download
    assert shipped(again) == expected
    assert not (
        cache / "targets" / "python3.11-arm64" / "tiny-2.0" / "tiny" / "__init__.py"
    ).is_symlink()


# --- whole builds -----------------------------------------------------------------------


def build_command(python: Path, *arguments: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bundler",
        "build",
        "--python",
        str(python),
        "--arch",
        "arm64",
        "--fetch-wheels",
        *arguments,
    ]


def arm_zip(out: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(out / "uses.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_two_builds_fetching_into_one_cache_at_once(arm_site: tuple[Path, Path]) -> None:
    site, python = arm_site
    for round_ in range(2):  # a cold cache; then wheels cached, folders unpacked by both
        shutil.rmtree(site / "shared" / "targets", ignore_errors=True)
        running = [
            subprocess.Popen(
                build_command(python, "--cache-dir", "shared", "--out", f"out{n}"),
                cwd=site,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        errors = [p.communicate(timeout=300)[1] for p in running]
        assert [p.returncode for p in running] == [0, 0], errors
        assert all("Traceback" not in e and "warning" not in e for e in errors), errors
        first, second = arm_zip(site / "out0"), arm_zip(site / "out1")
        assert first == second, round_
        assert first["tiny/_speed.cpython-311-aarch64-linux-gnu.so"] == elf(183)
        assert first["tiny/payload.bin"] == PAYLOAD
    fresh = subprocess.run(
        build_command(python, "--no-cache", "--out", "fresh"),
        cwd=site,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert fresh.returncode == 0, fresh.stderr
    assert arm_zip(site / "fresh") == arm_zip(site / "out0")
    assert list((site / "shared").rglob(".tmp-*")) == []


@needs_mount
def test_a_cache_that_fills_up_while_fetching(arm_site: tuple[Path, Path]) -> None:
    site, python = arm_site
    (site / ".bundle-cache").mkdir()
    command = ["unshare", "--mount", "sh", "-c", MOUNT.format(fill=""), "sh"]
    done = subprocess.run(
        [*command, *build_command(python)],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("warning")] == [
        "warning: .bundle-cache: cannot use the cache folder, building without it: "
        f"No space left on device; {CACHE_HINT}"
    ]
    assert arm_zip(site / "dist" / "functions")["tiny/payload.bin"] == PAYLOAD
