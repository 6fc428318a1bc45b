"""Asking the target interpreter something: bounded in time, answered in a file of ours.

The interpreter of `--python` is the user's: its `.pth` files and `sitecustomize` run at
start-up even under `-I` (only `-S` skips them) and may print anything, so a script run
there writes its answer to a file whose path it gets as `sys.argv[1]`, never to stdout.
It runs in an empty folder of its own (with `-c`, the working directory comes first on
`sys.path`: a site's `json.py` must not stand in for the standard library's), in a session
of its own, and on timeout the whole session is killed: a hung interpreter, or a child
it started, cannot hang the build.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path


class PythonFailed(Exception):
    """The interpreter could not be run, failed or did not answer; `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ask_python(
    python: Path,
    flags: Sequence[str],
    script: str,
    arguments: Sequence[str] = (),
    *,
    timeout: float,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `python FLAGS -c SCRIPT ANSWER ARGUMENTS` and return what it wrote to ANSWER.

    Raises PythonFailed when it cannot be run, exits with an error or a signal, takes
    longer than `timeout` seconds, or exits without writing an answer.
    """
    with tempfile.TemporaryDirectory(prefix="bundler-ask-") as scratch:
        answer = Path(scratch) / "answer"
        found = python.exists() or os.sep in str(python)  # else a name to look up on PATH
        command = [str(python.absolute() if found else python), *flags, "-c", script]
        command += [str(answer), *arguments]
        returncode, stderr = _run(command, scratch, timeout, stdin, env)
        if returncode < 0:
            raise PythonFailed(f"it was killed by {_signal_name(-returncode)}")
        if returncode != 0:
            last = (stderr.strip().splitlines() or ["no message"])[-1].strip()
            raise PythonFailed(f"it failed with exit code {returncode}: {last}")
        try:
            return answer.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise PythonFailed("it exited without answering") from None


def _run(
    command: list[str], cwd: str, timeout: float, stdin: str, env: Mapping[str, str] | None
) -> tuple[int, str]:
    """(exit code, stderr) of `command`, its whole session killed after `timeout` s."""
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
    except OSError as error:
        raise PythonFailed(f"it cannot be run: {error.strerror or error}") from None
    try:
        _, stderr = process.communicate(stdin.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(process)
        raise PythonFailed(f"it did not answer within {timeout:g} s") from None
    return process.returncode, stderr.decode("utf-8", "replace")


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    """Kill the process and everything it started in its session, then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a child left the session and holds the pipe
        process.kill()
        process.wait()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
