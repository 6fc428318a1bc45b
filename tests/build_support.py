"""The tiny site most build tests start from: an environment of three tiny wheels, two
healthy functions every failure is built beside, and `bundle build` through click's
CliRunner with the checks every run must pass."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support import build_wheel, make_venv, pip_install, write_tree

from bundler.cli import main

PYPROJECT = """\
[project]
name = "site"
version = "0.1.0"
dependencies = ["tinydist", "tinyapp"]

[project.optional-dependencies]
dev = ["devtool"]
"""

GOOD = """\
import tinydist


def handler(event, context):
    return {"statusCode": 200, "body": str(tinydist.VALUE)}
"""

OTHER = """\
from helper import greet


def handler(event, context):
    return {"statusCode": 200, "body": greet("other")}
"""

HELPER = """\
def greet(name):
    return "hello " + name
"""

# Two healthy functions every failure scenario is built beside.
HEALTHY = {
    "good.py": GOOD,
    "other/other.py": OTHER,
    "other/helper.py": HELPER,
    "other/data.txt": "some data\n",
}

# A manifest.json that the one reader accepts, for tests that change one field of it.
VALID_MANIFEST: dict[str, Any] = {
    "version": 1,
    "bundlerVersion": "0.1.0",
    "system": {"arch": "x86_64", "platform": "linux", "runtime": "python3.11"},
    "functions": [
        {
            "name": "good", "path": "good.zip", "mainFile": "netlify/functions/good.py",
            "handler": "good.handler", "runtime": "python3.11", "kind": "sync",
            "invocationMode": None, "schedule": None, "trigger": None, "files": 3,
            "zippedSize": 700, "unzippedSize": 900, "sha256": "ab" * 32,
            "distributions": [{"name": "tinydist", "version": "1.0", "bytes": 120}],
        }
    ],
}  # fmt: skip


def make_environment(root: Path) -> Path:
    """A pip-less venv holding tinydist (runtime), tinyapp (runtime, needs tinydist), devtool."""
    wheels = root / "wheels"
    tinydist = build_wheel(wheels, "tinydist", "1.0", {"tinydist.py": "VALUE = 42\n"})
    tinyapp = build_wheel(
        wheels,
        "tinyapp",
        "2.0",
        {"tinyapp/__init__.py": "import tinydist\n\nNAME = 'app'\n"},
        requires=["tinydist"],
    )
    devtool = build_wheel(wheels, "devtool", "3.0", {"devtool/__init__.py": "TOOL = True\n"})
    python = make_venv(root / "venv")
    pip_install(python, "--no-index", "--no-deps", str(tinydist), str(tinyapp), str(devtool))
    return python


def make_site(
    root: Path,
    functions: Mapping[str, str | bytes],
    pyproject: str = PYPROJECT,
    extra: Mapping[str, str | bytes] | None = None,
) -> Path:
    """A site: pyproject.toml, `functions` under netlify/functions, `extra` at the root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    write_tree(root / "netlify" / "functions", functions, dedent=True)
    write_tree(root, extra or {}, dedent=True)
    return root


def manifest_names(out: Path) -> list[str]:
    """The function names `out/manifest.json` lists, in its order."""
    document = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return [f["name"] for f in document["functions"]]


def zips(out: Path) -> dict[str, bytes]:
    """Every file directly in `out` (the zips and the manifest), by name."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def run(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    *arguments: str,
    python: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Result:
    """`bundle build ARGUMENTS --python PYTHON` from the site root; never a traceback."""
    monkeypatch.chdir(site)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    command = ["build", *arguments]
    if python is not None:
        command += ["--python", str(python)]
    result = CliRunner().invoke(main, command, env=dict(env or {}))
    assert_clean(result)
    return result


def assert_clean(result: Result) -> None:
    """Ended by sys.exit or normally, never by an exception; no traceback printed."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr


def error_lines(result: Result) -> list[str]:
    """The `error: ` lines of a run's stderr."""
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def out_files(site: Path) -> list[str]:
    """Every file in the default output folder, hidden temporary files included."""
    return sorted(p.name for p in (site / "dist" / "functions").iterdir())


def assert_only_the_bad_one_failed(site: Path, result: Result, bad: str) -> None:
    """Function `bad` failed alone: the healthy two built, listed and summed up."""
    assert result.exit_code == 1, result.output
    out = site / "dist" / "functions"
    assert out_files(site) == ["good.zip", "manifest.json", "other.zip"]
    assert manifest_names(out) == ["good", "other"]
    assert not (out / f"{bad}.zip").exists()
    assert result.stderr.splitlines()[-1] == f"failed: {bad}"
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line}
    assert rows[bad][-1] == "FAILED"
    assert rows["good"][-1] == "1"  # one distribution
    assert "2 of 3 built" in result.stdout
