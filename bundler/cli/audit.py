"""`bundle audit`: what each built zip weighs against Lambda's limits, and why."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import click

from bundler.cli.command import BundleCommand, finish
from bundler.cli.output import python_option
from bundler.errors import BundlerError, Problem, display_path
from bundler.inspection.audit import FunctionAudit, SiteAudit, Weight, audit_site
from bundler.inspection.treemap import audit_page
from bundler.pack.destinations import check_output_file, output_error
from bundler.pack.limits import UNZIPPED_LIMIT, ZIPPED_LIMIT, human_size
from bundler.pack.packer import write_text_atomically

AUDIT_VERSION = 1
BAR_WIDTH = 30
LISTED_FILES = 10
_EIGHTHS = " ▏▎▍▌▋▊▉"
_LIMITS = {"zipped": ZIPPED_LIMIT, "unzipped": UNZIPPED_LIMIT}


@click.command(name="audit", cls=BundleCommand, json_version=AUDIT_VERSION)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder holding manifest.json and the zips.  [default: dist/functions]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON (exact bytes).")
@click.option(
    "--html",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a self-contained page with a treemap of every zip to this file.",
)
@click.option(
    "--function",
    "functions",
    multiple=True,
    metavar="NAME",
    help="Audit only this function (repeatable).",
)
@click.option(
    "--fail-over",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda _c, _p, value: _finite(value),
    metavar="PERCENT",
    help="Exit 1 when a function passes this share of either Lambda limit (for CI).",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also look inside the shipped distributions (modulegraph) for imports of installed "
    "distributions their metadata does not declare: zips that work here only by luck. "
    "Seconds per function; needs functions-bundler[deep].",
)
@python_option("With --deep: the environment the site was built from.")
def audit_command(
    out: Path | None,
    as_json: bool,
    html: Path | None,
    functions: tuple[str, ...],
    fail_over: float | None,
    deep: bool,
    python: Path | None,
) -> None:
    """Show what each zip built by `bundle build` weighs, and why, run from the site root.

    Sizes are read from the zips themselves, against Lambda's limits of 50 MiB zipped and
    250 MiB unzipped: distributions, first-party files, largest files, bytes by kind, and
    what could be saved.
    """
    root = Path.cwd()
    if html is not None:
        check_output_file(root / html, "--html")  # before the work, not after it
    audit = audit_site(root / (out or Path("dist", "functions")), functions)
    problems = list(audit.problems)
    if deep:
        try:
            problems += deep_problems(audit, root, python)
        except BundlerError as error:
            problems += error.problems
    if fail_over is not None:
        problems += over_limits(audit, fail_over)
    if as_json:  # one document with the outcome, as every command's --json
        failed = any(p.severity == "error" for p in problems)
        document = audit_document(audit, root)
        document.update(
            ok=not failed,
            exitCode=1 if failed else 0,
            problems=[p.to_json(root) for p in problems],
        )
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        color = False if os.environ.get("NO_COLOR") else None
        click.echo(audit_text(audit), color=color)
    if html is not None:
        try:
            write_text_atomically(root / html, audit_page(audit, root))
        except OSError as error:
            raise output_error(root / html, error, "--html") from None
        click.echo(f"wrote {display_path(root / html, root)}", err=True)
    finish(problems, root, as_json=as_json)


def _finite(value: float | None) -> float | None:
    """click's FloatRange lets `nan` and `inf` through; no share is ever over them."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of percent (e.g. 80)")
    return value


