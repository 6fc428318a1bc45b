"""`--python` that is no working Python: a clear EnvironmentProblem, bounded in time.

An environment whose `.pth` files or sitecustomize print is still read right: the probe
answers in a file of its own, not on stdout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from build_support import HEALTHY, make_site
from click.testing import CliRunner
from support import make_venv

from bundler.cli import main
from bundler.environment import interpreter
from bundler.environment.interpreter import Interpreter
from bundler.errors import EnvironmentProblem
from bundler.pack.compile import compile_bytecode

HINT = "point --python at a Python 3.8 or later, or at a virtualenv folder that has one"
BROKEN = "this is not a working Python interpreter: "

# Answers the probe as a real Python 2.7 would (`-E -s -c SCRIPT ANSWER`): no -I, and a
# version_info of (2, 7, 18) written where the probe asks.
PYTHON2 = """#!/bin/sh
case "$1" in -I) echo "Unknown option: -I" >&2; exit 2;; esac
[ "$3" = "-c" ] && printf '{"version": [2, 7, 18]}' > "$5"
exit 0
"""


def write_fake(path: Path, text: str, mode: int = 0o755) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def probe_problem(python: Path) -> str:
    with pytest.raises(EnvironmentProblem) as raised:
        Interpreter.from_executable(python)
    [problem] = raised.value.problems
    assert (problem.file, problem.hint) == (python, HINT)
    return problem.message


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ("#!/bin/sh\necho hello\n", 0o755, BROKEN + "it exited without answering"),
        ("just some text\n", 0o644, BROKEN + "it cannot be run: Permission denied"),
        ("just some text\n", 0o755, BROKEN + "it cannot be run: Exec format error"),
        ("#!/bin/sh\nkill -SEGV $$\n", 0o755, BROKEN + "it was killed by SIGSEGV"),
        (
            "#!/bin/sh\necho 'Fatal' >&2\nexit 3\n",
            0o755,
            BROKEN + "it failed with exit code 3: Fatal",
        ),
        (
            '#!/bin/sh\necho \'{"version": "3.11"}\' > "$5"\n',
            0o755,
            BROKEN + "it answered with something else than the facts asked for",
        ),
        (
            PYTHON2,
            0o755,
            "this is Python 2.7.18; the bundler reads environments of Python 3.8 or later",
        ),
    ],
    ids=["shell-script", "text-file", "executable-text", "crash", "fails", "nonsense", "python2"],
)
def test_a_python_that_is_not_one(tmp_path: Path, text: str, mode: int, message: str) -> None:
    assert probe_problem(write_fake(tmp_path / "python", text, mode)) == message


def test_a_missing_interpreter(tmp_path: Path) -> None:
    message = probe_problem(tmp_path / "no-such-python")
    assert message == BROKEN + "it cannot be run: No such file or directory"


def test_a_folder_without_bin_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    (tmp_path / "not-a-venv").mkdir()
    monkeypatch.chdir(site)
    result = CliRunner().invoke(main, ["build", "--python", str(tmp_path / "not-a-venv")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'not-a-venv'}: this is a folder without bin/python; {HINT}"
    ]
    assert not (site / "dist").exists()


def test_a_hanging_interpreter_is_killed_with_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "child.pid"
    hanging = write_fake(
        tmp_path / "python", f"#!/bin/sh\nsleep 600 &\necho $! > {pid_file}\nwait\n"
    )
    monkeypatch.setattr(interpreter, "PROBE_TIMEOUT", 1.0)
    started = time.monotonic()
    assert probe_problem(hanging) == BROKEN + "it did not answer within 1 s"
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:  # reaped by init once killed
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    return status != "Z"


NOISE = 'import sys; print("noise from a .pth {"); print("more noise", file=sys.stderr)\n'
SITECUSTOMIZE = 'print("@@ sitecustomize says hello [")\n'


def test_an_environment_that_prints_at_start_up_is_read_right(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    [site_packages] = (tmp_path / "venv").glob("lib/python3*/site-packages")
    (site_packages / "noisy.pth").write_text(NOISE)
    (site_packages / "sitecustomize.py").write_text(SITECUSTOMIZE)
    # the noise is real: -I, and the -E -s the probe uses, still run .pth files and
    # sitecustomize (only -S would not); venv's lib64 link makes the .pth run twice
    for flags in (["-I"], ["-E", "-s"]):
        said = subprocess.run(
            [str(python), *flags, "-c", "pass"], capture_output=True, text=True, check=True
        )
        assert set(said.stdout.splitlines()) == {
            "noise from a .pth {",
            "@@ sitecustomize says hello [",
        }
        assert set(said.stderr.splitlines()) == {"more noise"}
    interpreter = Interpreter.from_executable(python)
    assert interpreter.version == tuple(sys.version_info[:3])
    assert interpreter.site_packages == (site_packages,)
    assert "json" in interpreter.stdlib


def test_the_probe_never_imports_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "json.py").write_text("raise SystemExit('the json of the site')\n")
    (tmp_path / "main.py").write_text("X = 1\n")
    monkeypatch.chdir(tmp_path)
    interpreter = Interpreter.from_executable(Path(sys.executable))
    assert interpreter.version == tuple(sys.version_info[:3])
    compiled = compile_bytecode(
        [("main.py", tmp_path / "main.py")],
        Path(sys.executable),
        (sys.version_info[0], sys.version_info[1]),
    )
    assert [name for name, _ in compiled.entries] == [
        f"__pycache__/main.{sys.implementation.cache_tag}.pyc"
    ]
