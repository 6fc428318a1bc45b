"""`bundle why NAME`: every chain that puts a distribution in each function, or why not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from packaging.utils import canonicalize_name

from bundler.analysis.session import Site
from bundler.cli.command import BundleCommand
from bundler.cli.output import python_option
from bundler.errors import display_path
from bundler.inspection.why import explain
from bundler.inspection.why_answers import Explanation, FunctionWhy, Reason
from bundler.inspection.why_chains import Chain

JSON_VERSION = 1


@click.command(name="why", cls=BundleCommand, json_version=JSON_VERSION)
@click.argument("name")
@click.argument(
    "functions_dir",
    required=False,
    type=click.Path(path_type=Path, file_okay=False),
)
@click.option("--function", "function", metavar="FN", help="Explain only function FN.")
@python_option()
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def why_command(
    name: str,
    functions_dir: Path | None,
    function: str | None,
    python: Path | None,
    as_json: bool,
) -> None:
    """Explain why distribution or module NAME is in each function's zip, or why not.

    Run from the site root; nothing is built or written. NAME may be a distribution in any
    spelling (PyYAML, pyyaml) or a module (yaml, google.protobuf, PIL.Image).
    """
    root = Path.cwd()
    site = Site.open(root, functions_dir, python, every_library_import=True)
    explanation = explain(site, name, function)
    if as_json:
        document = json_explanation(explanation, site.root)
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(explanation_lines(explanation, site.root)))


def explanation_lines(explanation: Explanation, root: Path) -> list[str]:
    """The explanation as text: a heading, then one block per function."""
    subject = explanation.subject
    if subject.standard_library:
        return [f"{subject.query}: part of the target's standard library; never shipped"]
    if subject.first_party:
        lines = [f"{subject.query}: first-party code, loaded by name"]
    elif not subject.installed:
        lines = [f"{subject.query} (not installed)"]
    elif subject.module:
        lines = [f"{subject.module}: a module of {subject.display_name} {subject.version}"]
    else:
        lines = [f"{subject.display_name} {subject.version}"]
    if explanation.role is not None:
        lines[0] += f": {explanation.role.describe()}"
    for answer in explanation.functions:
        lines += _function_lines(answer, root)
    return lines


def _function_lines(answer: FunctionWhy, root: Path) -> list[str]:
    if answer.problems:
        lines = [f"{answer.function}: cannot be analysed"]
        return lines + [f"  {p.severity}: {p.format(root)}" for p in answer.problems]
    if not answer.shipped:
        lines = [f"{answer.function}: not shipped"]
        for reason in answer.reasons:
            lines.append(f"  {_reason_text(reason, root)}")
            lines += [
                f"    {line}" for chain in reason.chains for line in _chain_lines(chain, root)
            ]
        return lines
    total = len(answer.chains) + answer.more_chains
    plural = "chain" if total == 1 else "chains"
    lines = [f"{answer.function}: shipped ({total}{'' if answer.more_exact else '+'} {plural})"]
    lines += [f"  {line}" for chain in answer.chains for line in _chain_lines(chain, root)]
    if answer.more_chains:
        more = "more" if answer.more_exact else "more at least"
        lines.append(f"  ... and {answer.more_chains} {more} (longer) chains")
    return lines


def _chain_lines(chain: Chain, root: Path) -> list[str]:
    """`file:line imports module -> A requires B (requirement) -> ...`, then other sites."""
    if chain.imports:
        first = chain.imports[0]
        start = f"{display_path(first.file, root)}:{first.line} imports {first.module}"
        if canonicalize_name(first.top_level) != canonicalize_name(chain.root):
            start += f" ({chain.root})"
    elif chain.origin == "include":
        start = f"[tool.bundler] include {chain.root}"
    else:
        start = chain.origin
    text = " -> ".join(
        [start, *(f"{s.parent} requires {s.child} ({s.requirement})" for s in chain.steps)]
    )
    lines = [text]
    if len(chain.imports) > 1:
        others = ", ".join(f"{display_path(s.file, root)}:{s.line}" for s in chain.imports[1:])
        lines.append(f"  also imported at {others}")
    return lines


def _reason_text(reason: Reason, root: Path) -> str:
    if reason.site is None:
        return reason.message
    return f"{display_path(reason.site.file, root)}:{reason.site.line}: {reason.message}"


def json_explanation(explanation: Explanation, root: Path) -> dict[str, Any]:
    """The versioned `--json` document."""
    subject = explanation.subject
    return {
        "version": JSON_VERSION,
        "query": subject.query,
        "subject": {
            "name": subject.name,
            "display_name": subject.display_name,
            "version": subject.version,
            "installed": subject.installed,
            "module": subject.module,
            "standard_library": subject.standard_library,
        },
        "shipped_by": list(explanation.shipped_by),
        "role": explanation.role.to_json() if explanation.role else None,
        "functions": [
            {
                "name": answer.function,
                "shipped": answer.shipped,
                "chains": [_chain_json(c, root) for c in answer.chains],
                "more_chains": answer.more_chains,
                "more_exact": answer.more_exact,
                "reasons": [
                    {
                        "kind": reason.kind,
                        "message": reason.message,
                        "file": display_path(reason.site.file, root) if reason.site else None,
                        "line": reason.site.line if reason.site else None,
                        "chains": [_chain_json(c, root) for c in reason.chains],
                    }
                    for reason in answer.reasons
                ],
                "problems": [p.to_json(root) for p in answer.problems],
            }
            for answer in explanation.functions
        ],
    }


def _chain_json(chain: Chain, root: Path) -> dict[str, Any]:
    return {
        "root": chain.root,
        "origin": chain.origin,
        "imports": [
            {"file": display_path(s.file, root), "line": s.line, "module": s.module}
            for s in chain.imports
        ],
        "steps": [
            {"parent": s.parent, "child": s.child, "requirement": s.requirement}
            for s in chain.steps
        ],
        "text": _chain_lines(chain, root)[0],
    }