def deep_problems(audit: SiteAudit, root: Path, python: Path | None) -> list[Problem]:
    """`deep_look` over each audited zip; what `[tool.bundler] exclude` drops is expected."""
    from bundler.environment.choice import default_python, python_in
    from bundler.environment.distributions import Environment
    from bundler.environment.interpreter import Interpreter
    from bundler.inspection.deep import deep_look
    from bundler.project.config import SiteConfig

    config = SiteConfig.from_root(root)
    interpreter = Interpreter.from_executable(python_in(python) if python else default_python(root))
    environment = Environment.from_interpreter(interpreter)
    problems: list[Problem] = []
    for function in sorted(audit.functions, key=lambda f: f.name):
        started = time.perf_counter()
        ignore = config.settings_for(function.name).excluded_distributions
        findings = deep_look(function.path, environment, ignore=ignore)
        elapsed = time.perf_counter() - started
        click.echo(
            f"deep look into {function.name}: {len(findings)} found in {elapsed:.1f} s", err=True
        )
        problems += [finding.to_problem() for finding in findings]
    return problems


def over_limits(audit: SiteAudit, percent: float) -> list[Problem]:
    """A problem for each function and limit past `percent` % of that limit."""
    problems = []
    for function in sorted(audit.functions, key=lambda f: f.name):
        for what, share in function.shares().items():
            if share * 100 > percent:
                size = function.zipped if what == "zipped" else function.unzipped
                problems.append(
                    Problem(
                        f"function {function.name} is {human_size(size)} {what}, {share:.1%} "
                        f"of Lambda's {human_size(_LIMITS[what])} limit, over --fail-over "
                        f"{percent:g}%",
                        file=function.path,
                        function=function.name,
                        hint="run `bundle audit` to see what takes the space",
                    )
                )
    return problems


def percent(share: float) -> str:
    """`63.2%`, with two decimals under 10 % so that small zips do not read as 0.0%."""
    if 0 < share < 0.00005:
        return "<0.01%"
    return f"{share:.2%}" if share < 0.1 else f"{share:.1%}"


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A bar of `width` cells filled to `share` (capped at 1) in eighths of a cell."""
    eighths = round(min(max(share, 0.0), 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text + "·" * (width - len(text))


def audit_text(audit: SiteAudit) -> str:
    """The audit for people: one block per function, biggest first."""
    blocks = [_function_text(f, len(audit.names)) for f in audit.functions]
    return "\n\n".join(blocks) if blocks else "no functions in the manifest"


def _function_text(function: FunctionAudit, total: int) -> str:
    lines = [
        click.style(function.name, bold=True)
        + f"  {function.path.name}, {len(function.members)} files"
    ]
    for what, share in function.shares().items():
        size = function.zipped if what == "zipped" else function.unzipped
        colour = "red" if share >= 0.8 else "yellow" if share >= 0.5 else "green"
        lines.append(
            f"  {what:<9} {human_size(size):>10}  {click.style(bar(share), fg=colour)} "
            f"{percent(share):>6} of {human_size(_LIMITS[what])}"
        )
    rows: list[tuple[str, ...]] = [
        ("distribution", "version", "files", "unzipped", "share", "zipped", "shipped by")
    ]
    for d in function.distributions:
        rows.append(_row(d.name, d.version, d.weight, d.share, f"{d.shipped_by} of {total}"))
    first = Weight.of(function.first_party)
    rows.append(_row("first-party code", "", first, first.size / (function.unzipped or 1), ""))
    lines += ["", *_table(rows, right=(2, 3, 4, 5))]
    kinds = ", ".join(
        f"{kind} {human_size(w.size)} ({w.size / (function.unzipped or 1):.0%})"
        for kind, w in function.kinds().items()
        if w.files
    )
    lines += ["", f"  by kind: {kinds}" if kinds else "  by kind: (empty zip)"]
    lines += _files("largest files", function.largest, owner=True)
    lines += _files("first-party files", function.first_party, owner=False)
    for saving in function.savings:
        lines.append("")
        lines.append(
            f"  {click.style('saving', fg='cyan')}: {human_size(saving.weight.size)} unzipped, "
            f"{human_size(saving.weight.zipped)} zipped: {saving.title}"
        )
        if saving.action:
            lines.append(f"    add to pyproject.toml: {saving.action}")
    if function.dropped:
        saved = ", ".join(
            f"{d.pattern} {d.files} files {human_size(d.bytes)}" for d in function.dropped
        )
        lines += ["", f"  saved by exclude patterns (unzipped): {saved}"]
    return "\n".join(lines)


def _row(name: str, version: str, weight: Weight, share: float, shipped: str) -> tuple[str, ...]:
    return (
        name,
        version,
        str(weight.files),
        human_size(weight.size),
        f"{share:.1%}",
        human_size(weight.zipped),
        shipped,
    )


def _table(rows: list[tuple[str, ...]], right: tuple[int, ...]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        text = "  " + "  ".join(cells).rstrip()
        lines.append(click.style(text, dim=True) if index == 0 else text)
    return lines


def _files(title: str, members: Any, owner: bool) -> list[str]:
    if not members:
        return []
    lines = ["", f"  {title}:"]
    width = max(len(human_size(m.size)) for m in members[:LISTED_FILES])
    for member in members[:LISTED_FILES]:
        who = f"  ({member.owner or 'first-party'})" if owner else ""
        lines.append(f"    {human_size(member.size):>{width}}  {member.name}{who}")
    if len(members) > LISTED_FILES:
        rest = members[LISTED_FILES:]
        size = human_size(sum(m.size for m in rest))
        lines.append(f"    {size:>{width}}  ... and {len(rest)} more")
    return lines


def _weight(weight: Weight) -> dict[str, int]:
    return {
        "files": weight.files,
        "bytes": weight.size,
        "compressedBytes": weight.compressed,
        "zippedBytes": weight.zipped,
    }


def audit_document(audit: SiteAudit, root: Path) -> dict[str, Any]:
    """The audit for machines (`--json`): exact bytes that add up to the zips' own."""
    return {
        "version": AUDIT_VERSION,
        "out": display_path(audit.out, root),
        "limits": {"zipped": ZIPPED_LIMIT, "unzipped": UNZIPPED_LIMIT},
        "functions": [_function_document(f, root) for f in audit.functions],
        "distributions": [
            {"name": name, "functions": list(names)} for name, names in audit.shipped_by.items()
        ],
        "problems": [p.to_json(root) for p in audit.problems],
    }


