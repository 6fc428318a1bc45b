"""`bundle manifest merge`: join the manifests of a sharded build."""

from __future__ import annotations

from pathlib import Path

import click

from bundler.cli.command import BundleCommand
from bundler.manifest.writer import merge_manifests, write_document
from bundler.pack.destinations import check_output_file, output_error


@click.group(name="manifest")
def manifest_command() -> None:
    """Work with manifest.json files."""


@manifest_command.command(name="merge", cls=BundleCommand)
@click.argument(
    "manifests", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("dist/functions/manifest.json"),
    show_default=True,
    help="Where the merged manifest goes.",
)
def merge_command(manifests: tuple[Path, ...], output: Path) -> None:
    """Join the manifests of `bundle build --shard K/N` runs into one."""
    check_output_file(output, "-o")
    merged = merge_manifests(manifests)
    try:
        write_document(output, merged.to_json())
    except OSError as error:
        raise output_error(output, error, "-o") from None
    click.echo(f"{output}: {len(merged.functions)} functions from {len(manifests)} manifests")
