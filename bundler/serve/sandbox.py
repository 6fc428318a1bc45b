"""The start of every worker: a private mount namespace, then `python -m awslambdaric`.

Run by the site's interpreter as a script (`python -I -S sandbox.py SPEC`), so it uses only
the standard library and the syntax of Python 3.8. It unshares the mount namespace (as
root), or a user namespace with it (as anyone else, where the kernel allows unprivileged
user namespaces), then:

- mounts a fresh tmpfs on /tmp (512 MiB, like Lambda's), private to this worker; folders the
  worker needs that lived under /tmp are bound back at their own paths first;
- binds the task root, the runtime client's folder and the runtime's packages read-only
  onto themselves, so writing there fails with EROFS (Errno 30) even as root;
- asks the kernel to kill it when the server goes away (PR_SET_PDEATHSIG);
- changes to the task root and executes the runtime client in its place.

With `--probe`, it does the same on a scratch folder, checks the result and prints JSON.
With mode "none", it only changes folder and executes.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_SET_PDEATHSIG = 1
TMP = "/tmp"
# statvfs flags that a read-only remount must keep (the kernel locks them in a user namespace)
_KEPT = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)


class _Libc:
    def __init__(self) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)

    def call(self, what: str, name: str, *arguments: object) -> None:
        if getattr(self.libc, name)(*arguments) != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"{what}: {os.strerror(number)}")

    def mount(self, source: str | None, target: str, kind: str | None, flags: int) -> None:
        data = b"size=512m,mode=1777" if kind == "tmpfs" else None
        self.call(
            f"mount {target}",
            "mount",
            source.encode() if source else None,
            target.encode(),
            kind.encode() if kind else None,
            ctypes.c_ulong(flags),
            data,
        )


def _unshare(libc: _Libc) -> str:
    """Enter a private mount namespace; returns which mechanism worked."""
    try:
        libc.call("unshare(CLONE_NEWNS)", "unshare", CLONE_NEWNS)
        return "mount namespace"
    except OSError as error:
        if error.errno != errno.EPERM:
            raise
    uid, gid = os.geteuid(), os.getegid()
    libc.call("unshare(CLONE_NEWUSER|CLONE_NEWNS)", "unshare", CLONE_NEWUSER | CLONE_NEWNS)
    # the same ids inside: the function runs as its user; the capabilities to mount last
    # until the exec below
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1")):
        with open("/proc/self/" + name, "w") as stream:
            stream.write(text)
    with open("/proc/self/gid_map", "w") as stream:
        stream.write(f"{gid} {gid} 1")
    return "user and mount namespaces"


def _outermost(paths: list[str]) -> list[str]:
    chosen: list[str] = []
    for path in sorted(set(paths)):
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(path)
    return chosen


def isolate(libc: _Libc, readonly: list[str], keep: list[str]) -> str:
    """The mounts described in the module docstring; returns the mechanism."""
    mechanism = _unshare(libc)
    libc.mount(None, "/", None, MS_REC | MS_PRIVATE)
    under_tmp = [p for p in _outermost(keep + readonly) if p.startswith(TMP + "/")]
    old_tmp = os.open(TMP, os.O_PATH | os.O_DIRECTORY)
    try:
        libc.mount("tmpfs", TMP, "tmpfs", MS_NOSUID | MS_NODEV)
        for path in under_tmp:
            os.makedirs(path, exist_ok=True)
            source = f"/proc/self/fd/{old_tmp}/{os.path.relpath(path, TMP)}"
            libc.mount(source, path, None, MS_BIND | MS_REC)
    finally:
        os.close(old_tmp)
    for path in readonly:
        libc.mount(path, path, None, MS_BIND | MS_REC)
        flags = os.statvfs(path).f_flag
        kept = sum(mount for stat, mount in _KEPT if flags & stat)
        libc.mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)
    return mechanism


def _die_with_parent(libc: _Libc) -> None:
    parent = os.getppid()
    libc.call("prctl", "prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the server went away before prctl
        os._exit(1)


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    """Try the isolation on a scratch task root; say what happened."""
    facts: dict[str, Any] = {
        "executable": os.path.realpath(sys.executable),
        "prefix": sys.base_prefix,
        "version": list(sys.version_info[:3]),
    }
    root = spec["task_root"]
    try:
        libc = _Libc()
        facts["mechanism"] = isolate(libc, [root], spec["keep"])
        try:
            with open(os.path.join(root, "probe-write"), "w"):
                pass
            facts["readonly"] = "writable"
        except OSError as error:
            facts["readonly"] = errno.errorcode.get(error.errno or 0, str(error.errno))
        with open(os.path.join(TMP, "probe-private"), "w"):
            pass
        facts["tmp"] = sorted(os.listdir(TMP))
    except (OSError, AttributeError) as error:
        facts["mechanism"] = None
        facts["reason"] = str(error)
    return facts


def main(arguments: list[str]) -> None:
    """The sandbox child's entry: `--probe` reports what isolation works, else isolate and run."""
    if arguments[0] == "--probe":
        print(json.dumps(probe(json.loads(arguments[1]))))
        return
    spec = json.loads(arguments[0])
    libc = _Libc()
    if spec["mode"] != "none":
        isolate(libc, spec["readonly"], spec["keep"])
    os.chdir(spec["task_root"])
    _die_with_parent(libc)
    os.execv(spec["argv"][0], spec["argv"])


if __name__ == "__main__":
    main(sys.argv[1:])
