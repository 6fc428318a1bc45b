"""A cache folder that cannot be used, fills up, is killed mid-write or holds entries of
the wrong kind: the build goes on without it (one warning) or repairs it, and every
rebuild gives the bytes of a clean `--no-cache` build."""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import TypeVar

import pytest
from build_support import make_site, zips
from fault_support import CACHE_HINT, MOUNT, make_kind, needs_mount
from support import (
    bounded,
    can_run_unprivileged,
    give_to_nobody,
    run_unprivileged,
    unprivileged_folder,
)

from bundler.build import build
from bundler.results import BuildOptions

SYSTEM_PYTHON = Path("/usr/bin/python3")  # the sites below import only the standard library
PYPROJECT = '[project]\nname = "site"\nversion = "1"\n'
HANDLER = "import json\n\n\ndef handler(event, context):\n    return {'statusCode': 200}\n"
BIG = random.Random(1).randbytes(300_000)  # incompressible: a blob file of its own
SMALL = {f"many/data/{i:02}.bin": random.Random(i).randbytes(8000) for i in range(40)}
SITE = {"hello.py": HANDLER, "big/big.py": HANDLER, "big/blob.bin": BIG}
PACKED = {"hello.py": HANDLER, "many/many.py": HANDLER, **SMALL}  # blobs that go in a pack
LEVEL = f"blobs/zlib-{zlib.ZLIB_RUNTIME_VERSION}/level-6"
WARNING = "warning: .bundle-cache: cannot use the cache folder, building without it: "

pytestmark = pytest.mark.usefixtures("system_python")  # fails under `make test` if missing


def blob_path(data: bytes) -> str:
    name = hashlib.sha256(data).hexdigest()
    return f"{LEVEL}/{name[:2]}/{name[2:]}"


def fresh(site: Path) -> dict[str, bytes]:
    """The zips and manifest of a clean --no-cache build of `site`."""
    result = build(
        site, python=SYSTEM_PYTHON, out=Path("fresh"), options=BuildOptions(use_cache=False)
    )
    assert result.ok and result.warnings == ()
    return zips(result.out)


def cli(
    site: Path, *arguments: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    command = [*prefix, sys.executable, "-m", "bundler", "build", "--python", str(SYSTEM_PYTHON)]
    return subprocess.run(
        [*command, *arguments], cwd=site, capture_output=True, text=True, timeout=120, check=False
    )


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("warning", "error"))]


# --- a cache that cannot be used --------------------------------------------------------


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_a_cache_folder_that_cannot_be_one_builds_without_it(tmp_path: Path, where: str) -> None:
    site = make_site(tmp_path / "site", SITE, pyproject=PYPROJECT)
    blocker = site / ".bundle-cache"
    blocker.write_text("a file")
    cache = blocker if where == "a-file" else blocker / "cache"
    result = build(site, python=SYSTEM_PYTHON, options=BuildOptions(cache_dir=cache))
    reason = "it is not a folder" if where == "a-file" else f"{blocker} is not a folder"
    assert [f"{p.severity}: {p.format(site)}" for p in result.warnings] == [
        f"warning: {cache.relative_to(site)}: cannot use the cache folder, building without it: "
        f"{reason}; {CACHE_HINT}"
    ]
    assert result.ok and all(b.problems == () for b in result.builds)
    assert zips(result.out) == fresh(site)
    blocker.unlink()  # fixed: the next build uses the cache again
    again = build(site, python=SYSTEM_PYTHON, options=BuildOptions(cache_dir=cache))
    assert again.warnings == () and zips(again.out) == fresh(site)
    assert all(
        b.cached
        for b in build(site, python=SYSTEM_PYTHON, options=BuildOptions(cache_dir=cache)).builds
    )


@pytest.mark.skipif(not can_run_unprivileged()[0], reason=can_run_unprivileged()[1])
def test_a_read_only_cache_builds_without_it_as_nobody() -> None:
    folder = unprivileged_folder()
    try:
        site = make_site(folder / "site", SITE, pyproject=PYPROJECT)
        expected = fresh(site)
        build(site, python=SYSTEM_PYTHON)  # root fills the cache...
        shutil.rmtree(site / "dist")
        give_to_nobody(site)
        subprocess.run(["chown", "-R", "root", str(site / ".bundle-cache")], check=True)
        done = run_unprivileged(["build", "--python", str(SYSTEM_PYTHON)], site)  # ...nobody reads
        assert done.returncode == 0, done.stderr
        assert warnings_of(done.stderr) == [WARNING + f"Permission denied; {CACHE_HINT}"]
        assert zips(site / "dist" / "functions") == expected
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- a cache on a small tmpfs that is or becomes full -----------------------------------


FILL = "dd if=/dev/zero of=.bundle-cache/filler bs=4k >/dev/null 2>&1;"


