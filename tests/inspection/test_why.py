"""`bundle why`: every chain that ships a distribution, and why one is not shipped."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support import build_wheel, make_venv, pip_install, write_tree

from bundler.analysis.resolve import Edge
from bundler.analysis.session import Site
from bundler.cli import main
from bundler.errors import BundlerError, UsageError
from bundler.inspection.why import Chain, explain, find_chains, find_subject

WHEELS: dict[str, dict[str, Any]] = {
    "alpha": {"requires": ("cee>=1", 'winonly; sys_platform == "win32"')},
    "beta": {"requires": ("cee",)},
    "cee": {},
    "winonly": {},
    "devthing": {"requires": ("devhelper",)},
    "devhelper": {},
    "typedpkg": {},
    "sdkwrap": {"requires": ("heavysdk",)},
    "heavysdk": {},
    "Py-Widget": {"module": "widget"},
    "plugin": {"requires": ("cee",)},
}

PYPROJECT = """\
[project]
name = "demo"
version = "1"
dependencies = ["alpha", "beta", "sdkwrap", "py-widget"]

[project.optional-dependencies]
dev = ["devthing>=1"]

[tool.bundler]
exclude = ["heavysdk"]

[tool.bundler.functions.other]
include = ["plugin"]
"""

APP = """\
from typing import TYPE_CHECKING

import alpha
import beta
import sdkwrap

try:
    import fastjson
except ImportError:
    fastjson = None

if TYPE_CHECKING:
    import typedpkg


def handler(event, context):
    return {"statusCode": 200}
"""

OTHER = """\
from widget import core


def handler(event, context):
    return {"statusCode": 200}
"""


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pip-less virtualenv holding the tiny wheels of WHEELS."""
    root = tmp_path_factory.mktemp("why")
    for name, spec in WHEELS.items():
        module = spec.get("module", name)
        files = {f"{module}/__init__.py": "", f"{module}/core.py": "VALUE = 1\n"}
        build_wheel(root / "wheels", name, files=files, requires=spec.get("requires", ()))
    interpreter = make_venv(root / "venv")
    pip_install(
        interpreter, "--no-index", "--find-links", str(root / "wheels"), "--no-deps", *WHEELS
    )
    return interpreter


@pytest.fixture(scope="module")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site") / "site"
    return write_tree(
        root,
        {
            "pyproject.toml": PYPROJECT,
            "netlify/functions/app.py": APP,
            "netlify/functions/other.py": OTHER,
            "netlify/functions/broken.py": "import nosuchmod\n\n\ndef handler(e, c):\n    pass\n",
        },
    )


@pytest.fixture(scope="module")
def site(site_root: Path, python: Path) -> Site:
    return Site.open(site_root, python=python)


def run_why(site_root: Path, python: Path, *arguments: str) -> tuple[int, list[str]]:
    """`bundle why ARGS` from the site root; the output with the venv's path as <venv>."""
    here = Path.cwd()
    os.chdir(site_root)
    try:
        result = CliRunner().invoke(main, ["why", *arguments, "--python", str(python)])
    finally:
        os.chdir(here)
    prefix = str(python.parent.parent)
    return result.exit_code, result.output.replace(prefix, "<venv>").splitlines()


def test_diamond_gives_both_chains_and_other_functions_say_why_not(
    site_root: Path, python: Path
) -> None:
    code, lines = run_why(site_root, python, "cee")
    assert code == 0
    assert lines == [
        "cee 1.0: runtime ([project].dependencies (alpha))",
        "app: shipped (2 chains)",
        "  netlify/functions/app.py:3 imports alpha -> alpha requires cee (cee>=1)",
        "  netlify/functions/app.py:4 imports beta -> beta requires cee (cee)",
        "broken: cannot be analysed",
        "  error: netlify/functions/broken.py:1: cannot find module 'nosuchmod' in the "
        "environment; install the distribution that provides it into <venv> and add it to "
        "[project].dependencies",
        "other: shipped (1 chain)",
        "  [tool.bundler] include plugin -> plugin requires cee (cee)",
    ]


def test_module_unlike_its_distribution(site_root: Path, python: Path) -> None:
    code, lines = run_why(site_root, python, "widget", "--function", "other")
    assert code == 0
    assert lines == [
        "widget: a module of Py-Widget 1.0: runtime ([project].dependencies (py-widget))",
        "other: shipped (1 chain)",
        "  netlify/functions/other.py:1 imports widget (Py-Widget)",
    ]


def test_dev_only_shows_the_dev_chain(site_root: Path, python: Path) -> None:
    code, lines = run_why(site_root, python, "DevHelper", "--function", "app")
    assert code == 0
    assert lines == [
        "devhelper 1.0: dev group dev ([project.optional-dependencies].dev (devthing>=1))",
        "app: not shipped",
        "  dev-only: from [project.optional-dependencies].dev (devthing>=1)",
        "    [project.optional-dependencies].dev (devthing>=1) -> devthing requires "
        "devhelper (devhelper)",
        "  not imported by this function (no function ships it)",
    ]


