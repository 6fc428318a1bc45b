"""Faults made for real: a tmpfs mounted in a private mount namespace (full or read-only),
entries of the wrong kind where a file belongs; and the cache folder's hint that every cache
fault's warning ends with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE_HINT = (
    "give it free space and write permission, choose another with --cache-dir, "
    "or build with --no-cache"
)
# A 200k tmpfs on the cache folder of the site, then the command (`sh -c MOUNT sh COMMAND...`);
# `{fill}` fills it first when given.
MOUNT = 'mount -t tmpfs -o size=200k tmpfs .bundle-cache && {fill} exec "$@"'


def _can_mount() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "mounting a tmpfs needs root"
    if shutil.which("unshare") is None:
        return False, "unshare (util-linux) is not installed"
    done = subprocess.run(
        ["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0, f"cannot mount a tmpfs here: {done.stderr.strip()}"


CAN_MOUNT, NO_MOUNT = _can_mount()
needs_mount = pytest.mark.skipif(not CAN_MOUNT, reason=NO_MOUNT)


def in_private_tmpfs(
    mountpoint: Path, options: str, command: list[str], cwd: Path, after: str = ""
) -> subprocess.CompletedProcess[str]:
    """`command` with a fresh tmpfs (mount `options`) on `mountpoint`, in a mount namespace of
    its own, so nothing leaks to the host; `after` runs in it too (the mount dies with it)."""
    script = f'mount -t tmpfs -o {options} tmpfs "$1" || exit 99; shift; "$@"; code=$?; '
    script += f"{after}; exit $code" if after else "exit $code"
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, "sh", str(mountpoint), *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def make_kind(path: Path, kind: str) -> None:
    """Put an entry of `kind` at `path`: a file, folder, FIFO, dangling link or empty file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "file":
        path.write_text("not what belongs here")
    elif kind == "folder":
        (path / "inside").mkdir(parents=True)
        (path / "inside" / "file").write_text("x")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling-link":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        raise AssertionError(kind)
