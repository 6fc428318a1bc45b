"""Building for a Lambda runtime: binaries that cannot load there are refused (naming a
version that can), the target's wheels are fetched unless --offline, --compile adds
bytecode.

These use real wheels from the package index (numpy 2.4.6 ships only manylinux_2_27/2_28
wheels, which cannot load on python3.11's Amazon Linux 2, glibc 2.26).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import api_event, invoke, make_venv, pip_install, write_tree

from bundler.cli import main

pytestmark = pytest.mark.slow

ELF_MACHINES = {62: "x86_64", 183: "aarch64"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """numpy 2.4.6 and markupsafe as pip installs them on this x86_64 machine."""
    root = tmp_path_factory.mktemp("fit")
    python = make_venv(root / "venv")
    pip_install(python, "--only-binary=:all:", "numpy==2.4.6", "markupsafe==3.0.2")
    site = write_tree(
        root / "site",
        {
            "pyproject.toml": '[project]\nname = "s"\nversion = "1"\n'
            'dependencies = ["numpy", "markupsafe"]\n',
            "netlify/functions/numbers.py": "import numpy\n\n\ndef handler(event, context):\n"
            "    return {'statusCode': 200, 'body': str(numpy.arange(3).sum())}\n",
            "netlify/functions/escape.py": "from markupsafe import escape\n\n\n"
            "def handler(event, context):\n"
            "    return {'statusCode': 200, 'body': str(escape('<b>'))}\n",
        },
    )
    return site, python


def run(site: Path, monkeypatch: pytest.MonkeyPatch, *arguments: str) -> tuple[int, str, str]:
    monkeypatch.chdir(site)
    result = CliRunner().invoke(main, ["build", *arguments])
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def machines(bundle: Path) -> set[str]:
    """The ELF machine of every native file in a zip."""
    found = set()
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            head = archive.read(name)[:20]
            if head[:4] == b"\x7fELF":
                found.add(ELF_MACHINES.get(int.from_bytes(head[18:20], "little"), "other"))
    return found


def test_a_wheel_too_new_for_the_runtimes_glibc_is_refused_with_a_version_that_fits(
    site: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, python = site
    code, _out, err = run(root, monkeypatch, "--python", str(python), "--out", "default")
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "numpy 2.4.6 has no wheel for python3.11 on x86_64 (Amazon Linux 2, glibc 2.26)" in error
    assert "it needs glibc 2.27" in error or "it needs glibc 2.28" in error
    assert (
        "numpy 2.2.6 is the newest version with a wheel for python3.11 on x86_64: pin "
        "numpy==2.2.6" in error
    )
    assert (root / "default" / "escape.zip").is_file()  # the other function still built
    assert not (root / "default" / "numbers.zip").exists()


def test_python312_accepts_what_python311_refuses(
    site: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # glibc 2.34 on python3.12's Amazon Linux 2023; the cp311 build is refused on its
    # interpreter tag instead, so check the wording says so and not glibc
    root, python = site
    code, _out, err = run(
        root, monkeypatch, "--python", str(python), "--runtime", "python3.12", "--offline",
        "--out", "py312",
    )  # fmt: skip
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors and all("CPython 3.11" in e and "glibc 2.2" not in e for e in errors)
    # without --offline, the same versions' cp312 wheels are fetched and shipped
    code, _out, err = run(
        root, monkeypatch, "--python", str(python), "--runtime", "python3.12", "--out", "py312"
    )
    assert code == 0, err
    swaps = sorted(line for line in err.splitlines() if ": using the " in line)
    assert [s.split(": using the ")[0].rsplit(": ", 1)[1] for s in swaps] == [
        "MarkupSafe 3.0.2",
        "numpy 2.4.6",
    ]


def test_fetch_wheels_builds_arm64_zips_with_aarch64_binaries_only(
    site: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, python = site
    code, _out, err = run(
        root, monkeypatch, "--python", str(python), "--arch", "arm64", "--fetch-wheels",
        "--out", "arm64",
    )  # fmt: skip
    # numpy 2.4.6 has no aarch64 wheel for glibc 2.26: that function fails, naming 2.2.6
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "numpy 2.4.6 has no wheel for python3.11 on arm64" in error
    assert (
        "numpy 2.2.6 is the newest version with a wheel for python3.11 on arm64: pin "
        "numpy==2.2.6" in error
    )
    [swap] = [line for line in err.splitlines() if "MarkupSafe 3.0.2: using the" in line]
    assert swap.startswith("note: ")
    assert "wheel; the installed one does not fit the runtime" in swap
    out = root / "arm64"
    assert machines(out / "escape.zip") == {"aarch64"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["system"] == {"arch": "arm64", "platform": "linux", "runtime": "python3.11"}
    assert [f["name"] for f in manifest["functions"]] == ["escape"]


def test_compile_ships_bytecode_that_the_runtime_uses(
    site: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, python = site
    args = ["--python", str(python), "--compile", "--no-cache"]
    run(root, monkeypatch, *args, "--out", "compiled")
    run(root, monkeypatch, *args, "--out", "compiled-again")
    bundle = root / "compiled" / "escape.zip"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    assert "__pycache__/escape.cpython-311.pyc" in names
    assert "markupsafe/__pycache__/__init__.cpython-311.pyc" in names
    assert bundle.read_bytes() == (root / "compiled-again" / "escape.zip").read_bytes()
    result = invoke(bundle, "escape", api_event(), tmp_path, python=python)
    assert result == {"statusCode": 200, "body": "&lt;b&gt;"}
