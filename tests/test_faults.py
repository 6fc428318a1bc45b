"""Faults while a build writes: a full disk, a folder that refuses, a file that vanishes, a
`kill -9`. Each fails at most the function it hit; the others build, `manifest.json` lists
them, nothing is printed as a traceback, and the next build cleans up after a killed one.

The disk is a real small tmpfs mounted in a private mount namespace (nothing leaks to the
host); the refusals are real file modes met by `nobody`; the kills are real SIGKILLs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from build_support import HEALTHY, make_site, manifest_names
from fault_support import CAN_MOUNT, NO_MOUNT, in_private_tmpfs
from support import can_run_unprivileged, give_to_nobody, run_unprivileged, unprivileged_folder

import bundler.build as build_module
from bundler.build import build
from bundler.results import BuildOptions

HELLO = "def handler(event, context):\n    return {'statusCode': 200}\n"
PLAIN = '[project]\nname = "s"\n'  # no dependencies: built with --python /usr/bin/python3
UNPRIVILEGED, WHY_NOT = can_run_unprivileged()
WRITE_HINT = "make the output folder and its files writable, or choose another with --out"


# --- a full disk: the big function fails, the small ones build and are in the manifest ------


@pytest.mark.skipif(not CAN_MOUNT, reason=NO_MOUNT)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_no_space_left_fails_only_the_function_that_hit_it(tmp_path: Path, as_json: bool) -> None:
    site = make_site(
        tmp_path / "site",
        {"hello.py": HELLO, "small.py": HELLO, "big/big.py": HELLO},
        pyproject=PLAIN,
    )
    (site / "netlify" / "functions" / "big" / "noise.bin").write_bytes(os.urandom(600_000))
    out, copy = site / "out", tmp_path / "copy"
    out.mkdir()
    command = [sys.executable, "-m", "bundler", "build", "--out", "out", "-j", "1"]
    command += ["--python", "/usr/bin/python3", *(["--json"] if as_json else [])]
    # 300 KiB: room for the small zips and the manifest, not for 600 kB of noise
    done = in_private_tmpfs(out, "size=300k", command, site, after=f"cp -a out/. {copy}")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    message = (
        "out/big.zip: cannot write this file: No space left on device; free space on that "
        "disk, or choose another folder with --out"
    )
    assert [line for line in done.stderr.splitlines() if line.startswith("error")] == [
        f"error: {message}"
    ]
    assert done.stderr.splitlines()[-1] == "failed: big"
    assert sorted(p.name for p in copy.iterdir()) == ["hello.zip", "manifest.json", "small.zip"]
    assert manifest_names(copy) == ["hello", "small"]
    if as_json:
        report = json.loads(done.stdout)
        assert (report["ok"], report["exitCode"], report["manifest"]) == (
            False,
            1,
            "out/manifest.json",
        )
        statuses = {f["name"]: f["status"] for f in report["functions"]}
        assert statuses == {"big": "failed", "hello": "built", "small": "built"}
        [problem] = next(f for f in report["functions"] if f["name"] == "big")["problems"]
        assert problem["file"] == "out/big.zip"
        assert problem["message"] == "cannot write this file: No space left on device"


# --- a folder that refuses: the function it hits fails, and a manifest that cannot be ------
# --- written is an error of the run, never a lost report -----------------------------------


@pytest.fixture
def sticky() -> Iterator[tuple[Path, Path]]:
    """A site `nobody` owns, and an output folder like /tmp: world-writable and sticky, so
    nobody may add files but not replace the ones root owns."""
    root = unprivileged_folder()
    site = make_site(root / "site", {"alpha.py": HELLO, "beta.py": HELLO}, pyproject=PLAIN)
    give_to_nobody(root)
    out = root / "out"
    out.mkdir()
    out.chmod(0o1777)
    yield site, out
    shutil.rmtree(root)


@pytest.mark.skipif(not UNPRIVILEGED, reason=WHY_NOT)
def test_a_zip_that_cannot_be_replaced_fails_only_its_function(sticky: tuple[Path, Path]) -> None:
    site, out = sticky
    (out / "alpha.zip").write_text("a zip root wrote\n")
    done = run_unprivileged(["build", "--out", str(out), "--python", "/usr/bin/python3"], site)
    assert done.returncode == 1
    assert [line for line in done.stderr.splitlines() if line.startswith("error")] == [
        f"error: {out}/alpha.zip: cannot remove the zip of alpha, which did not build: "
        "Operation not permitted; delete it: a deploy must not ship a function that did not "
        "build",
        f"error: {out}/alpha.zip: cannot write this file: Operation not permitted; {WRITE_HINT}",
    ]
    assert done.stderr.splitlines()[-1] == "failed: alpha"
    assert manifest_names(out) == ["beta"]
    assert sorted(p.name for p in out.iterdir()) == ["alpha.zip", "beta.zip", "manifest.json"]
    assert (out / "alpha.zip").read_text() == "a zip root wrote\n"


@pytest.mark.skipif(not UNPRIVILEGED, reason=WHY_NOT)
def test_a_manifest_that_cannot_be_written_is_reported_late(sticky: tuple[Path, Path]) -> None:
    site, out = sticky
    (out / "manifest.json").write_text("{}")  # root's, and not a manifest either
    arguments = ["build", "--json", "--out", str(out), "--python", "/usr/bin/python3"]
    done = run_unprivileged(arguments, site)
    assert done.returncode == 1
    assert [line for line in done.stderr.splitlines() if line.startswith(("error", "warn"))] == [
        f"warning: {out}/manifest.json: not a manifest bundle build wrote: version: missing; "
        "delete the zips of functions that no longer exist: this build cannot tell them",
        f"error: {out}/manifest.json: cannot write this file: Operation not permitted; "
        f"{WRITE_HINT}",
    ]
    assert done.stderr.splitlines()[-1] == "failed: writing the output folder"
    report = json.loads(done.stdout)
    assert (report["ok"], report["exitCode"], report["manifest"]) == (False, 1, None)
    assert [p["message"] for p in report["problems"]] == [
        "cannot write this file: Operation not permitted"
    ]
    assert [f["status"] for f in report["functions"]] == ["built", "built"]
    assert sorted(p.name for p in out.iterdir()) == ["alpha.zip", "beta.zip", "manifest.json"]


# --- a file that vanishes between listing and packing --------------------------------------


def test_a_file_removed_during_the_build_fails_only_its_function(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site", {**HEALTHY, "vanish/vanish.py": HELLO, "vanish/data.txt": "data\n"}
    )
    data = site / "netlify" / "functions" / "vanish" / "data.txt"
    real = build_module.collect_contents

    def collect_then_lose(function: object, *args: object, **kwargs: object) -> object:
        contents = real(function, *args, **kwargs)  # type: ignore[arg-type]
        if getattr(function, "name", None) == "vanish":
            data.unlink()  # really gone when the packer opens it
        return contents

    monkeypatch.setattr(build_module, "collect_contents", collect_then_lose)
    result = build(site, python=python)
    assert [b.name for b in result.builds if b.ok] == ["good", "other"]
    [failed] = [b for b in result.builds if not b.ok]
    assert [p.format(site) for p in failed.problems] == [
        "netlify/functions/vanish/data.txt: cannot read this file: No such file or directory; "
        "it was removed while the bundler read it: build again"
    ]
    assert manifest_names(result.out) == ["good", "other"]


# --- kill -9 at several points, then a rebuild equal to a clean --no-cache build -----------


def _zips_and_manifest(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _kill_when(
    site: Path, python: Path, ready: Callable[[Path, float], bool], limit: float = 60
) -> bool:
    """Start `bundle build`, SIGKILL it once `ready(out, seconds)` holds; whether it did."""
    out = site / "dist" / "functions"
    command = [sys.executable, "-m", "bundler", "build", "-j", "1", "--python", str(python)]
    process = subprocess.Popen(
        command, cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    started = time.monotonic()
    try:
        while process.poll() is None and time.monotonic() - started < limit:
            if ready(out, time.monotonic() - started):
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=limit)
                return True
            time.sleep(0.002)
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=limit)


def _names(out: Path) -> list[str]:
    try:
        return os.listdir(out)
    except FileNotFoundError:
        return []


KILL_POINTS: dict[str, Callable[[Path, float], bool]] = {
    # while the big zip is being written under its temporary name
    "writing a zip": lambda out, _s: any(n.startswith(".zbig.zip.") for n in _names(out)),
    # after some zips are in place, before the manifest
    "between zips": lambda out, _s: "good.zip" in _names(out),
    # early: indexing the environment, analysing
    "at 0.3 s": lambda _out, seconds: seconds >= 0.3,
}


def test_a_rebuild_after_kill_9_equals_a_clean_build(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {**HEALTHY, "zbig/zbig.py": HELLO})
    # incompressible: seconds of deflate, a wide window for the kills
    (site / "netlify" / "functions" / "zbig" / "noise.bin").write_bytes(os.urandom(8_000_000))
    reference = build(site, python=python, out=Path("reference"),
                      options=BuildOptions(use_cache=False))  # fmt: skip
    assert reference.ok
    expected = _zips_and_manifest(reference.out)
    out = site / "dist" / "functions"
    for point, ready in KILL_POINTS.items():  # bounded: three points, a minute each at most
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(site / ".bundle-cache", ignore_errors=True)
        assert _kill_when(site, python, ready), f"the build ended before {point}"
        left = sorted(n for n in _names(out) if n.startswith("."))
        if point == "writing a zip":
            assert left and all(n.startswith(".zbig.zip.") for n in left), left
        again = build(site, python=python)
        assert again.ok, point
        assert _zips_and_manifest(out) == expected, point  # no temporary file left either


def test_folders_where_the_zip_and_the_manifest_go(python: Path, tmp_path: Path) -> None:
    # root meets no file mode, but nobody can replace a folder with a file
    site = make_site(tmp_path / "site", HEALTHY)
    out = site / "dist" / "functions"
    (out / "good.zip" / "inside").mkdir(parents=True)
    (out / "manifest.json").mkdir()
    result = build(site, python=python)
    hint = "a folder has this file's name: remove it, or choose another with --out"
    assert [p.format(site) for p in result.errors] == [
        "dist/functions/good.zip: cannot remove the zip of good, which did not build: Is a "
        "directory; delete it: a deploy must not ship a function that did not build",
        f"dist/functions/manifest.json: cannot write this file: Is a directory; {hint}",
    ]
    [good] = [b for b in result.builds if b.name == "good"]
    assert [p.format(site) for p in good.problems] == [
        f"dist/functions/good.zip: cannot write this file: Is a directory; {hint}"
    ]
    assert [b.name for b in result.builds if b.ok] == ["other"]
    assert (result.ok, result.manifest) == (False, None)
    assert [p.format(site) for p in result.warnings if p.file == out / "manifest.json"] == [
        "dist/functions/manifest.json: not a manifest bundle build wrote: this is a folder, not "
        "a manifest; delete the zips of functions that no longer exist: this build cannot tell "
        "them"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["good.zip", "manifest.json", "other.zip"]
