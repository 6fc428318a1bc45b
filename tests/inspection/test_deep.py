"""The deep look: imports inside shipped distributions that their metadata does not declare."""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from support import build_wheel, make_venv, pip_install, write_tree

from bundler.build import build
from bundler.environment.distributions import Environment
from bundler.errors import BundlerError
from bundler.inspection.deep import Finding, deep_look

pytest.importorskip("modulegraph")

LUCKY = """\
import json
from typing import TYPE_CHECKING

import undeclared_dep

try:
    import other_opt
except ImportError:
    other_opt = None

if TYPE_CHECKING:
    import typed_dep

VALUE = undeclared_dep.VALUE
"""

WHEELS = {
    "lucky": {"lucky/__init__.py": LUCKY},
    "undeclared-dep": {"undeclared_dep/__init__.py": "VALUE = 1\n"},
    "other-opt": {"other_opt/__init__.py": ""},
    "typed-dep": {"typed_dep/__init__.py": ""},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Environment]:
    """A site whose function imports `lucky`, built into `dist/functions/app.zip`."""
    root = tmp_path_factory.mktemp("deep")
    for name, files in WHEELS.items():
        build_wheel(root / "wheels", name, files=files)
    python = make_venv(root / "venv")
    pip_install(python, "--no-index", "--find-links", str(root / "wheels"), "--no-deps", *WHEELS)
    site = write_tree(
        root / "site",
        {
            # the build ships what lucky imports without declaring it (analysis/library_imports):
            # left out here so that the deep look has a missing import to find
            "pyproject.toml": '[project]\nname = "s"\nversion = "1"\ndependencies = ["lucky"]\n'
            '[tool.bundler]\nexclude = ["undeclared-dep"]\n',
            "netlify/functions/app.py": "import lucky\n\n\ndef handler(event, context):\n"
            "    return {'statusCode': 200, 'body': str(lucky.VALUE)}\n",
        },
    )
    result = build(site, python=python)
    assert result.ok, [p.format() for b in result.builds for p in b.problems]
    return result.out / "app.zip", result.environment


def test_reports_the_undeclared_import_and_marks_the_optional_one(
    built: tuple[Path, Environment],
) -> None:
    bundle, environment = built
    findings = deep_look(bundle, environment)
    assert findings == (
        Finding(
            bundle=bundle,
            importer="lucky",
            file="lucky/__init__.py",
            line=4,
            importer_distribution="lucky",
            missing="undeclared_dep",
            distribution="undeclared-dep",
            version="1.0",
        ),
        Finding(
            bundle=bundle,
            importer="lucky",
            file="lucky/__init__.py",
            line=7,
            importer_distribution="lucky",
            missing="other_opt",
            distribution="other-opt",
            version="1.0",
            optional=True,
        ),
    )
    assert [f.alarming for f in findings] == [True, False]
    assert [f"{p.severity}: {p.format()}" for p in (f.to_problem() for f in findings)] == [
        "warning: app.zip/lucky/__init__.py:4: lucky imports 'undeclared_dep', which comes "
        "from undeclared-dep 1.0: installed here but not in the zip, as lucky declares it "
        "nowhere in its Requires-Dist; it works here only because the build environment has "
        "it; add undeclared-dep to [project].dependencies or [tool.bundler] include",
        "note: app.zip/lucky/__init__.py:7: lucky imports 'other_opt', which comes from "
        "other-opt 1.0: installed here but not in the zip, as lucky declares it nowhere in "
        "its Requires-Dist; an optional import (inside try/except): the code copes without it",
    ]


def test_unpacked_folder_and_ignored_distributions(
    built: tuple[Path, Environment], tmp_path: Path
) -> None:
    bundle, environment = built
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path / "app")
    findings = deep_look(tmp_path / "app", environment, ignore=["Undeclared_Dep"])
    assert [(f.file, f.missing, f.optional) for f in findings] == [
        ("lucky/__init__.py", "other_opt", True)
    ]


def test_unreadable_bundle(built: tuple[Path, Environment], tmp_path: Path) -> None:
    _bundle, environment = built
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(BundlerError) as caught:
        deep_look(broken, environment)
    assert caught.value.problems[0].message == "cannot read the bundle: File is not a zip file"


def test_without_modulegraph_says_which_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, built: tuple[Path, Environment]
) -> None:
    real = importlib.import_module

    def fake(name: str, package: str | None = None) -> ModuleType:
        if name.startswith("modulegraph"):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", fake)
    _bundle, environment = built
    with pytest.raises(BundlerError) as caught:
        deep_look(tmp_path, environment)
    assert caught.value.problems[0].format() == (
        "the deep look needs modulegraph, which is not installed; "
        "install the extra: pip install 'functions-bundler[deep]'"
    )


def test_audit_deep_prints_the_findings(
    built: tuple[Path, Environment], monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from bundler.cli import main

    bundle, environment = built
    site = bundle.parent.parent.parent
    monkeypatch.chdir(site)
    result = CliRunner().invoke(
        main, ["audit", "--deep", "--python", str(environment.interpreter.executable)]
    )
    assert result.exit_code == 0, result.output
    findings = [line for line in result.stderr.splitlines() if line.startswith(("warning", "note"))]
    # undeclared_dep is left out by `exclude`: what the site says it drops is expected
    assert len(findings) == 1
    assert findings[0].startswith("note: app.zip/lucky/__init__.py:")
    assert "'other_opt'" in findings[0]
    assert "deep look into app: 1 found in" in result.stderr
