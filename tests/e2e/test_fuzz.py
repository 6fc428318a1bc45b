"""Property: discovery and the scanner raise nothing but BundlerError, whatever the source.

Programs come from a grammar of the odd forms (imports of every shape, try/except, TYPE_CHECKING
and platform tests, import_module with odd strings, every way to bind `handler` and
`config`, nesting past CPython's limits), optionally damaged by inserted text; then raw text
and raw bytes. Bounded to a few seconds: `max_examples` and `deadline` are set.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Union

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.analysis.scan import scan_function
from bundler.errors import BundlerError
from bundler.project.config import SiteConfig
from bundler.project.discover import discover_functions
from bundler.project.source import SourceMemo

F = "netlify/functions"
BOUNDS = settings(
    max_examples=60,
    deadline=5000,  # generous: a shared CI machine; most examples take milliseconds
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)

MODULES = st.sampled_from(
    ["os", "json", "yaml", "pkg", "pkg.sub", "pkg.sub.leaf", "handler", "config", "café", "_x"]
)
ODD_NAMES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            *["", " ", "a b", "a..b", "1abc", "/abs/path", "./x", ".", "...x", "a.", "x.py"],
            *["x" * 300, "é" * 200, "pkg." + "z" * 254, "\n", "\x00", "\\", "pkg/sub"],
        ]
    ),
)
ARGUMENTS = st.one_of(
    ODD_NAMES.map(repr),
    st.sampled_from(["5", "b'x'", "None", "f'{x}'", "f'json'", "name", "", "*names", "'a' 'b'"]),
)
DEPTHS = st.sampled_from([1, 10, 150, 199, 201, 2000, 3500])


def _deep(kind: str, depth: int) -> str:
    if kind == "not":
        return "x = " + "not " * depth + "True"
    if kind == "parens":
        return "x = " + "(" * depth + "1" + ")" * depth
    if kind == "lists":
        return "config = {'a': " + "[" * depth + "]" * depth + "}"
    if kind == "lambdas":
        return "x = " + "lambda: " * depth + "1"
    return "x = " + "+".join(["1"] * (depth * 10))


LINES = st.one_of(
    st.builds("import {}".format, MODULES),
    st.builds("import {} as handler".format, MODULES),
    st.builds(
        "from {}{} import {}".format,
        st.sampled_from(["", ".", "..", "...."]),
        MODULES,
        st.sampled_from(["a", "handler", "config", "*", "(a, b as handler)"]),
    ),
    st.builds("from {} import {}".format, st.sampled_from([".", ".."]), MODULES),
    st.builds("import_module({})".format, ARGUMENTS),
    st.builds("__import__({})".format, ARGUMENTS),
    st.builds("importlib.import_module({}, package=__name__)".format, ARGUMENTS),
    st.builds("config = {{'schedule': {}}}".format, ARGUMENTS),
    st.sampled_from(
        [
            "handler = 1",
            "handler, other = 1, 2",
            "(handler := make())",
            "handler: int",
            "handler += 1",
            "config: dict",
            "config = [1]",
            "config = {[1]: 2}",
            "config |= {}",
            "config = {'schedule': '@hourly'}",
            "config = {'schedule': '61 * * * *'}",
            "pass",
            "x = '\\d' + 1if x else 2",
        ]
    ),
    st.builds(_deep, st.sampled_from(["not", "parens", "lists", "lambdas", "sum"]), DEPTHS),
)

HEADERS = st.sampled_from(
    [
        ("try:", ["except ImportError:", "    pass"]),
        ("try:", ["except (ValueError, ModuleNotFoundError) as handler:", "    pass"]),
        ("try:", ["finally:", "    pass"]),
        ("if TYPE_CHECKING:", ["else:", "    import yaml"]),
        ("if typing.TYPE_CHECKING:", []),
        ("if sys.platform == 'win32':", []),
        ("if sys.version_info >= (3, 11):", ["elif x:", "    pass"]),
        ("def handler(event, context):", []),
        ("async def handler(event, context):", []),
        ("def f():", []),
        ("class C:", []),
        ("with open('x') as handler:", []),
        ("for config in []:", []),
        ("while False:", []),
        ("match x:\n    case handler:", []),
    ]
)

Stmt = Union[str, tuple[str, list["Stmt"], list[str]]]  # noqa: UP007 (a recursive alias)


def _blocks(children: st.SearchStrategy[list[Stmt]]) -> st.SearchStrategy[list[Stmt]]:
    block = st.builds(lambda h, body: (h[0], body, h[1]), HEADERS, children)
    return st.lists(st.one_of(LINES, block), max_size=5)


PROGRAMS = st.recursive(st.lists(LINES, max_size=5), _blocks, max_leaves=15)


def render(body: list[Stmt], depth: int = 0) -> list[str]:
    pad = "    " * depth
    lines: list[str] = []
    for stmt in body or ["pass"]:
        if isinstance(stmt, str):
            lines.append(pad + stmt)
            continue
        header, inner, tail = stmt
        lines += [pad + part for part in header.split("\n")]
        lines += render(inner, depth + 1 + header.count("\n"))
        lines += [pad + part for part in tail]
    return lines


def elif_chain(branches: int, body: list[str]) -> list[str]:
    chain = ["if x == -1:", "    pass"]
    for index in range(branches):
        chain += [f"elif x == {index}:", "    pass"]
    return [*chain, "else:", *("    " + line for line in body)]


def check(main: bytes | str, helper: bytes | str = "import os\n") -> None:
    """Discovery and a scan of a site whose function is `main` raise only BundlerError."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / F / "api").mkdir(parents=True)
        for name, text in (("api/api.py", main), ("api/helper.py", helper)):
            data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
            (root / F / name).write_bytes(data)
        memo = SourceMemo()
        try:
            discover_functions(root / F, SiteConfig.from_root(root), memo)
        except BundlerError:
            return
        main_file = root / F / "api/api.py"
        with contextlib.suppress(BundlerError):
            scan_function(main_file, [main_file.parent, root], memo)
        assert len(memo) == 0  # never kept, or taken by the scan


@BOUNDS
@given(
    PROGRAMS,
    st.sampled_from([0, 0, 0, 3, 1100]),
    st.one_of(st.none(), st.tuples(st.integers(min_value=0), st.text(max_size=8))),
)
def test_programs_from_a_grammar_of_odd_forms(
    program: list[Stmt], branches: int, damage: tuple[int, str] | None
) -> None:
    lines = render(program)
    if branches:
        lines = elif_chain(branches, lines)
    text = "\n".join(["import importlib, sys, typing", "from importlib import import_module"])
    text += "\n" + "\n".join(lines) + "\n"
    if damage is not None:
        at = damage[0] % (len(text) + 1)
        text = text[:at] + damage[1] + text[at:]
    check(text, helper=text)


@BOUNDS
@given(st.text(max_size=300))
def test_raw_text(text: str) -> None:
    check(text)


@BOUNDS
@given(st.binary(max_size=300))
def test_raw_bytes(data: bytes) -> None:
    check(data)


@BOUNDS
@given(
    st.sampled_from(["utf-8", "latin-1", "utf-16", "rot13", "raw_unicode_escape", "undefined"]),
    st.binary(max_size=60),
)
def test_encoding_declarations_with_raw_bytes(coding: str, data: bytes) -> None:
    check(f"# coding: {coding}\n".encode() + data)
