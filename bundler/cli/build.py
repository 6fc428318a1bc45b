"""`bundle build`: turns a build's results and errors into output and exit codes."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import click

from bundler.build import build
from bundler.cli.command import BundleCommand, annotate
from bundler.cli.output import BuildProgress, echo_problems, python_option
from bundler.cli.report import REPORT_VERSION, all_problems, json_report, summary_table
from bundler.cli.shard import parse_shard
from bundler.pack.limits import human_size
from bundler.results import BuildOptions


@click.command(name="build", cls=BundleCommand, json_version=REPORT_VERSION)
@click.argument(
    "functions_dir",
    required=False,
    type=click.Path(path_type=Path, file_okay=False),
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=True, file_okay=False),
    help="Folder for NAME.zip and manifest.json.  [default: dist/functions]",
)
@python_option()
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Functions built at once.  [default: every core]",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where unchanged functions and compressed files are kept between builds.  "
    "[default: .bundle-cache]",
)
@click.option("--no-cache", is_flag=True, help="Build everything again; keep no cache.")
@click.option(
    "--shard",
    callback=lambda _c, _p, value: parse_shard(value, os.environ),
    metavar="K/N|auto",
    help="Build only the K-th of N deterministic shares of the functions (for CI matrices; "
    "join the manifests with `bundle manifest merge`).  `auto` reads K and N from GitLab's, "
    "CircleCI's or Buildkite's parallel-job variables.",
)
@click.option(
    "--runtime",
    metavar="python3.X",
    help="The Lambda runtime to build for.  [default: [tool.bundler] runtime, else the "
    "version of --python]",
)
@click.option(
    "--arch",
    metavar="x86_64|arm64",
    help="The Lambda architecture.  [default: [tool.bundler] arch, else x86_64]",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Never ask the package index: a distribution whose installed wheel does not fit "
    "the runtime is an error (by default the same version's wheel for the runtime is "
    "fetched, e.g. manylinux2014 for a manylinux_2_28 install, aarch64 on x86_64).",
)
@click.option(
    "--fetch-wheels",
    is_flag=True,
    hidden=True,
    help="Kept for scripts: fetching the target's wheel is the default.",
)
@click.option(
    "--compile",
    "compile_",
    is_flag=True,
    help="Ship deterministic bytecode for the target Python (faster cold starts; needs "
    "--python of the runtime's version).",
)
def build_command(
    functions_dir: Path | None,
    out: Path | None,
    python: Path | None,
    as_json: bool,
    jobs: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    shard: tuple[int, int] | None,
    runtime: str | None,
    arch: str | None,
    offline: bool,
    fetch_wheels: bool,
    compile_: bool,
) -> None:
    """Build one zip per function in FUNCTIONS_DIR, run from the site root.

    FUNCTIONS_DIR defaults to [tool.bundler] functions in pyproject.toml, then
    [functions] directory in netlify.toml, then netlify/functions.
    """
    root = Path.cwd()
    started = time.perf_counter()
    bar = BuildProgress()
    options = BuildOptions(
        jobs=jobs,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        shard=shard,
        runtime=runtime,
        arch=arch,
        offline=offline and not fetch_wheels,
        compile=compile_,
    )
    result = build(
        root, functions_dir, out, python, progress=bar.message, step=bar.step, options=options
    )  # a BundlerError (usage, environment) leaves through BundleCommand
    problems = all_problems(result)
    echo_problems(problems, root)
    annotate(problems, root, as_json)
    elapsed = time.perf_counter() - started
    peak = peak_memory()
    if as_json:
        report = json_report(result, root)
        report["run"] = {"seconds": round(elapsed, 3), "peakMemoryBytes": peak}
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        click.echo(summary_table(result))
    cached = sum(b.cached for b in result.builds)
    click.echo(
        f"built {len(result.builds)} functions ({cached} unchanged) in {elapsed:.1f} s, "
        f"peak memory {human_size(peak)}",
        err=True,
    )
    if not result.ok:
        failed = [b.name for b in result.builds if not b.ok]
        click.echo(f"failed: {', '.join(failed) or 'writing the output folder'}", err=True)
        sys.exit(1)


def peak_memory() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