def test_type_checking_excluded_marker_and_optional_missing(site_root: Path, python: Path) -> None:
    assert run_why(site_root, python, "typedpkg", "--function", "app")[1] == [
        "typedpkg 1.0: not declared by the project",
        "app: not shipped",
        "  netlify/functions/app.py:13: imported only under `if TYPE_CHECKING:`: never "
        "needed at run time",
    ]
    assert run_why(site_root, python, "heavysdk", "--function", "app")[1] == [
        "heavysdk 1.0: runtime ([project].dependencies (sdkwrap))",
        "app: not shipped",
        "  excluded by [tool.bundler] exclude (pyproject.toml); it would ship through:",
        "    netlify/functions/app.py:5 imports sdkwrap -> sdkwrap requires heavysdk (heavysdk)",
    ]
    assert run_why(site_root, python, "winonly", "--function", "app")[1] == [
        "winonly 1.0: not declared by the project",
        "app: not shipped",
        "  alpha requires it only under a marker or extra that does not apply to "
        'python3.11 on linux x86_64: winonly; sys_platform == "win32"',
        "    netlify/functions/app.py:3 imports alpha",
    ]
    assert run_why(site_root, python, "fastjson", "--function", "app")[1] == [
        "fastjson (not installed)",
        "app: not shipped",
        "  netlify/functions/app.py:8: imported optionally (the code copes with "
        "ImportError), not installed",
        "  not installed in <venv>",
    ]


def test_json_document(site_root: Path, python: Path) -> None:
    code, lines = run_why(site_root, python, "py_widget", "--function", "other", "--json")
    assert code == 0
    assert json.loads("\n".join(lines)) == {
        "version": 1,
        "query": "py_widget",
        "subject": {
            "name": "py-widget",
            "display_name": "Py-Widget",
            "version": "1.0",
            "installed": True,
            "module": None,
            "standard_library": False,
        },
        "shipped_by": ["other"],
        "role": {"kind": "runtime", "group": None, "source": "[project].dependencies (py-widget)"},
        "functions": [
            {
                "name": "other",
                "shipped": True,
                "chains": [
                    {
                        "root": "Py-Widget",
                        "origin": "import",
                        "imports": [
                            {"file": "netlify/functions/other.py", "line": 1, "module": "widget"}
                        ],
                        "steps": [],
                        "text": "netlify/functions/other.py:1 imports widget (Py-Widget)",
                    }
                ],
                "more_chains": 0,
                "more_exact": True,
                "reasons": [],
                "problems": [],
            }
        ],
    }


def test_unknown_name_suggests_and_exits_1(site_root: Path, python: Path) -> None:
    code, lines = run_why(site_root, python, "alpah")
    assert code == 1
    assert lines == [
        "error: no installed distribution or module is named 'alpah', and no function "
        "imports it; did you mean 'alpha'?"
    ]


def test_usage_errors_exit_2(site_root: Path, python: Path) -> None:
    code, lines = run_why(site_root, python, "cee", "--function", "ap")
    assert code == 2
    assert lines == [
        "error: no function named 'ap'; did you mean 'app'? functions: app, broken, other"
    ]
    assert run_why(site_root, python)[0] == 2


def test_standard_library(site_root: Path, python: Path) -> None:
    assert run_why(site_root, python, "json") == (
        0,
        ["json: part of the target's standard library; never shipped"],
    )


def test_find_subject_spellings(site: Site) -> None:
    for query in ("Py-Widget", "py_widget", "PY.WIDGET", "pywidget", "widget", "widget.core"):
        assert find_subject(site.environment, query).name == "py-widget", query
    with pytest.raises(BundlerError):
        find_subject(site.environment, "nothing-at-all")


def test_explain_library_and_errors(site: Site) -> None:
    explanation = explain(site, "cee")
    assert explanation.shipped_by == ("app", "other")
    assert [f.function for f in explanation.functions] == ["app", "broken", "other"]
    assert [p.line for f in explanation.functions for p in f.problems] == [1]
    with pytest.raises(UsageError):
        explain(site, "cee", function="nope")


def test_find_chains_shortest_first_bounded_and_counted(site: Site) -> None:
    edges = [Edge("a", "b", "b"), Edge("a", "c", "c"), Edge("b", "d", "d"), Edge("c", "d", "d")]
    edges += [Edge("d", "b", "b"), Edge("c", "b", "b"), Edge("b", "x", "x")]
    roots = {"a": Chain("a", "import"), "d": Chain("d", "import")}
    chains, total, exact = find_chains(roots, edges, "d", site.environment, limit=2)
    assert [[s.child for s in c.steps] for c in chains] == [[], ["b", "d"]]
    assert (total, exact) == (4, True)  # d itself; a-b-d; a-c-d; a-c-b-d
    assert find_chains(roots, edges, "zzz", site.environment) == ((), 0, True)


def test_why_is_registered() -> None:
    result = CliRunner().invoke(main, ["why", "--help"])
    assert result.exit_code == 0
    assert "--function FN" in result.output
