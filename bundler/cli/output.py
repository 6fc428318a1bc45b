"""How results reach people: problems on stderr, a progress bar on a terminal, plain
lines in CI logs, and GitHub Actions annotations when running there."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from click.decorators import FC

from bundler.errors import Problem, display_path

PROGRESS_BAR_MIN_FUNCTIONS = 4
_PYTHON_DEFAULT = (
    "[default: [tool.bundler] python, the site's own environment (.venv, venv, Poetry's, "
    "Pipenv's, Hatch's), then $VIRTUAL_ENV]"
)


def python_option(
    what: str = "Interpreter (or virtualenv) holding the site's packages.",
) -> Callable[[FC], FC]:
    """The `--python` option every command shares, with `what` it is for."""
    return click.option(
        "--python",
        type=click.Path(path_type=Path, exists=True),
        help=f"{what}  {_PYTHON_DEFAULT}",
    )


def echo_problems(problems: Iterable[Problem], root: Path) -> None:
    """Print each problem on stderr as `severity: file:line: message; hint`."""
    for problem in problems:
        click.echo(f"{problem.severity}: {problem.format(root)}", err=True)


def progress(message: str) -> None:
    """Progress lines go to stderr, so stdout stays the result."""
    click.echo(message, err=True)


def in_github_actions() -> bool:
    """Whether this runs as a GitHub Actions step (it then reads workflow commands)."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def github_annotation(problem: Problem, root: Path) -> str:
    """`::error file=F,line=L,title=bundle NAME::message` (workflow command syntax)."""
    command = "error" if problem.severity == "error" else "warning"
    if problem.severity == "note":
        command = "notice"
    properties = []
    if problem.file is not None:
        properties.append(f"file={_escape_property(display_path(problem.file, root))}")
    if problem.line:
        properties.append(f"line={problem.line}")
    title = f"bundle {problem.function}" if problem.function else "bundle"
    properties.append(f"title={_escape_property(title)}")
    text = problem.message + (f"; {problem.hint}" if problem.hint else "")
    return f"::{command} {','.join(properties)}::{_escape_data(text)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class BuildProgress:
    """A progress bar on an interactive terminal for builds of several functions; the
    plain `building NAME` lines everywhere else (CI logs, pipes)."""

    def __init__(self) -> None:
        self.interactive = sys.stderr.isatty() and not os.environ.get("CI")
        self.bar: Any = None

    def message(self, text: str) -> None:
        """A progress line on stderr, unless the progress bar is drawing."""
        if self.bar is None:
            progress(text)

    def step(self, done: int, total: int) -> None:
        """Called with done=0 before the first function, then after each one."""
        if done == 0 and self.interactive and total >= PROGRESS_BAR_MIN_FUNCTIONS:
            self.bar = click.progressbar(length=total, label="building", file=sys.stderr)
            self.bar.__enter__()
        elif self.bar is not None:
            self.bar.update(1)
            if done == total:
                self.bar.__exit__(None, None, None)
                self.bar = None
