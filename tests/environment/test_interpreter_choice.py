"""Which interpreter holds the site's packages: the issue's order, the tools' own paths
computed without running the tools, and the errors when there is none."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import make_venv, write_tree

from bundler.cli import main
from bundler.environment.choice import (
    _hatch_environment,
    _pipenv_environment,
    _poetry_environments,
    choose_python,
    is_own_environment,
)
from bundler.errors import UsageError
from bundler.project.config import SiteConfig

UV_SITE = {"pyproject.toml": '[project]\nname = "site-uv"\ndependencies = ["webapi"]\n'}
POETRY_SITE = {
    "pyproject.toml": '[tool.poetry]\nname = "Site_Poetry"\n\n'
    '[tool.poetry.dependencies]\npython = "^3.11"\nwebapi = "*"\n'
}


def _venv(path: Path) -> Path:
    """A folder that looks like a virtualenv to the choice (it is not run here)."""
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").write_text("")
    return path / "bin" / "python"


def _choose(site: Path, environ: dict[str, str], given: Path | None = None) -> tuple[str, str]:
    config = SiteConfig.from_root(site)
    choice = choose_python(site, given, config.python, config.declarations, environ)
    shown = (
        choice.executable.relative_to(site)
        if choice.executable.is_relative_to(site)
        else choice.executable
    )
    return str(shown), choice.reason


def test_the_tools_paths_are_computed_as_the_tools_compute_them() -> None:
    """Checked against the paths Poetry 2.5, Pipenv 2026.10 and Hatch 1.18 created for these
    folders (the hash of Poetry's can start with `-`)."""
    sites = Path("/work/research/shapes/sites")  # only hashed: nothing there is read
    home = {"POETRY_VIRTUALENVS_PATH": "/p", "WORKON_HOME": "/w", "HATCH_DATA_DIR": "/h"}
    assert _poetry_environments(sites / "site-poetry", "site-poetry", home) == [
        Path("/p/site-poetry-WDffqJEP-py3.X")
    ]
    assert _poetry_environments(sites / "site-poetry-init", "site-poetry-init", home) == [
        Path("/p/site-poetry-init--0Fjj9yd-py3.X")
    ]
    assert _pipenv_environment(sites / "site-pipenv", home) == Path("/w/site-pipenv-VX4TbNCu")
    assert _hatch_environment(sites / "site-hatch", "site_hatch", home) == Path(
        "/h/env/virtual/site-hatch/o5l9borI/site-hatch"
    )


def test_the_order(tmp_path: Path) -> None:
    site = write_tree(tmp_path / "site", UV_SITE)
    other = _venv(tmp_path / "other")
    given = tmp_path / "given"
    _venv(given)
    active = {"VIRTUAL_ENV": str(other.parent.parent)}
    # $VIRTUAL_ENV of another environment, and nothing of the site's own
    assert _choose(site, active) == (str(other), "$VIRTUAL_ENV")
    # the site's own environment comes before it
    _venv(site / "venv")
    assert _choose(site, active) == ("venv/bin/python", "the site's venv")
    _venv(site / ".venv")
    assert _choose(site, active) == (".venv/bin/python", "the site's .venv")
    _venv(site / ".venv-alt")
    uv = {**active, "UV_PROJECT_ENVIRONMENT": ".venv-alt"}
    assert _choose(site, uv) == (".venv-alt/bin/python", "$UV_PROJECT_ENVIRONMENT")
    # [tool.bundler] python before the site's environments; --python before everything
    (site / "pyproject.toml").write_text(
        UV_SITE["pyproject.toml"] + '[tool.bundler]\npython = "venv"\n'
    )
    assert _choose(site, uv) == ("venv/bin/python", "[tool.bundler] python")
    assert _choose(site, uv, given) == (str(given / "bin" / "python"), "--python")


def test_the_activated_bundler_venv_never_hides_the_sites(tmp_path: Path) -> None:
    site = write_tree(tmp_path / "site", UV_SITE)
    own = {"VIRTUAL_ENV": sys.prefix}
    assert is_own_environment(sys.prefix)
    _venv(site / ".venv")
    assert _choose(site, own) == (".venv/bin/python", "the site's .venv")
    (site / ".venv" / "bin" / "python").unlink()
    with pytest.raises(UsageError) as raised:
        _choose(site, own)
    (problem,) = raised.value.problems
    assert problem.message == (
        "the site has no environment: no .venv or venv in the site root; the active "
        "virtualenv is the bundler's own, which holds none of the site's runtime dependencies"
    )
    assert problem.hint == (
        "create one with `python -m venv .venv && .venv/bin/pip install -e .`, or point "
        '--python (or [tool.bundler] python = ".venv") at the environment that holds its '
        "packages"
    )


def test_the_bundlers_own_python_only_when_it_can_serve(tmp_path: Path) -> None:
    site = write_tree(tmp_path / "site", {"netlify.toml": "[build]\n"})
    assert _choose(site, {}) == (
        sys.executable,
        "the bundler's own Python (the site has no environment and declares no runtime "
        "dependencies)",
    )
    write_tree(site, {"requirements.txt": "click>=8\n"})  # the bundler itself has click
    assert _choose(site, {}) == (
        sys.executable,
        "the bundler's own Python, which holds the site's runtime dependencies",
    )


def test_poetrys_environment_outside_the_project(tmp_path: Path) -> None:
    site = write_tree(tmp_path / "site", POETRY_SITE)
    environ = {"POETRY_VIRTUALENVS_PATH": str(tmp_path / "envs"), "VIRTUAL_ENV": sys.prefix}
    (expected,) = _poetry_environments(site, "site-poetry", environ)
    with pytest.raises(UsageError) as raised:
        _choose(site, environ)
    (problem,) = raised.value.problems
    assert problem.message.startswith(
        f"Poetry's environment for this folder was expected at {expected}, which does not exist"
    )
    assert problem.hint == (
        f"create it with `poetry install` in {site}, or point --python at the site's environment"
    )
    older = _venv(Path(str(expected).replace("py3.X", "py3.9")))
    newer = _venv(Path(str(expected).replace("py3.X", "py3.11")))
    assert _choose(site, environ) == (str(newer), "Poetry's environment for this folder")
    assert older.exists()


def test_pipenv_and_hatch_environments(tmp_path: Path) -> None:
    pipenv = write_tree(tmp_path / "pipenv site", {"Pipfile": '[packages]\nwebapi = "*"\n'})
    environ = {"WORKON_HOME": str(tmp_path / "workon"), "HATCH_DATA_DIR": str(tmp_path / "h")}
    python = _venv(_pipenv_environment(pipenv, environ))
    assert _choose(pipenv, environ) == (str(python), "Pipenv's environment for this folder")
    hatch = write_tree(
        tmp_path / "hatch",
        {
            "pyproject.toml": '[project]\nname = "Site.Hatch"\ndependencies = ["webapi"]\n'
            "[tool.hatch.envs.default]\ndependencies = []\n"
        },
    )
    python = _venv(_hatch_environment(hatch, "Site.Hatch", environ))
    assert _choose(hatch, environ) == (str(python), "Hatch's default environment")
    (tmp_path / "pdm-python").mkdir()
    pdm = write_tree(tmp_path / "pdm", {**UV_SITE, ".pdm-python": f"{python}\n"})
    assert _choose(pdm, environ) == (str(python), "PDM's .pdm-python")


def test_a_missing_tool_bundler_python_is_a_usage_error(tmp_path: Path) -> None:
    site = write_tree(tmp_path / "site", {"pyproject.toml": '[tool.bundler]\npython = "env"\n'})
    with pytest.raises(UsageError) as raised:
        _choose(site, {})
    assert [(p.message, p.file) for p in raised.value.problems] == [
        ("[tool.bundler] python names env, which does not exist", site / "pyproject.toml")
    ]


def test_build_with_the_bundler_venv_activated_picks_the_sites_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's way: the bundler in its own virtualenv, activated, run from the site."""
    site = write_tree(
        tmp_path / "site",
        {
            "requirements.txt": "# nothing third-party\n",
            "netlify/functions/hello.py": "def handler(event, context):\n    return 1\n",
        },
    )
    venv = make_venv(site / ".venv")
    monkeypatch.chdir(site)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    result = CliRunner().invoke(main, ["build", "--no-cache"])
    assert result.exit_code == 0, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"environment: .venv/bin/python (Python {sys.version_info[0]}.")
    assert first.endswith("), the site's .venv")
    assert venv.exists()


def test_build_with_no_environment_exits_2_and_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            **POETRY_SITE,
            "netlify/functions/hello.py": "import webapi\n\n\ndef handler(e, c):\n    return 1\n",
        },
    )
    monkeypatch.chdir(site)
    monkeypatch.setenv("POETRY_VIRTUALENVS_PATH", str(tmp_path / "envs"))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    result = CliRunner().invoke(main, ["build", "--json"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: Poetry's environment for this folder was expected at ")
    assert line.endswith(
        f"which does not exist; create it with `poetry install` in {site}, or point --python "
        "at the site's environment"
    )
    assert os.environ.get("VIRTUAL_ENV") is None
