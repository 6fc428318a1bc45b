"""The package's map holds: each layer imports only from the layers below it, no module
imports itself back through others (also under TYPE_CHECKING and inside functions), and
every BuildOptions field says whether it changes a zip's bytes."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import bundler
from bundler.results import CACHE_KEY_OPTIONS, NOT_IN_CACHE_KEY, BuildOptions

PACKAGE = Path(bundler.__file__).parent

# Bottom to top: a module may import from its own layer and from those before it.
LAYERS = (
    ("bundler", "bundler.errors", "bundler.files"),
    ("bundler.store",),
    ("bundler.project",),
    ("bundler.environment",),
    ("bundler.analysis",),
    ("bundler.pack",),
    ("bundler.results",),
    ("bundler.cache",),
    ("bundler.manifest",),
    ("bundler.build",),
    ("bundler.inspection",),
    ("bundler.serve",),
    ("bundler.cli", "bundler.__main__"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    """The index of the deepest layer prefix that names `module`."""
    best, found = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    return found


def _imports(path: Path) -> set[str]:
    """Every bundler module `path` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from bundler.x import y` imports bundler.x.y when that is a module
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            assert not (isinstance(node, ast.ImportFrom) and node.level), (
                f"{path}: relative import; the house style names the module in full"
            )
            continue
        found.update(n for n in names if n == "bundler" or n.startswith("bundler."))
    return found


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def test_every_module_is_in_a_layer() -> None:
    assert [m for m in MODULES if _layer(m) < 0] == []


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = [
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    # Tarjan's strongly connected components, iteratively: any component of more than one
    # module (or a module importing itself) is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in GRAPH:
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in GRAPH[node]:
                    cycles.append(sorted(component))
    assert cycles == []


def test_the_layer_check_sees_imports_inside_functions_and_type_checking(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bundler.build import build\n"
        "def f():\n    import bundler.cli\n    from bundler.pack import packer\n"
    )
    assert _imports(source) == {"bundler.build", "bundler.cli", "bundler.pack.packer"}


def test_every_build_option_says_whether_it_changes_a_zip() -> None:
    fields = [f.name for f in dataclasses.fields(BuildOptions)]
    in_key, not_in_key = set(CACHE_KEY_OPTIONS), set(NOT_IN_CACHE_KEY)
    assert in_key.isdisjoint(not_in_key)
    assert sorted(fields) == sorted(in_key | not_in_key), (
        "a new BuildOptions field: add it to CACHE_KEY_OPTIONS (and fingerprint()) if it "
        "changes a zip's bytes, else to NOT_IN_CACHE_KEY with the reason"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("offline", True), ("compile", True)],
)
def test_an_option_that_changes_bytes_changes_the_fingerprint(name: str, value: object) -> None:
    assert name in CACHE_KEY_OPTIONS
    changed = dataclasses.replace(BuildOptions(), **{name: value})
    assert changed.fingerprint() != BuildOptions().fingerprint()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jobs", 1),
        ("cache_dir", Path("/elsewhere")),
        ("use_cache", False),
        ("shard", (1, 2)),
        ("runtime", "python3.12"),
        ("arch", "arm64"),
    ],
)
def test_an_option_outside_the_key_leaves_the_fingerprint(name: str, value: object) -> None:
    assert name in NOT_IN_CACHE_KEY
    changed = dataclasses.replace(BuildOptions(), **{name: value})
    assert changed.fingerprint() == BuildOptions().fingerprint()
