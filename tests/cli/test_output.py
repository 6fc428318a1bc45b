"""The CLI's output helpers: GitHub annotations and the progress bar's choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.cli.output import BuildProgress, github_annotation
from bundler.errors import Problem


def test_annotation_escapes_data_and_properties(tmp_path: Path) -> None:
    problem = Problem(
        "50% over\nthe limit",
        file=tmp_path / "a,b:c.py",
        line=7,
        function="fn",
        hint="split it",
    )
    assert github_annotation(problem, tmp_path) == (
        "::error file=a%2Cb%3Ac.py,line=7,title=bundle fn::50%25 over%0Athe limit; split it"
    )


def test_warnings_and_notes_become_their_own_commands(tmp_path: Path) -> None:
    assert (
        github_annotation(Problem("w", severity="warning"), tmp_path) == "::warning title=bundle::w"
    )
    assert github_annotation(Problem("n", severity="note"), tmp_path) == "::notice title=bundle::n"


def test_no_bar_outside_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    progress = BuildProgress()  # pytest captures stderr: not a terminal
    progress.step(0, 10)
    progress.message("building a")
    progress.step(1, 10)
    assert progress.bar is None
    assert capsys.readouterr().err == "building a\n"


def test_a_bar_on_a_terminal_for_several_functions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    progress = BuildProgress()
    progress.interactive = True
    progress.step(0, 4)
    progress.message("building a")  # the bar replaces the lines
    assert progress.bar is not None
    for done in range(1, 5):
        progress.step(done, 4)
    assert progress.bar is None
    assert "building a" not in capsys.readouterr().err


def test_few_functions_keep_the_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    progress = BuildProgress()
    progress.interactive = True
    progress.step(0, 3)
    progress.message("building a")
    assert progress.bar is None
    assert capsys.readouterr().err == "building a\n"
