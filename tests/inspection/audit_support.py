"""The site `bundle audit` is tried on: a shared distribution, a native one with its
libraries, data and tests, and boto3 (provided by the runtime), built once by `bundle build`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from build_support import make_site
from click.testing import CliRunner, Result
from support import build_wheel, make_venv, pip_install

from bundler.cli import main

SO = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 24
LIB = b"\x7fELF\x02\x01\x01\x00" + bytes(reversed(range(256))) * 8
BLOB = bytes((i * 7919) % 251 for i in range(20000))
TEST_FILE = "def test_speed():\n    assert True\n" * 60
PYPROJECT = """\
[project]
name = "site"
version = "0.1.0"
dependencies = ["tinydist", "nativepkg", "boto3"]
"""
FUNCTIONS = {
    "alpha.py": "import nativepkg\nimport tinydist\n\n\ndef handler(event, context):\n"
    "    return {'statusCode': 200}\n",
    "beta/beta.py": "import tinydist\nfrom helper import greet\n\n\ndef handler(event, context):\n"
    "    return {'statusCode': 200, 'body': greet()}\n",
    "beta/helper.py": "def greet():\n    return 'hi'\n",
    "beta/data.txt": "some data\n" * 50,
    "cloud.py": "import boto3\n\n\ndef handler(event, context):\n    return boto3.NAME\n",
}


def make_audit_environment(root: Path) -> Path:
    """tinydist (shared), nativepkg (.so, .libs, data, tests/), boto3 -> botocore."""
    wheels = root / "wheels"
    built = [
        build_wheel(wheels, "tinydist", "1.0", {"tinydist.py": "VALUE = 42\n"}),
        build_wheel(
            wheels,
            "nativepkg",
            "3.1",
            {
                "nativepkg/__init__.py": "from nativepkg import _speed\n",
                "nativepkg/_speed.cpython-311-x86_64-linux-gnu.so": SO,
                "nativepkg.libs/libfast-1a2b.so.1.2": LIB,
                "nativepkg/table.bin": BLOB,
                "nativepkg/tests/test_speed.py": TEST_FILE,
            },
        ),
        build_wheel(
            wheels,
            "boto3",
            "1.34.0",
            {"boto3/__init__.py": "NAME = 'boto3'\n"},
            requires=["botocore"],
        ),
        build_wheel(
            wheels,
            "botocore",
            "1.34.0",
            {"botocore/__init__.py": "", "botocore/data/s3.json": '{"shapes": {}}\n' * 100},
        ),
    ]
    python = make_venv(root / "venv")
    pip_install(python, "--no-index", "--no-deps", *map(str, built))
    return python


def build_audit_site(root: Path) -> Path:
    """The site under `root`, built with `bundle build` (its environment beside it)."""
    python = make_audit_environment(root)
    site = make_site(root / "site", FUNCTIONS, PYPROJECT)
    previous = Path.cwd()
    os.chdir(site)
    try:
        result = CliRunner().invoke(main, ["build", "--python", str(python)])
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output + result.stderr
    return site


def run_audit(
    site: Path, *arguments: str, env: Mapping[str, str] | None = None, color: bool = False
) -> Result:
    """`bundle audit ARGUMENTS` from the site root; never a traceback."""
    previous = Path.cwd()
    os.chdir(site)
    try:
        result = CliRunner().invoke(main, ["audit", *arguments], env=env, color=color)
    finally:
        os.chdir(previous)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result
