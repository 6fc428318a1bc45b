"""The summary table, the problem lines and the `--json` report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from build_support import HEALTHY, make_environment, make_site

from bundler.build import build
from bundler.cli.report import REPORT_VERSION, all_problems, json_report, summary_table
from bundler.pack.limits import human_size
from bundler.results import BuildResult

# tinyapp is used but not declared: a warning; `broken` and `dup` fail.
PYPROJECT = """\
[project]
name = "site"
version = "0.1.0"
dependencies = ["tinydist"]
"""
FUNCTIONS = {
    **HEALTHY,
    "app-background.py": "import tinyapp\n\n\ndef handler(event, context):\n    pass\n",
    "broken.py": "import tinydist\n\ndef handler(event, context)\n    pass\n",
    "dup.py": "def handler(event, context):\n    pass\n",
    "dup/dup.py": "def handler(event, context):\n    pass\n",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    python = make_environment(tmp_path_factory.mktemp("environment"))
    site = make_site(tmp_path_factory.mktemp("report") / "site", FUNCTIONS, pyproject=PYPROJECT)
    return build(site, python=python)


@pytest.fixture(scope="module")
def report(result: BuildResult) -> dict[str, Any]:
    document = json_report(result, result.site)
    # what `--json` prints must survive a round trip
    assert json.loads(json.dumps(document, sort_keys=True)) == document
    return document


def test_summary_table(result: BuildResult) -> None:
    lines = summary_table(result).splitlines()
    header, rule = lines[0], lines[1]
    assert header.split("  ")[0].strip() == "function"
    assert [c.strip() for c in header.split("  ") if c.strip()] == [
        "function", "kind", "files", "zipped", "% of 50M", "unzipped", "% of 250M", "dists",
    ]  # fmt: skip
    assert set(rule.replace(" ", "")) == {"-"}
    assert lines[-2] == rule
    rows = {line.split()[0]: line.split() for line in lines[2:-2]}
    assert list(rows) == ["app-background", "broken", "dup", "good", "other"]
    assert rows["broken"][1:] == ["?", "FAILED"]  # failed before its kind was known
    assert rows["dup"][1:] == ["?", "FAILED"]
    app = next(b for b in result.builds if b.name == "app-background")
    assert app.bundle is not None
    assert rows["app-background"][1:3] == ["background", str(app.bundle.files)]
    assert rows["app-background"][-1] == "2"
    assert rows["other"][-1] == "0"
    built = [b.bundle for b in result.builds if b.bundle]
    total = lines[-1]
    assert total.startswith("3 of 5 built")
    assert total.split()[4] == str(sum(b.files for b in built))
    assert human_size(sum(b.zipped for b in built)) in total
    assert human_size(sum(b.unzipped for b in built)) in total
    widths = {len(line) for line in lines[:2]}
    assert len(widths) == 1  # header and rule aligned


def test_summary_table_columns_align(result: BuildResult) -> None:
    lines = summary_table(result).splitlines()
    rule = lines[1]
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    for line in lines[2:-2]:
        if line.endswith("FAILED"):
            continue
        # names left-aligned at column 0, numbers right-aligned to the end of the rule
        assert len(line) == len(rule), line
        assert line[starts[1] - 1] == " " and line[starts[1]] != " ", line  # kind column


def test_problems_warnings_first_then_errors(result: BuildResult) -> None:
    lines = [f"{p.severity}: {p.format(result.site)}" for p in all_problems(result)]
    assert lines == [
        "warning: netlify/functions/app-background.py:1: imports 'tinyapp' from tinyapp, which "
        "the project does not declare; it works only because something else installed it; add "
        "tinyapp to [project].dependencies",
        "error: netlify/functions/broken.py:3: syntax error: expected ':'; fix the syntax; the "
        "bundler reads your code without running it",
        "error: netlify/functions/dup/dup.py: function 'dup' has two sources: dup/dup.py and "
        "dup.py; keep one of them; rename or delete the other",
    ]


def test_json_report_top_level(result: BuildResult, report: dict[str, Any]) -> None:
    assert report["version"] == REPORT_VERSION == 1
    assert report["ok"] is False
    assert report["site"] == "."
    assert report["functionsDir"] == "netlify/functions"
    assert report["out"] == "dist/functions"
    assert report["manifest"] == "dist/functions/manifest.json"
    assert report["runtime"] == "python3.11"
    assert report["python"] == str(result.environment.interpreter.executable)
    assert report["warnings"] == []


def test_json_report_functions(result: BuildResult, report: dict[str, Any]) -> None:
    functions = {f["name"]: f for f in report["functions"]}
    assert {name: f["status"] for name, f in functions.items()} == {
        "app-background": "built",
        "broken": "failed",
        "dup": "failed",
        "good": "built",
        "other": "built",
    }
    assert functions["broken"]["problems"] == [
        {
            "severity": "error",
            "message": "syntax error: expected ':'",
            "file": "netlify/functions/broken.py",
            "line": 3,
            "function": "broken",
            "hint": "fix the syntax; the bundler reads your code without running it",
        }
    ]
    assert "zip" not in functions["broken"]
    app = functions["app-background"]
    assert app["kind"] == "background"
    assert app["mainFile"] == "netlify/functions/app-background.py"
    assert app["handler"] == "app-background.handler"
    assert app["zip"] == "dist/functions/app-background.zip"
    [warning] = app["problems"]
    assert (warning["severity"], warning["file"], warning["line"]) == (
        "warning",
        "netlify/functions/app-background.py",
        1,
    )
    assert [(d["name"], d["version"], d["reason"]) for d in app["distributions"]] == [
        ("tinyapp", "2.0", "app-background.py:1 imports tinyapp -> tinyapp"),
        ("tinydist", "1.0", "app-background.py:1 imports tinyapp -> tinyapp -> tinydist"),
    ]
    built = next(b for b in result.builds if b.name == "app-background")
    assert built.bundle is not None
    assert app["zippedSize"] == built.bundle.zipped
    assert app["unzippedSize"] == built.bundle.unzipped
    assert app["sha256"] == built.bundle.sha256
    assert app["firstPartyBytes"] == len(FUNCTIONS["app-background.py"])
    assert app["zippedShare"] == round(built.bundle.zipped / 52_428_800, 6)
    assert functions["other"]["distributions"] == []


def test_json_report_exact_bytes_not_human_units(report: dict[str, Any]) -> None:
    for function in report["functions"]:
        if function["status"] == "built":
            assert isinstance(function["zippedSize"], int)
            assert isinstance(function["unzippedSize"], int)
            assert all(isinstance(d["bytes"], int) for d in function["distributions"])


def test_json_report_paths_outside_the_root_stay_absolute(
    result: BuildResult, tmp_path: Path
) -> None:
    document = json_report(result, tmp_path)
    assert document["site"] == str(result.site)
    assert document["out"] == str(result.out)