@needs_mount
@pytest.mark.parametrize(
    ("functions", "fill", "reason"),
    [
        (SITE, True, "No space left on device"),  # full before the build starts
        (SITE, False, f"No space left on device ({blob_path(BIG)})"),  # a large blob's file
        (PACKED, False, f"No space left on device ({LEVEL}/packs)"),  # the pack at the end
    ],
    ids=["full-at-start", "fills-with-a-blob", "fills-with-the-pack"],
)
def test_a_full_cache_builds_without_it(
    tmp_path: Path, functions: dict[str, str | bytes], fill: bool, reason: str
) -> None:
    site = make_site(tmp_path / "site", functions, pyproject=PYPROJECT)
    (site / ".bundle-cache").mkdir()
    mount = MOUNT.format(fill=FILL if fill else "")
    done = cli(site, prefix=("unshare", "--mount", "sh", "-c", mount, "sh"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert warnings_of(done.stderr) == [WARNING + f"{reason}; {CACHE_HINT}"]
    assert zips(site / "dist" / "functions") == fresh(site)


# --- a build killed while it writes the cache --------------------------------------------


def test_a_killed_build_leaves_temporary_files_that_the_next_build_sweeps(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site", {"hello.py": HANDLER, "huge/huge.py": HANDLER}, pyproject=PYPROJECT
    )
    huge = random.Random(2).randbytes(24 * 1024 * 1024)  # a second or two of deflate
    (site / "netlify" / "functions" / "huge" / "data.bin").write_bytes(huge)
    blob = site / ".bundle-cache" / blob_path(huge)
    command = [sys.executable, "-m", "bundler", "build", "--python", str(SYSTEM_PYTHON)]
    running = subprocess.Popen(
        command, cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    leftovers: list[Path] = []
    while not leftovers and running.poll() is None and time.monotonic() < deadline:
        leftovers = list(blob.parent.glob(".tmp-*")) if blob.parent.is_dir() else []
        time.sleep(0.005)
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=30)
    assert leftovers, "the build ended before it wrote a temporary file"
    assert all(p.exists() for p in leftovers) and not blob.exists()
    result = build(site, python=SYSTEM_PYTHON)
    assert result.ok and result.warnings == ()
    assert list((site / ".bundle-cache").rglob(".tmp-*")) == []
    assert blob.is_file()
    # the killed build's `.huge.zip.*` in --out is the output folder's to sweep, not the cache's
    assert {n: b for n, b in zips(result.out).items() if not n.startswith(".")} == fresh(site)


# --- entries of the wrong kind ------------------------------------------------------------

WRONG = {"solo.py": HANDLER, "big/big.py": HANDLER, "big/blob.bin": BIG, "other.py": HANDLER}


def entries(cache: Path, what: str) -> list[Path]:
    """The cache entries of one kind after a build of WRONG."""
    found = {
        "function-entry": sorted((cache / "functions").glob("*.json")),
        "pack": sorted((cache / LEVEL / "packs").glob("pack-*.pack")),
        "blob-file": [cache / blob_path(BIG)],
        "blob-folder": [(cache / blob_path(BIG)).parent],
        "functions-folder": [cache / "functions"],
        "blobs-folder": [cache / "blobs"],
    }[what]
    assert found, what
    return found


FILES = ["function-entry", "pack", "blob-file"]
FOLDERS = ["blob-folder", "functions-folder", "blobs-folder"]
CASES = [(w, k) for w in FILES for k in ("folder", "fifo", "dangling-link", "empty")] + [
    (w, k) for w in FOLDERS for k in ("file", "fifo", "dangling-link")
]


T = TypeVar("T")


@pytest.mark.parametrize(("what", "kind"), CASES, ids=[f"{w}-{k}" for w, k in CASES])
def test_an_entry_of_the_wrong_kind_is_a_miss_and_repaired(
    tmp_path: Path, what: str, kind: str
) -> None:
    site = make_site(tmp_path / "site", WRONG, pyproject=PYPROJECT)
    cache = site / ".bundle-cache"
    build(site, python=SYSTEM_PYTHON)
    for path in entries(cache, what):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        make_kind(path, kind)
    if what != "function-entry":  # no zips to reuse: every blob is read from the cache
        shutil.rmtree(site / "dist")
    again = bounded(lambda: build(site, python=SYSTEM_PYTHON))
    assert again.ok and again.warnings == ()
    assert all(b.problems == () for b in again.builds)
    assert zips(again.out) == fresh(site)
    if what in FOLDERS:
        assert all(p.is_dir() and not p.is_symlink() for p in entries(cache, what))
    else:
        assert all(p.is_file() and p.stat().st_size for p in entries(cache, what))
    third = build(site, python=SYSTEM_PYTHON)
    assert all(b.cached for b in third.builds) and zips(third.out) == fresh(site)
