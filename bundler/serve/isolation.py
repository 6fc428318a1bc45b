"""Which isolation a worker gets here, found once at start by trying it (sandbox.py).

As root, a private mount namespace; as another user, a user namespace with it, where the
kernel allows that. Either way the task root is read-only (EROFS) and /tmp is a tmpfs of
the worker's own. When neither works, the server says so in one line and the workers run
without it: the task root is made read-only by file modes only and each worker gets a
private TMPDIR, but a function that writes to /tmp by name shares it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SANDBOX = Path(__file__).with_name("sandbox.py")


@dataclass(frozen=True, kw_only=True)
class Isolation:
    """The mechanism that worked (None: none did, with the reason), and facts about the
    interpreter the probe ran in."""

    mechanism: str | None
    reason: str | None
    executable: Path  # the real interpreter binary (never a virtualenv's link)
    prefix: Path  # its installation prefix (the standard library lives there)
    version: tuple[int, int, int]

    @property
    def mode(self) -> str:
        """`namespace` when functions run isolated, else `none`."""
        return "none" if self.mechanism is None else "namespace"

    def describe(self) -> str:
        """The start-up line."""
        if self.mechanism is not None:
            return (
                f"isolation: {self.mechanism}: the task root is read-only and each worker has "
                "a private /tmp (tmpfs, 512 MiB)"
            )
        return (
            f"isolation: none ({self.reason}): the task root is read-only by file modes only "
            "(root ignores them) and /tmp is shared; each worker gets a private TMPDIR"
        )

    def launcher(
        self, task_root: Path, readonly: list[Path], keep: list[Path], argv: list[str]
    ) -> list[str]:
        """The command that starts one worker: the sandbox, which executes `argv`."""
        spec = {
            "mode": self.mode,
            "task_root": str(task_root),
            "readonly": [str(p) for p in readonly],
            "keep": [str(p) for p in keep],
            "argv": argv,
        }
        return [str(self.executable), "-I", "-S", str(SANDBOX), json.dumps(spec)]


def probe_isolation(python: Path, scratch: Path, keep: list[Path]) -> Isolation:
    """Try the sandbox once on `scratch` (a folder it may write into) with `python`."""
    scratch.mkdir(parents=True, exist_ok=True)
    spec = {"task_root": str(scratch), "keep": [str(p) for p in keep]}
    try:
        done = subprocess.run(
            [str(python), "-I", "-S", str(SANDBOX), "--probe", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )
        facts = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        reason = f"the probe failed: {error}"
        if isinstance(error, ValueError):
            last = done.stderr.strip().splitlines()[-1:]
            reason = f"the probe exited {done.returncode}" + (f": {last[0]}" if last else "")
        return Isolation(
            mechanism=None,
            reason=reason,
            executable=python,
            prefix=Path(sys.base_prefix),
            version=(0, 0, 0),
        )
    mechanism, reason = facts.get("mechanism"), facts.get("reason")
    if mechanism and facts.get("readonly") not in ("EROFS", "EACCES"):
        mechanism, reason = None, f"the task root stayed writable ({facts.get('readonly')})"
    elif mechanism and (Path("/tmp") / "probe-private").exists():
        mechanism, reason = None, "/tmp was not private"
    version = facts["version"]
    return Isolation(
        mechanism=mechanism,
        reason=reason,
        executable=Path(facts["executable"]),
        prefix=Path(facts["prefix"]),
        version=(version[0], version[1], version[2]),
    )
