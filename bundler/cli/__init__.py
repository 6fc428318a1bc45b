"""The `bundle` command: one module per subcommand, each turning results into output.

Each subcommand's module is imported when that command runs (click's LazyGroup pattern):
`bundle build` does not pay for serve's web server or audit's treemap, which took a fifth
of a no-change rebuild of 2,000 functions. `bundle --help` still imports them all, for
their help text.
"""

from __future__ import annotations

import importlib

import click

from bundler import __version__

# command name -> (module, attribute), in the order `bundle --help` lists them
COMMANDS = {
    "build": ("bundler.cli.build", "build_command"),
    "manifest": ("bundler.cli.manifest", "manifest_command"),
    "audit": ("bundler.cli.audit", "audit_command"),
    "why": ("bundler.cli.why", "why_command"),
    "verify": ("bundler.cli.verify", "verify_command"),
    "serve": ("bundler.cli.serve", "serve_command"),
    "invoke": ("bundler.cli.serve", "invoke_command"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported from `COMMANDS` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, without importing any of them."""
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called `cmd_name`, its module imported now."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module}.{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bundle")
def main() -> None:
    """Bundle a site's Python serverless functions into one Lambda-ready zip each."""
