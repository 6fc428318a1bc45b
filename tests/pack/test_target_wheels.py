"""Wheels for the target by default: a distribution whose installed wheel does not fit the
runtime is swapped for the same version's wheel for it, unless `--offline`; an index that
cannot be reached is said, with the error of the installed wheel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import build_wheel, make_venv, pip_install, write_tree

from bundler.cli import main
from bundler.pack import fit

TAG = "cp311-cp311-manylinux_2_28_x86_64"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A site whose one distribution is installed from a manylinux_2_28 wheel."""
    root = tmp_path_factory.mktemp("target")
    build_wheel(root / "wheels", "fastnum", files={"fastnum/__init__.py": ""}, tag=TAG)
    python = make_venv(root / "venv")
    pip_install(python, "--no-index", "--find-links", str(root / "wheels"), "fastnum")
    site = write_tree(
        root / "site",
        {
            "pyproject.toml": '[project]\nname = "s"\nversion = "1"\ndependencies = ["fastnum"]\n',
            "netlify/functions/calc.py": "import fastnum\n\n\ndef handler(event, context):\n"
            "    return {}\n",
        },
    )
    return site, python


def build(site: Path, monkeypatch: pytest.MonkeyPatch, *arguments: str) -> tuple[int, str]:
    monkeypatch.chdir(site)
    result = CliRunner().invoke(main, ["build", "--no-cache", *arguments])
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stderr


def test_offline_keeps_the_error_and_asks_the_index_nothing(
    site: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("--offline asked the package index")

    monkeypatch.setattr(fit, "fetch_wheel", no_network)
    monkeypatch.setattr(fit, "newest_version_with_wheel", no_network)
    root, python = site
    code, err = build(root, monkeypatch, "--python", str(python), "--offline")
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert error.endswith(
        f"fastnum 1.0 has no wheel for python3.11 on x86_64 (Amazon Linux 2, glibc 2.26): its "
        f"tags are {TAG} (it needs glibc 2.28, the runtime has 2.26); the runtime needs a "
        "cp311, abi3 or py3 wheel for manylinux_2_26_x86_64 or older, or a pure-Python one; "
        "install a version that has wheels for python3.11 on x86_64, or build without "
        "--offline to fetch them"
    )


def test_an_index_that_cannot_be_reached_is_said(
    site: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once
    for name, value in {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_RETRIES": "0",
        "PIP_DEFAULT_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(name, value)
    root, python = site
    code, err = build(root, monkeypatch, "--python", str(python))
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "(it needs glibc 2.28, the runtime has 2.26)" in error
    assert (
        "(the target's wheel could not be fetched: the package index "
        "http://127.0.0.1:9/simple cannot be reached: [Errno 111] Connection refused)" in error
    )
