"""`bundle verify`: import each built handler the way Lambda would; exit 1 if one fails."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bundler.cli.command import BundleCommand
from bundler.cli.output import echo_problems, python_option
from bundler.environment.choice import default_python, python_in
from bundler.inspection.verify import verify_bundles


@click.command(name="verify", cls=BundleCommand)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist", "functions"),
    show_default=True,
    help="Folder holding manifest.json and the zips.",
)
@python_option("Interpreter (or virtualenv) of the runtime's Python version.")
@click.option(
    "--invoke", is_flag=True, help="Also call each handler with an API Gateway GET / event."
)
def verify_command(out: Path, python: Path | None, invoke: bool) -> None:
    """Unzip each bundle and import its handler in a clean interpreter, as Lambda does.

    Run it in CI after `bundle build`. On another architecture than the bundles' only
    their native files are checked.
    """
    root = Path.cwd()
    interpreter = python_in(python) if python else default_python(root)
    result = verify_bundles(root / out, interpreter, invoke=invoke)
    if not result.ran:
        click.echo(
            f"note: the bundles are for {result.target.arch}: they cannot run on this "
            "machine, so only their files are checked",
            err=True,
        )
    width = max((len(check.name) for check in result.checks), default=0)
    for check in result.checks:
        echo_problems(check.problems, root)
        status = "ok" if check.ok else "FAIL"
        click.echo(f"{status:<4} {check.name:<{width}}  {check.detail}")
    if not result.ok:
        sys.exit(1)
