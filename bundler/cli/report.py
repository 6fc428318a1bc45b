"""The build's results for people (a table) and for machines (a versioned JSON document)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bundler.errors import Problem, display_path
from bundler.pack.contents import FIRST_PARTY
from bundler.pack.limits import UNZIPPED_LIMIT, ZIPPED_LIMIT, human_size
from bundler.results import BuildResult, FunctionBuild

REPORT_VERSION = 1
_COLUMNS = ("function", "kind", "files", "zipped", "% of 50M", "unzipped", "% of 250M", "dists")


def summary_table(result: BuildResult) -> str:
    """One row per function, aligned, with a total line."""
    rows: list[tuple[str, ...]] = [_COLUMNS]
    for built in result.builds:
        rows.append(_row(built))
    done = [b.bundle for b in result.builds if b.bundle]
    rows.append(
        (
            f"{len(done)} of {len(result.builds)} built",
            "",
            str(sum(b.files for b in done)),
            human_size(sum(b.zipped for b in done)),
            "",
            human_size(sum(b.unzipped for b in done)),
            "",
            "",
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _row(built: FunctionBuild) -> tuple[str, ...]:
    kind = built.function.kind if built.function else "?"
    if built.bundle is None or built.resolution is None:
        return (built.name, kind, "FAILED", "", "", "", "", "")
    bundle = built.bundle
    return (
        built.name,
        kind,
        str(bundle.files),
        human_size(bundle.zipped),
        f"{bundle.zipped / ZIPPED_LIMIT:.1%}",
        human_size(bundle.unzipped),
        f"{bundle.unzipped / UNZIPPED_LIMIT:.1%}",
        str(len(built.resolution.distributions)),
    )


def all_problems(result: BuildResult) -> list[Problem]:
    """Every note, warning and error of a build, errors last."""
    problems = list(result.warnings)
    for built in result.builds:
        problems += built.problems
    problems += result.errors
    order = {"note": 0, "warning": 1, "error": 2}
    problems.sort(key=lambda p: (order[p.severity], p.function or ""))
    return problems


def json_report(result: BuildResult, root: Path) -> dict[str, Any]:
    """The build report: `--json` prints this (`bundler.cli.command` prints a run that stopped)."""
    return {
        "version": REPORT_VERSION,
        "ok": result.ok,
        "exitCode": 0 if result.ok else 1,
        "problems": [p.to_json(root) for p in result.errors],
        "site": display_path(result.site, root),
        "functionsDir": display_path(result.functions_dir, root),
        "out": display_path(result.out, root),
        "manifest": display_path(result.manifest, root) if result.manifest else None,
        "python": str(result.environment.interpreter.executable),
        "pythonVersion": ".".join(map(str, result.environment.interpreter.version)),
        "pythonReason": result.python_reason,
        "declarations": list(result.declaration_sources),
        "runtime": result.environment.target.runtime,
        "arch": result.environment.target.machine,
        "functions": [_function_json(b, root) for b in result.builds],
        "warnings": [p.to_json(root) for p in result.warnings],
    }


def _function_json(built: FunctionBuild, root: Path) -> dict[str, Any]:
    function = built.function
    document: dict[str, Any] = {
        "name": built.name,
        "status": "built" if built.ok else "failed",
        "kind": function.kind if function else None,
        "mainFile": display_path(function.main_file, root) if function else None,
        "handler": function.handler if function else None,
        "problems": [p.to_json(root) for p in built.problems],
    }
    if built.bundle and built.resolution:
        sizes = built.sizes
        document.update(
            {
                "zip": display_path(built.bundle.path, root),
                "files": built.bundle.files,
                "zippedSize": built.bundle.zipped,
                "unzippedSize": built.bundle.unzipped,
                "zippedShare": round(built.bundle.zipped / ZIPPED_LIMIT, 6),
                "unzippedShare": round(built.bundle.unzipped / UNZIPPED_LIMIT, 6),
                "sha256": built.bundle.sha256,
                "firstPartyBytes": sizes.get(FIRST_PARTY, 0),
                "distributions": [
                    {
                        "name": d.name,
                        "version": d.version,
                        "extras": list(d.extras),
                        "bytes": sizes.get(d.name, 0),
                        "reason": d.reason,
                        "role": d.role.to_json(),
                    }
                    for d in built.resolution.distributions
                ],
                "leftOut": dict(sorted(built.resolution.left_out.items())),
                "droppedFiles": [
                    {"pattern": p, "files": files, "bytes": size}
                    for p, (files, size) in sorted(built.dropped.items())
                ],
                "cached": built.cached,
            }
        )
    return document
