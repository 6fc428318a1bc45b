"""The top-level imports of a module, found without a syntax tree, agree with `ast`."""

from __future__ import annotations

import ast
import sysconfig
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.analysis.top_level_imports import top_level_imports

MODULE = textwrap.dedent(
    '''\
    """A docstring that shows an example:

    import not_an_import
    from nor_this import thing
    """
    from __future__ import annotations

    import os, sys as system
    from . import sibling
    from ..parent.mod import (a,  # a comment (with a paren
        b as c,
    )
    from x import \\
        y
    import json  # trailing comment
    text = \'\'\'
    import also_not
    \'\'\'
    other = "import nope"  # import nope
    try:
        import guarded
    except ImportError:
        guarded = None
    if True:
        import under_if
    def lazy():
        import inside
    import last
    '''
)


def ast_top_level(text: str) -> list[tuple[str, tuple[str, ...], int, int]]:
    """The oracle: the Import and ImportFrom statements directly in the module's body."""
    found: list[tuple[str, tuple[str, ...], int, int]] = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            found += [(a.name, (), node.lineno, 0) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(
                (node.module or "", tuple(a.name for a in node.names), node.lineno, node.level)
            )
    return found


def test_the_imports_a_module_runs_at_import_time() -> None:
    assert top_level_imports(MODULE) == [
        ("__future__", ("annotations",), 6, 0),
        ("os", (), 8, 0),
        ("sys", (), 8, 0),
        ("", ("sibling",), 9, 1),
        ("parent.mod", ("a", "b"), 10, 2),
        ("x", ("y",), 13, 0),
        ("json", (), 15, 0),
        ("last", (), 28, 0),
    ]
    assert top_level_imports(MODULE) == ast_top_level(MODULE)


@pytest.mark.parametrize(
    "text",
    [
        "import os; x = 1\n",  # more than an import on the line
        "from x import (a,\n  # ) closes in a comment\n  b)\n",
        "import \n",  # not Python
    ],
)
def test_what_cannot_be_read_alone_asks_for_the_whole_module(text: str) -> None:
    assert top_level_imports(text) is None


def test_the_standard_library_agrees_with_ast() -> None:
    # every module of the standard library this Python ships: the same imports as ast
    checked = 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:150]:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            expected = ast_top_level(text)
        except SyntaxError:
            continue
        found = top_level_imports(text)
        assert found is None or found == expected, path
        checked += found is not None
    assert checked > 100


FRAGMENTS = st.sampled_from(
    [
        "import a\n",
        "from b import c\n",
        "'''\nimport d\n'''\n",
        '"""\nfrom e import f\n"""\n',
        "x = 'import g'\n",
        "# import h\n",
        "def f():\n    import i\n",
        "try:\n    import j\nexcept ImportError:\n    pass\n",
        "from . import (k,\n    l)\n",
        "y = '\\\\'\n",
        'z = "\\"import no"\n',
        "s = r'''a\\\\'''\nimport m\n",
        "class C:\n    import n\n",
        "t = f'{1}' 'import o'\n",
        "import p.q as r, s\n",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(FRAGMENTS, max_size=12))
def test_any_mix_of_strings_comments_and_blocks_agrees_with_ast(fragments: list[str]) -> None:
    text = "".join(fragments)
    found = top_level_imports(text)
    assert found is None or found == ast_top_level(text)
    assert found is not None or "#" in text  # only a comment's parenthesis sends it to ast
