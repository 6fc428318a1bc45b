"""End to end with the real project tools from PyPI: uv, Poetry, Pipenv and PDM each create a
project the way their users do (a runtime dependency, a runtime extra, a dev group), install
it, and the bundler, run from the site root with no flags while its own virtualenv is
activated, picks the tool's environment, ships the extra only where it is imported, never a
dev tool, and every zip answers `bundle verify --invoke`.

The tools share one virtualenv per session; each tool's caches and environments live under
the session's temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from support import write_tree, zip_distributions

pytestmark = pytest.mark.slow

BUNDLE = Path(sys.executable).parent / "bundle"
TIMEOUT = 600  # seconds a tool's command may take (resolving and downloading)

FUNCTIONS = {
    "netlify/functions/hello.py": (
        "import six\n\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': six.__name__}\n"
    ),
    "netlify/functions/intl.py": (
        "import idna\n\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': idna.encode('bücher.example').decode()}\n"
    ),
}
OWN = (
    "from {package} import greeting\n\n\ndef handler(event, context):\n"
    "    return {{'statusCode': 200, 'body': greeting()}}\n"
)


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One virtualenv with uv, Poetry, Pipenv and PDM, from PyPI; its bin folder.

    PDM 2.29 needs hishel 1.4 (its `pdm[locked]` pin): with hishel 2, which pip picks,
    every command that resolves fails on `hishel.SyncSqliteStorage`."""
    folder = tmp_path_factory.mktemp("tools")
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    pip = [str(folder / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    tools = ["uv", "poetry", "pipenv", "pdm", "hishel[httpx2]==1.4.0"]
    subprocess.run([*pip, *tools], check=True, timeout=TIMEOUT)
    return folder / "venv" / "bin"


def _environ(tools: Path, home: Path, **extra: str) -> dict[str, str]:
    """The tools on PATH, their caches and environments under `home`, and the bundler's own
    virtualenv activated (the README's way), which must not hide the site's."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("POETRY_", "PIPENV_", "UV_"))
    }
    environ.update(
        PATH=f"{tools}:{environ.get('PATH', '/usr/bin:/bin')}",
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        WORKON_HOME=str(home / "virtualenvs"),
        VIRTUAL_ENV=sys.prefix,
        PIPENV_YES="1",
        PIPENV_IGNORE_VIRTUALENVS="1",  # the tools must not install into the bundler's venv
        POETRY_VIRTUALENVS_IN_PROJECT="false",
        **extra,
    )
    return environ


def _run(command: Sequence[str], cwd: Path, environ: Mapping[str, str]) -> str:
    """`command`'s stdout; its stderr too in the failure message."""
    done = subprocess.run(
        list(command), cwd=cwd, env=dict(environ), capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _tool(command: Sequence[str], cwd: Path, environ: Mapping[str, str]) -> None:
    """A tool's command, with VIRTUAL_ENV removed: Poetry would install into it."""
    _run(command, cwd, {k: v for k, v in environ.items() if k != "VIRTUAL_ENV"})


def _check_site(site: Path, environ: Mapping[str, str], expected: str, own: bool) -> float:
    """Build with no flags, verify, and ask why pytest; returns the build's seconds."""
    started = time.perf_counter()
    output = _run([str(BUNDLE), "build", "--json"], site, environ)
    seconds = time.perf_counter() - started
    report = json.loads(output)
    assert report["ok"], output
    assert report["pythonReason"] == expected, output
    out = site / "dist" / "functions"
    shipped = {f["name"]: zip_distributions(out / f"{f['name']}.zip") for f in report["functions"]}
    assert shipped["hello"] == {"six"}
    assert shipped["intl"] == {"idna"}  # the runtime extra, only where it is imported
    if own:
        assert shipped["own"] == set()  # first-party code, no distribution
    verified = _run([str(BUNDLE), "verify", "--invoke"], site, environ)
    assert verified.count("ok ") == len(shipped), verified
    why = _run([str(BUNDLE), "why", "pytest"], site, environ).splitlines()
    assert why[0].startswith("pytest ") and ": dev group " in why[0], why
    dev_only = [line for line in why if line.startswith("  dev-only: from ")]
    assert len(dev_only) == len(shipped), why
    return seconds


def test_uv_project(tools: Path, tmp_path: Path) -> None:
    environ = _environ(tools, tmp_path, UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    _tool(["uv", "init", "--package", "--name", "site-uv", "site"], tmp_path, environ)
    site = tmp_path / "site"
    for command in (
        ["uv", "add", "six"],
        ["uv", "add", "--optional", "intl", "idna"],
        ["uv", "add", "--dev", "pytest"],
        ["uv", "sync", "--all-extras"],
    ):
        _tool(command, site, environ)
    write_tree(site, {**FUNCTIONS, "netlify/functions/own.py": OWN.format(package="site_uv")})
    (site / "src" / "site_uv" / "__init__.py").write_text("def greeting():\n    return 'hi'\n")
    seconds = _check_site(site, environ, "the site's .venv", own=True)
    print(f"uv site built in {seconds:.2f} s")


def test_poetry_project(tools: Path, tmp_path: Path) -> None:
    environ = _environ(tools, tmp_path, POETRY_VIRTUALENVS_PATH=str(tmp_path / "poetry-envs"))
    _tool(["poetry", "new", "site-poetry"], tmp_path, environ)
    site = tmp_path / "site-poetry"
    for command in (
        ["poetry", "add", "six"],
        ["poetry", "add", "--optional", "intl", "idna"],
        ["poetry", "add", "--group", "dev", "pytest"],
        ["poetry", "install", "--all-extras"],
    ):
        _tool(command, site, environ)
    write_tree(site, {**FUNCTIONS, "netlify/functions/own.py": OWN.format(package="site_poetry")})
    (site / "src" / "site_poetry" / "__init__.py").write_text("def greeting():\n    return 'hi'\n")
    assert not (site / ".venv").exists()  # the environment is Poetry's, outside the project
    seconds = _check_site(site, environ, "Poetry's environment for this folder", own=True)
    print(f"Poetry site built in {seconds:.2f} s")


def test_pipenv_project(tools: Path, tmp_path: Path) -> None:
    environ = _environ(tools, tmp_path)
    site = tmp_path / "site-pipenv"
    site.mkdir()
    for command in (
        ["pipenv", "install", "six"],
        ["pipenv", "install", "--categories", "intl", "idna"],
        ["pipenv", "install", "--dev", "pytest"],
    ):
        _tool(command, site, environ)
    write_tree(site, FUNCTIONS)
    seconds = _check_site(site, environ, "Pipenv's environment for this folder", own=False)
    print(f"Pipenv site built in {seconds:.2f} s")


def test_pdm_project(tools: Path, tmp_path: Path) -> None:
    environ = _environ(tools, tmp_path)
    site = tmp_path / "site-pdm"
    site.mkdir()
    base = Path(sys.base_prefix) / "bin" / "python3"  # PDM would reuse a virtualenv's
    for command in (
        ["pdm", "init", "-n", "--dist", "--python", str(base), "--name", "site-pdm"],
        ["pdm", "add", "six"],
        ["pdm", "add", "-G", "intl", "idna"],
        ["pdm", "add", "-d", "pytest"],
    ):
        _tool(command, site, environ)
    write_tree(site, {**FUNCTIONS, "netlify/functions/own.py": OWN.format(package="site_pdm")})
    (site / "src" / "site_pdm" / "__init__.py").write_text("def greeting():\n    return 'hi'\n")
    seconds = _check_site(site, environ, "the site's .venv", own=True)
    print(f"PDM site built in {seconds:.2f} s")
