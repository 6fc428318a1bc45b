"""One way out of every command (`bundler.cli.command`): exit codes, problems on stderr, and
with `--json` always one JSON document on stdout, whatever stopped the run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import pytest
from build_support import HEALTHY, PYPROJECT, make_site
from click.testing import CliRunner, Result

from bundler.cli import main
from bundler.cli.command import BundleCommand


def invoke(
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    arguments: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> Result:
    """`bundle ARGUMENTS` from `cwd`; never ended by an exception other than SystemExit."""
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    result = CliRunner().invoke(main, list(arguments), env=dict(env or {}), prog_name="bundle")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output + result.stderr
    return result


def document(result: Result) -> dict[str, Any]:
    """stdout as exactly one JSON document."""
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def failure(code: int, message: str, hint: str | None, file: str | None = None) -> dict[str, Any]:
    problem = {"severity": "error", "message": message, "file": file, "line": None,
               "function": None, "hint": hint}  # fmt: skip
    return {"version": 1, "ok": False, "exitCode": code, "problems": [problem]}


def test_every_command_leaves_through_one_place() -> None:
    def commands(group: click.Group) -> list[click.Command]:
        found: list[click.Command] = []
        for name in group.list_commands(click.Context(group)):
            command = group.get_command(click.Context(group), name)
            assert command is not None
            found += commands(command) if isinstance(command, click.Group) else [command]
        return found

    names = sorted(c.name or "" for c in commands(main))
    assert names == ["audit", "build", "invoke", "merge", "serve", "verify", "why"]
    assert all(isinstance(c, BundleCommand) for c in commands(main))


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """An interpreter that fails, and leaves a mark when anything runs it."""
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path}/ran\necho broken >&2\nexit 3\n")
    fake.chmod(0o755)
    return fake


def test_build_json_for_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "pyproject.toml").write_text(PYPROJECT)
    result = invoke(site, monkeypatch, ["build", "--json", "--python", "/usr/bin/python3"])
    assert result.exit_code == 2
    assert document(result) == failure(
        2,
        "the functions folder does not exist",
        "create it, or name another with FUNCTIONS_DIR or [tool.bundler] functions",
        "netlify/functions",
    )
    assert result.stderr.splitlines()[-1] == (
        "error: netlify/functions: the functions folder does not exist; create it, or name "
        "another with FUNCTIONS_DIR or [tool.bundler] functions"
    )


def test_build_json_for_an_environment_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_python: Path
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = invoke(site, monkeypatch, ["build", "--json", "--python", str(fake_python)])
    assert result.exit_code == 1
    assert document(result) == failure(
        1,
        "this is not a working Python interpreter: it failed with exit code 3: broken",
        "point --python at a Python 3.8 or later, or at a virtualenv folder that has one",
        str(fake_python),
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--zip-level", "9"], "No such option '--zip-level'."),
        (
            ["--shard", "4/3"],
            "Invalid value for '--shard': '4/3' is not K/N with 1 <= K <= N (e.g. 2/4)",
        ),
        (
            ["--out", "pyproject.toml"],
            "Invalid value for '--out': Directory 'pyproject.toml' is a file.",
        ),
        (
            ["--python", "/nonexistent"],
            "Invalid value for '--python': Path '/nonexistent' does not exist.",
        ),
        (["--jobs", "0"], "Invalid value for '-j' / '--jobs': 0 is not in the range x>=1."),
        (["a", "b"], "Got unexpected extra argument (b)"),
    ],
    ids=["unknown option", "bad shard", "out is a file", "no such python", "jobs 0", "extra"],
)  # fmt: skip
def test_build_json_when_click_rejects_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = invoke(site, monkeypatch, ["build", "--json", *arguments])
    assert result.exit_code == 2
    assert document(result) == failure(2, message, "see `bundle build --help` for the options")
    # people still get click's own usage text on stderr
    assert result.stderr.startswith("Usage: bundle build [OPTIONS] [FUNCTIONS_DIR]\n")
    assert result.stderr.endswith(f"Error: {message}\n")
    assert not (site / "dist").exists()


def test_without_json_click_rejections_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = invoke(site, monkeypatch, ["build", "--zip-level", "9"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith("Error: No such option '--zip-level'.\n")
    # a value that happens to be spelt --json, after `--`, is not the flag
    result = invoke(site, monkeypatch, ["build", "--zip-level", "9", "--", "--json"])
    assert (result.exit_code, result.stdout) == (2, "")


def test_audit_and_why_json_for_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_python: Path
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    (site / "dist" / "functions").mkdir(parents=True)
    result = invoke(site, monkeypatch, ["audit", "--json"])
    assert result.exit_code == 2
    assert document(result) == failure(
        2,
        f"no manifest.json in {site}/dist/functions",
        "run `bundle build` first (or pass --out with the folder it wrote)",
        "dist/functions/manifest.json",
    )
    result = invoke(site, monkeypatch, ["why", "tinydist", "--json", "--python", str(fake_python)])
    assert result.exit_code == 1
    assert document(result)["problems"][0]["message"] == (
        "this is not a working Python interpreter: it failed with exit code 3: broken"
    )


def test_annotations_of_a_failure_keep_json_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "pyproject.toml").write_text(PYPROJECT)
    arguments = ["build", "--json", "--python", "/usr/bin/python3"]
    result = invoke(site, monkeypatch, arguments, env={"GITHUB_ACTIONS": "true"})
    assert document(result)["exitCode"] == 2
    assert "::error file=netlify/functions,title=bundle::the functions folder does not exist" in (
        result.stderr
    )
    result = invoke(
        site, monkeypatch, arguments[:1] + arguments[2:], env={"GITHUB_ACTIONS": "true"}
    )
    assert result.stdout.startswith("::error file=netlify/functions,title=bundle::")


@click.command(name="reads", cls=BundleCommand)
@click.option("--json", "as_json", is_flag=True)
@click.argument("path", type=click.Path(path_type=Path))
def _reads(as_json: bool, path: Path) -> None:
    """A command that reads a file it was not promised: a real OSError, from the system."""
    path.read_text()


@pytest.mark.parametrize("as_json", [False, True])
def test_an_unexpected_os_error_is_reported_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    result = CliRunner().invoke(_reads, [*(["--json"] if as_json else []), "folder"])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    hint = "check the file and its folder (space, permissions), then run the command again"
    assert result.stderr == f"error: folder: the system refused: Is a directory; {hint}\n"
    if as_json:
        assert document(result) == failure(1, "the system refused: Is a directory", hint, "folder")
    else:
        assert result.stdout == ""
