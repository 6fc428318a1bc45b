"""How problems reach people: `file:line: message; hint` lines on stderr."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from bundler.errors import Problem


def echo_problems(problems: Iterable[Problem], root: Path) -> None:
    """Print each problem on stderr as `severity: file:line: message; hint`."""
    for problem in problems:
        click.echo(f"{problem.severity}: {problem.format(root)}", err=True)


def progress(message: str) -> None:
    """Progress lines go to stderr, so stdout stays the result."""
    click.echo(message, err=True)
