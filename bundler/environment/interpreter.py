"""The target interpreter: what `--python` is (asked of it once), and how to ask it
anything: bounded in time, answered in a file of ours.

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
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import EnvironmentProblem


class PythonFailed(Exception):
    """The interpreter could not be run, failed or did not answer; `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compile_folder(python: Path, folder: Path, timeout: float) -> None:
    """Byte-compile the Python files under `folder` with `python` (the interpreter that will
    import them: faster cold starts); best effort, a failure only costs that time."""
    subprocess.run(
        [str(python), "-I", "-m", "compileall", "-q", str(folder)],
        capture_output=True,
        check=False,
        timeout=timeout,
    )


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


# Run inside the target interpreter; standard library only, and valid Python 2 syntax so
# that an old interpreter gets as far as saying which version it is. The answer goes to
# the file named by sys.argv[1] (see `ask_python`), never to stdout: the environment's
# .pth files and sitecustomize run first and may print.
_PROBE = r"""
import json, os, platform, sys, sysconfig
facts = {"version": list(sys.version_info[:3])}
if sys.version_info >= (3, 8):
    paths = sysconfig.get_paths()
    if hasattr(sys, "stdlib_module_names"):
        stdlib = sorted(sys.stdlib_module_names)
    else:
        import pkgutil
        where = [paths["stdlib"], os.path.join(paths["stdlib"], "lib-dynload")]
        stdlib = sorted({m.name for m in pkgutil.iter_modules(where)})
    site = []
    for key in ("purelib", "platlib"):
        if paths[key] not in site and os.path.isdir(paths[key]):
            site.append(paths[key])
    facts.update({
        "executable": sys.executable,
        "implementation": sys.implementation.name,
        "platform": sys.platform,
        "machine": platform.machine(),
        "stdlib": stdlib + sorted(sys.builtin_module_names),
        "site_packages": site,
        "prefix": sys.prefix,
    })
with open(sys.argv[1], "w") as answer:
    answer.write(json.dumps(facts))
"""
PROBE_TIMEOUT = 60.0  # seconds; the probe takes a fraction of one
_PYTHON_HINT = "point --python at a Python 3.8 or later, or at a virtualenv folder that has one"


@dataclass(frozen=True, kw_only=True)
class Interpreter:
    """Facts about the `--python` interpreter, asked of it once."""

    executable: Path
    version: tuple[int, int, int]
    implementation: str
    platform: str
    machine: str
    stdlib: frozenset[str]
    site_packages: tuple[Path, ...]
    prefix: Path

    @classmethod
    def from_executable(cls, python: Path) -> Interpreter:
        """Ask `python` about itself; EnvironmentProblem when it is no working Python 3.8+
        (it is not a Python, it fails, it crashes, it hangs, it is too old)."""
        if python.is_dir():
            raise EnvironmentProblem.of(
                "this is a folder without bin/python", file=python, hint=_PYTHON_HINT
            )
        # -E -s and a folder of its own as the working directory: what -I does, in a
        # way Python 2 understands too (it then gets to say its version)
        try:
            facts = json.loads(ask_python(python, ["-E", "-s"], _PROBE, timeout=PROBE_TIMEOUT))
            version = tuple(int(v) for v in facts["version"])
            if len(version) == 3 and version < (3, 8):
                raise EnvironmentProblem.of(
                    f"this is Python {'.'.join(map(str, version))}; the bundler reads "
                    "environments of Python 3.8 or later",
                    file=python,
                    hint=_PYTHON_HINT,
                )
            return cls(
                executable=Path(facts["executable"]),
                version=(version[0], version[1], version[2]),
                implementation=str(facts["implementation"]),
                platform=str(facts["platform"]),
                machine=str(facts["machine"]),
                stdlib=frozenset(str(m) for m in facts["stdlib"]),
                site_packages=tuple(Path(p) for p in facts["site_packages"]),
                prefix=Path(facts["prefix"]),
            )
        except PythonFailed as failed:
            reason = failed.reason
        except (ValueError, KeyError, TypeError, IndexError):
            reason = "it answered with something else than the facts asked for"
        raise EnvironmentProblem.of(
            f"this is not a working Python interpreter: {reason}",
            file=python,
            hint=_PYTHON_HINT,
        )
