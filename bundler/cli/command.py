"""One way out of every command: problems on stderr (and as GitHub Actions annotations),
with `--json` one document on stdout, and the exit codes 0 ok, 1 a problem, 2 a usage error.

Every command is a `BundleCommand`; a command returns normally or calls `finish` with the
problems it found, and any `BundlerError` it lets through, an `OSError` nobody expected,
or (with `--json`) click's own rejection of the command line leave through `fail`.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from bundler.cli.output import echo_problems, github_annotation, in_github_actions
from bundler.errors import BundlerError, Problem

JSON_VERSION = 1


class BundleCommand(click.Command):
    """A click command whose failures all go through `fail`."""

    def __init__(self, *args: Any, json_version: int = JSON_VERSION, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.json_version = json_version

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """click reports a bad command line on stderr; with `--json`, stdout gets the
        failure document too, so a caller that parses stdout always has one."""
        given = args[: args.index("--")] if "--" in args else list(args)  # click eats `args`
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as error:
            if "--json" not in given:
                raise
            error.show()
            problem = Problem(
                error.format_message(), hint=f"see `{ctx.command_path} --help` for the options"
            )
            fail([problem], error.exit_code, as_json=True, version=self.json_version, echo=False)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a BundlerError or an OSError becomes its report and exit code."""
        as_json = bool(ctx.params.get("as_json"))
        try:
            return super().invoke(ctx)
        except BundlerError as error:
            fail(error.problems, error.exit_code, as_json=as_json, version=self.json_version)
        except OSError as error:  # the disk or the system refused: a fault, not a bug
            if error.errno == errno.EPIPE:
                raise  # click quiets a closed pipe itself
            fail([fault(error)], 1, as_json=as_json, version=self.json_version)


def fault(error: OSError) -> Problem:
    """An OSError that reached the command: what the system said, about which file."""
    return Problem(
        f"the system refused: {error.strerror or error}",
        file=Path(error.filename) if error.filename else None,
        hint="check the file and its folder (space, permissions), then run the command again",
    )


def fail(
    problems: Sequence[Problem],
    exit_code: int,
    *,
    as_json: bool = False,
    version: int = JSON_VERSION,
    echo: bool = True,
) -> NoReturn:
    """Report `problems` and exit with `exit_code`; with `as_json`, print the document
    `{"version", "ok": false, "exitCode", "problems"}` on stdout."""
    root = Path.cwd()
    if echo:
        echo_problems(problems, root)
    annotate(problems, root, as_json)
    if as_json:
        document = {
            "version": version,
            "ok": False,
            "exitCode": exit_code,
            "problems": [p.to_json(root) for p in problems],
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    sys.exit(exit_code)


def finish(problems: Iterable[Problem], root: Path, *, as_json: bool = False) -> None:
    """Print the problems of a command that ran; exit 1 if one of them is an error."""
    found = list(problems)
    echo_problems(found, root)
    annotate(found, root, as_json)
    if any(p.severity == "error" for p in found):
        sys.exit(1)


def annotate(problems: Iterable[Problem], root: Path, as_json: bool) -> None:
    """GitHub Actions reads workflow commands from stdout; `--json` keeps stdout pure."""
    if in_github_actions():
        for problem in problems:
            click.echo(github_annotation(problem, root), err=as_json)
