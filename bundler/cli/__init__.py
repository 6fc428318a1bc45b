"""The `bundle` command: one module per subcommand, each turning results into output."""

from __future__ import annotations

import click

from bundler import __version__
from bundler.cli.audit import audit_command
from bundler.cli.build import build_command
from bundler.cli.manifest import manifest_command
from bundler.cli.serve import invoke_command, serve_command
from bundler.cli.verify import verify_command
from bundler.cli.why import why_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bundle")
def main() -> None:
    """Bundle a site's Python serverless functions into one Lambda-ready zip each."""


main.add_command(build_command)
main.add_command(manifest_command)
main.add_command(audit_command)
main.add_command(why_command)
main.add_command(verify_command)
main.add_command(serve_command)
main.add_command(invoke_command)
