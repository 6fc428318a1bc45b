"""The suite's own rule: helpers live in conftest.py and the *_support.py modules, so no
test module imports another test module (it would run that module's tests' imports and
fixtures by accident) or a conftest.py (with one per folder, `import conftest` is whichever
pytest loaded last)."""

from __future__ import annotations

import ast

import pytest
from support import REPO, missing

TESTS = REPO / "tests"


def _is_forbidden(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def forbidden_imports(source: str, filename: str) -> list[str]:
    """`file:line: imports NAME` for each import of a test module or a conftest in `source`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # `from . import test_x` names the module in the alias, not in `module`
            base = node.module or ""
            modules = [base] if base else [alias.name for alias in node.names]
        else:
            continue
        found += [f"{filename}:{node.lineno}: imports {m}" for m in modules if _is_forbidden(m)]
    return found


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    modules = sorted(p for p in TESTS.rglob("*.py") if "fixtures" not in p.parts)
    assert len(modules) > 50  # the walk found the suite
    found = [
        line
        for path in modules
        for line in forbidden_imports(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    ]
    assert found == []


def test_the_rule_sees_every_form_of_import() -> None:
    source = (
        "import test_build\n"
        "from test_cli import run\n"
        "from tests.store.test_blobs import X\n"
        "from conftest import write_tree\n"
        "from . import test_why\n"
        "def f():\n    import test_late\n"
        "from support import write_tree\n"
        "import build_support, pytest\n"
    )
    assert forbidden_imports(source, "t.py") == [
        "t.py:1: imports test_build",
        "t.py:2: imports test_cli",
        "t.py:3: imports tests.store.test_blobs",
        "t.py:4: imports conftest",
        "t.py:5: imports test_why",
        "t.py:7: imports test_late",
    ]


def test_a_missing_tool_fails_under_make_test_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("BUNDLER_TEST_TOOLS", "required")
    with pytest.raises(pytest.fail.Exception, match="unzip is missing: `make test` must"):
        missing("unzip", "apt-get install unzip")
    monkeypatch.delenv("BUNDLER_TEST_TOOLS")
    with pytest.raises(pytest.skip.Exception, match="unzip is missing: `make test` installs"):
        missing("unzip", "apt-get install unzip")
