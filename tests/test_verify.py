"""`bundle verify`: each handler imported in a clean interpreter, as Lambda would."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.errors import UsageError
from bundler.verify import verify_bundles

PYTHON = Path(sys.executable)
RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
SAMPLE_SITE = Path(__file__).parent.parent / "sample_site"
HELLO = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"


def write_out(
    out: Path, functions: dict[str, dict[str, str]], arch: str = "x86_64", runtime: str = RUNTIME
) -> Path:
    """A manifest and one zip per function (name -> {arcname: text}); handler NAME.handler."""
    out.mkdir(parents=True, exist_ok=True)
    listed = []
    for name, files in functions.items():
        with zipfile.ZipFile(out / f"{name}.zip", "w") as archive:
            for arcname, text in files.items():
                archive.writestr(arcname, text)
        listed.append({"name": name, "path": f"{name}.zip", "handler": f"{name}.handler"})
    manifest = {"version": 1, "system": {"arch": arch, "platform": "linux", "runtime": runtime}}
    manifest["functions"] = listed
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def lines(output: str) -> list[str]:
    return [re.sub(r"\d+ ms", "N ms", line) for line in output.splitlines()]


def test_ok_and_failing_imports(tmp_path: Path) -> None:
    out = write_out(
        tmp_path / "out",
        {
            "hello": {"hello.py": HELLO},
            "todos": {"todos.py": "import bson\n" + HELLO},
            "nohandler": {"nohandler.py": "handler = 3\n"},
        },
    )
    result = verify_bundles(out, PYTHON, machine="x86_64")
    assert [(c.name, c.ok, re.sub(r"\d+ ms", "N ms", c.detail)) for c in result.checks] == [
        ("hello", True, "imported in N ms"),
        ("nohandler", False, "nohandler.handler is missing or not callable"),
        ("todos", False, "ModuleNotFoundError: No module named 'bson'"),
    ]
    assert not result.ok


def test_cli_invoke(tmp_path: Path) -> None:
    background = "def handler(event, context):\n    assert event['httpMethod'] == 'GET'\n"
    out = write_out(
        tmp_path / "out",
        {"hello": {"hello.py": HELLO}, "send-background": {"send-background.py": background}},
        arch=_machine(),
    )
    done = CliRunner().invoke(main, ["verify", "--out", str(out), "--python", sys.executable,
                                     "--invoke"])  # fmt: skip
    assert (done.exit_code, lines(done.stdout)) == (
        0,
        [
            "ok   hello            imported in N ms, statusCode 200",
            "ok   send-background  imported in N ms, invoked",
        ],
    )


def test_cli_fails_with_exit_1(tmp_path: Path) -> None:
    out = write_out(tmp_path / "out", {"todos": {"todos.py": "import bson\n"}}, arch=_machine())
    done = CliRunner().invoke(main, ["verify", "--out", str(out), "--python", sys.executable])
    assert (done.exit_code, done.stdout) == (
        1,
        "FAIL todos  ModuleNotFoundError: No module named 'bson'\n",
    )


def test_foreign_arch_checks_the_files_only(tmp_path: Path) -> None:
    elf_x86 = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00\x3e\x00\x01\x00\x00\x00" + bytes(40)
    out = tmp_path / "out"
    write_out(out, {"hello": {"hello.py": "import bson\n" + HELLO}}, "arm64", "python3.11")
    with zipfile.ZipFile(out / "hello.zip", "a") as archive:
        archive.writestr("native.cpython-311-x86_64-linux-gnu.so", elf_x86)
    result = verify_bundles(out, PYTHON, machine="x86_64")
    assert not result.ran
    (check,) = result.checks
    assert (
        (check.ok, check.detail)
        == (
            False,
            "the function's own files has 1 file of native code for x86_64: "
            "native.cpython-311-x86_64-linux-gnu.so; python3.11 on arm64 (Amazon Linux 2, "
            "glibc 2.26) needs aarch64 Linux code for cp311",
        )
        if RUNTIME == "python3.11"
        else (False, check.detail)
    )
    write_out(out, {"hello": {"hello.py": HELLO}}, arch="arm64")
    (check,) = verify_bundles(out, PYTHON, machine="x86_64").checks
    assert (check.ok, check.detail) == (True, "files checked; arm64 code cannot run on x86_64")


def test_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        verify_bundles(tmp_path, PYTHON)
    assert (
        str(raised.value)
        == f"no manifest.json in {tmp_path}; run `bundle build` first, or pass --out"
    )


def test_python_of_another_version(tmp_path: Path) -> None:
    out = write_out(tmp_path / "out", {"hello": {"hello.py": HELLO}}, arch=_machine())
    document = json.loads((out / "manifest.json").read_text())
    document["system"]["runtime"] = "python3.12"
    (out / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(UsageError) as raised:
        verify_bundles(out, PYTHON)
    assert str(raised.value) == (
        f"the bundles are for python3.12, and {PYTHON} is Python {RUNTIME[6:]}; "
        "pass --python with a Python 3.12 interpreter"
    )


@pytest.mark.slow
def test_sample_site_verifies_and_a_missing_module_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site, ignore=shutil.ignore_patterns(".venv", "dist"))
    python = SAMPLE_SITE / ".venv" / "bin" / "python"
    out = tmp_path / "out"
    bundle = [sys.executable, "-m", "bundler"]
    subprocess.run([*bundle, "build", "--out", str(out), "--python", str(python)], cwd=site,
                   check=True, capture_output=True)  # fmt: skip
    verify = [*bundle, "verify", "--out", str(out), "--python", str(python)]
    done = subprocess.run(verify, cwd=site, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert [line.split()[:2] for line in done.stdout.splitlines()] == [
        ["ok", name]
        for name in ("api", "daily-report", "fastapi-app", "hello", "quote",
                     "send-report-background", "stats", "todos")
    ]  # fmt: skip
    zipped = out / "todos.zip"
    with zipfile.ZipFile(zipped) as archive:
        kept = [
            (i, archive.read(i)) for i in archive.infolist() if not i.filename.startswith("bson/")
        ]
    with zipfile.ZipFile(zipped, "w") as archive:
        for info, data in kept:
            archive.writestr(info, data)
    done = subprocess.run(verify, cwd=site, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "FAIL todos                   ModuleNotFoundError: No module named 'bson'" in done.stdout


def _machine() -> str:
    import platform

    return platform.machine()
