"""Where results are written (`bundler.pack.destinations`): an `--out` that cannot be written is a
usage error before any work, and a build sweeps only the temporary files of killed builds.

Modes mean nothing to root, so the read-only and unreadable folders are tried as `nobody`
(support.run_unprivileged); a read-only file system is a real tmpfs mounted read-only in a
private mount namespace.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from build_support import VALID_MANIFEST, make_site
from fault_support import in_private_tmpfs, needs_mount
from support import can_run_unprivileged, give_to_nobody, run_unprivileged, unprivileged_folder

from bundler.errors import UsageError
from bundler.pack.destinations import (
    check_output_file,
    check_output_folder,
    claim_output_folder,
    sweep_leftovers,
)

HELLO = "def handler(event, context):\n    return {'statusCode': 200}\n"
OUT_HINT = "choose a folder you can write, e.g. --out dist/functions"
UNPRIVILEGED, WHY_NOT = can_run_unprivileged()
needs_nobody = pytest.mark.skipif(not UNPRIVILEGED, reason=WHY_NOT)


# --- sweeping: only our own temporary names, only when no other build writes there ---------

OURS = (".good.zip.abcd1234", ".send-background.zip.k_3x9z0q", ".manifest.json.0a1b2c3d")
NOT_OURS = (
    ".good.zip.abcd123",  # 7 characters: not what mkstemp makes
    ".good.zip.ABCD1234",  # upper case: neither
    ".good.zip.abcd1234.bak",
    "good.zip.abcd1234",
    ".bad.name.zip.abcd1234",  # not a function name
    ".manifest.json.bak",
    ".notes.txt.abcd1234",
    "good.zip",
    "manifest.json",
    "README",
)


@pytest.fixture
def littered(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for name in OURS + NOT_OURS:
        (out / name).write_text(name)
    (out / ".dir.zip.abcd1234").mkdir()  # a folder with our name: not a file we wrote
    (tmp_path / "target").write_text("kept\n")
    (out / ".link.zip.abcd1234").symlink_to(tmp_path / "target")
    return out


def test_sweep_removes_only_our_temporary_files(littered: Path) -> None:
    assert sweep_leftovers(littered) == tuple(sorted(OURS))
    assert sorted(p.name for p in littered.iterdir()) == sorted(
        [*NOT_OURS, ".dir.zip.abcd1234", ".link.zip.abcd1234"]
    )
    assert (littered.parent / "target").read_text() == "kept\n"


def test_no_sweep_while_another_build_writes_there(littered: Path) -> None:
    # a running build holds the folder shared: its temporary files are not leftovers
    handle = os.open(littered, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)
        with claim_output_folder(littered) as swept:
            assert swept == ()
        assert all((littered / name).exists() for name in OURS)
    finally:
        os.close(handle)
    with claim_output_folder(littered) as swept:
        assert swept == tuple(sorted(OURS))
        # and while this build holds it, a second build does not sweep either
        (littered / OURS[0]).write_text("a live temporary file")
        with claim_output_folder(littered) as second:
            assert second == ()
    assert (littered / OURS[0]).exists()


def test_a_build_sweeps_its_out_folder(python: Path, tmp_path: Path) -> None:
    from bundler.build import build

    site = make_site(tmp_path / "site", {"good.py": "import tinydist\n" + HELLO})
    out = site / "dist" / "functions"
    out.mkdir(parents=True)
    for name in (".good.zip.zzzz9999", ".manifest.json.zzzz9999", ".good.zip.keep"):
        (out / name).write_text("left by a killed build")
    result = build(site, python=python)
    assert result.ok
    assert sorted(p.name for p in out.iterdir()) == [".good.zip.keep", "good.zip", "manifest.json"]


# --- an --out that cannot be written: a usage error before any work ------------------------


def test_existing_writable_folder_passes_and_keeps_no_probe(tmp_path: Path) -> None:
    check_output_folder(tmp_path)
    check_output_folder(tmp_path / "new" / "deeper")
    assert list(tmp_path.iterdir()) == []  # nothing created, the probe removed


@pytest.mark.parametrize(
    ("out", "reason"),
    [
        ("notes.txt", "{root}/notes.txt is a file, not a folder"),
        ("notes.txt/zips", "{root}/notes.txt is a file, not a folder"),
        ("notes.txt/a/b", "{root}/notes.txt is a file, not a folder"),
    ],
)
def test_output_folder_that_is_or_is_under_a_file(tmp_path: Path, out: str, reason: str) -> None:
    (tmp_path / "notes.txt").write_text("a file\n")
    with pytest.raises(UsageError) as raised:
        check_output_folder(tmp_path / out)
    assert str(raised.value) == (
        f"cannot write in the output folder {tmp_path / out}: "
        f"{reason.format(root=tmp_path)}; {OUT_HINT}"
    )
    check_output_file(tmp_path / "page.html", "--html")
    with pytest.raises(UsageError) as raised:
        check_output_file(tmp_path, "--html")
    assert str(raised.value) == (
        f"cannot write {tmp_path}: it is a folder; choose a path you can write for --html"
    )


@pytest.fixture
def fake_python(tmp_path: Path) -> Iterator[Path]:
    """An interpreter that leaves a mark when anything runs it (any user can)."""
    folder = unprivileged_folder() if UNPRIVILEGED else tmp_path
    fake = folder / "python"
    fake.write_text(f"#!/bin/sh\ntouch {folder}/ran\nexit 3\n")
    fake.chmod(0o755)
    yield fake
    if UNPRIVILEGED:
        shutil.rmtree(folder)


def test_build_refuses_an_out_under_a_file_before_indexing(
    tmp_path: Path, fake_python: Path
) -> None:
    from bundler.build import build

    site = make_site(tmp_path / "site", {"hello.py": HELLO})
    with pytest.raises(UsageError) as raised:
        build(site, out=Path("pyproject.toml/zips"), python=fake_python)
    assert str(raised.value) == (
        f"cannot write in the output folder {site}/pyproject.toml/zips: {site}/pyproject.toml "
        f"is a file, not a folder; {OUT_HINT}"
    )
    assert not (fake_python.parent / "ran").exists()  # the environment was never asked


@pytest.fixture
def nobody_site() -> Iterator[Path]:
    """A site folder that `nobody` owns: one function, no third-party imports."""
    root = unprivileged_folder()
    make_site(root / "site", {"hello.py": HELLO}, pyproject='[project]\nname = "s"\n')
    give_to_nobody(root)
    yield root / "site"
    shutil.rmtree(root)


@needs_nobody
@pytest.mark.parametrize(
    ("make", "out", "reason"),
    [
        ("read-only", "ro", "Permission denied"),
        ("read-only", "ro/new/zips", "{site}/ro is not writable (Permission denied)"),
        ("unreadable", "locked/zips", "{site}/locked cannot be searched (Permission denied)"),
        ("unreadable", "locked/a/b", "{site}/locked cannot be searched (Permission denied)"),
    ],
)
def test_out_that_nobody_can_write_is_a_usage_error_before_any_work(
    nobody_site: Path, fake_python: Path, make: str, out: str, reason: str
) -> None:
    folder = nobody_site / out.split("/")[0]
    folder.mkdir()
    folder.chmod(0o555 if make == "read-only" else 0o700)  # root-owned: nobody cannot enter
    done = run_unprivileged(["build", "--out", out, "--python", str(fake_python)], nobody_site)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr == (
        f"error: cannot write in the output folder {nobody_site / out}: "
        f"{reason.format(site=nobody_site)}; {OUT_HINT}\n"
    )
    assert not (fake_python.parent / "ran").exists()  # before the environment is indexed
    assert list(folder.iterdir()) == []


@needs_nobody
def test_out_that_nobody_can_write_json(nobody_site: Path) -> None:
    (nobody_site / "ro").mkdir(mode=0o555)
    arguments = ["build", "--json", "--out", "ro", "--python", "/usr/bin/python3"]
    done = run_unprivileged(arguments, nobody_site)
    assert done.returncode == 2
    assert json.loads(done.stdout) == {
        "version": 1,
        "ok": False,
        "exitCode": 2,
        "problems": [
            {
                "severity": "error",
                "message": f"cannot write in the output folder {nobody_site}/ro: Permission denied",
                "file": None,
                "line": None,
                "function": None,
                "hint": OUT_HINT,
            }
        ],
    }


@needs_mount
@pytest.mark.parametrize(
    ("out", "reason"),
    [("ro", "Read-only file system"), ("ro/new", "{site}/ro is on a read-only file system")],
)
def test_out_on_a_read_only_file_system(tmp_path: Path, out: str, reason: str) -> None:
    site = make_site(tmp_path / "site", {"hello.py": HELLO}, pyproject='[project]\nname = "s"\n')
    (site / "ro").mkdir()
    bundle = [
        sys.executable,
        "-m",
        "bundler",
        "build",
        "--out",
        out,
        "--python",
        "/usr/bin/python3",
    ]
    done = in_private_tmpfs(site / "ro", "ro,size=64k", bundle, site)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr == (
        f"error: cannot write in the output folder {site / out}: {reason.format(site=site)}; "
        f"{OUT_HINT}\n"
    )


@needs_nobody
@pytest.mark.parametrize(
    ("arguments", "target", "option"),
    [
        (["manifest", "merge", "good.json", "-o", "ro/merged.json"], "ro/merged.json", "-o"),
        (["audit", "--html", "ro/page.html"], "{site}/ro/page.html", "--html"),
        (["audit", "--html", "ro/new/page.html"], "{site}/ro/new/page.html", "--html"),
    ],
)
def test_output_file_in_a_folder_nobody_can_write(
    nobody_site: Path, arguments: list[str], target: str, option: str
) -> None:
    (nobody_site / "good.json").write_text(json.dumps(VALID_MANIFEST))
    (nobody_site / "ro").mkdir(mode=0o555)
    done = run_unprivileged(arguments, nobody_site)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    folder = "ro" if option == "-o" else f"{nobody_site}/ro"
    reason = (
        "Permission denied"
        if "new" not in target
        else f"{folder} is not writable (Permission denied)"
    )
    assert done.stderr == (
        f"error: cannot write {target.format(site=nobody_site)}: {reason}; choose a path you "
        f"can write for {option}\n"
    )
    assert list((nobody_site / "ro").iterdir()) == []