def _function_document(function: FunctionAudit, root: Path) -> dict[str, Any]:
    shares = function.shares()
    members = Weight.of(function.members)
    return {
        "name": function.name,
        "zip": display_path(function.path, root),
        "files": members.files,
        "zippedBytes": function.zipped,
        "unzippedBytes": members.size,
        "compressedBytes": members.compressed,
        "zipOverheadBytes": function.zipped - members.zipped,
        "limits": {
            "zipped": {"bytes": function.zipped, "limit": ZIPPED_LIMIT, "share": shares["zipped"]},
            "unzipped": {
                "bytes": members.size,
                "limit": UNZIPPED_LIMIT,
                "share": shares["unzipped"],
            },
        },
        "distributions": [
            {
                "name": d.name,
                "version": d.version,
                **_weight(d.weight),
                "share": d.share,
                "shippedBy": d.shipped_by,
            }
            for d in function.distributions
        ],
        "firstParty": {
            **_weight(Weight.of(function.first_party)),
            "members": [
                {"name": m.name, "bytes": m.size, "compressedBytes": m.compressed}
                for m in function.first_party
            ],
        },
        "largestFiles": [
            {
                "name": m.name,
                "owner": m.owner or None,
                "kind": m.kind,
                "bytes": m.size,
                "compressedBytes": m.compressed,
            }
            for m in function.largest
        ],
        "kinds": {kind: _weight(w) for kind, w in function.kinds().items()},
        "savings": [
            {
                "title": s.title,
                **_weight(s.weight),
                "distributions": list(s.distributions),
                "action": s.action,
            }
            for s in function.savings
        ],
        "droppedFiles": [dataclasses.asdict(d) for d in function.dropped],
    }
