"""bench/shapes.py: the generated sites of issue 14 are the size the table says, and seeded."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _shapes() -> ModuleType:
    """bench/shapes.py, which imports its sibling workload.py as a top-level module."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_shapes", BENCH / "shapes.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_shared_lib_is_50_functions_over_20000_lines(tmp_path: Path) -> None:
    site = _shapes().generate_shared_lib(tmp_path)
    lib = sorted((site.root / "lib").rglob("*.py"))
    assert len(lib) == 107  # lib/__init__.py, six layer packages, 100 modules
    assert sum(p.read_text().count("\n") for p in lib) == 20_000
    functions = sorted((site.root / "netlify" / "functions").glob("*.py"))
    assert [p.stem for p in functions] == [f"fn_{i:02d}" for i in range(50)]
    for path in [*lib, *functions]:
        ast.parse(path.read_text(), str(path))  # real code: every file parses
    # every `from lib.x import y` names a module that exists
    for path in [*lib, *functions]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lib."):
                for alias in node.names:
                    target = site.root.joinpath(*node.module.split("."), f"{alias.name}.py")
                    assert target.is_file(), f"{path}: {node.module}.{alias.name}"
    assert site.first_party == ("lib",)


def test_many_is_2000_functions_over_small_modules(tmp_path: Path) -> None:
    site = _shapes().generate_many(tmp_path)
    functions = sorted((site.root / "netlify" / "functions").glob("*.py"))
    assert len(functions) == 2000
    assert len(list((site.root / "common").glob("helper_*.py"))) == 40
    third_party = [names for names in site.functions.values() if names]
    assert 900 <= len(third_party) <= 1100  # about half ship one small distribution
    assert {n for names in third_party for n in names} == {"attrs", "click", "yaml", "dateutil"}
    assert max(len(p.read_text().splitlines()) for p in functions) <= 12  # small


def test_the_shapes_are_seeded(tmp_path: Path) -> None:
    shapes = _shapes()
    first = shapes.generate_shared_lib(tmp_path / "a").root
    again = shapes.generate_shared_lib(tmp_path / "b").root
    assert _contents(first) == _contents(again)
    other = shapes.generate_shared_lib(tmp_path / "c", seed=15).root
    assert _contents(first) != _contents(other)
    first = shapes.generate_many(tmp_path / "a", count=50).root
    again = shapes.generate_many(tmp_path / "b", count=50).root
    assert _contents(first) == _contents(again)
