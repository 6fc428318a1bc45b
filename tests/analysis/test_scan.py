"""The scanner: first-party modules followed, external imports recorded with file, line, flags."""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import support
from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.analysis.scan import ImportSite, Module, Scan, scan_function
from bundler.errors import BundlerError, Problem
from bundler.project.source import SourceMemo, parse_source

NOT_LITERAL = "cannot follow a dynamic import whose name is not a literal"
NOT_LITERAL_HINT = "if it loads a distribution, add it to [tool.bundler] include"


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")


def site(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """A site with one function, `hello` in its own folder; `files` relative to the root."""
    write(tmp_path, files)
    return tmp_path


FUNCTION = "netlify/functions/hello"
MAIN = f"{FUNCTION}/hello.py"


def scan(root: Path, main: str = MAIN) -> Scan:
    main_file = root / main
    return scan_function(main_file, [main_file.parent, root])


def arcnames(result: Scan) -> list[str]:
    return [m.arcname for m in result.modules]


def modules_of(result: Scan) -> list[str]:
    return [i.module for i in result.imports]


# --- first-party modules -------------------------------------------------------------------


def test_a_main_file_alone(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "def handler(event, context):\n    return 1\n"})
    assert scan(root) == Scan(
        modules=(Module(root / MAIN, "hello.py"),), imports=(), skipped=(), warnings=()
    )


def test_the_function_folder_comes_before_the_site_root(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "import util\nimport shared\n",
            f"{FUNCTION}/util.py": "import requests\n",
            "util.py": "import never_this\n",
            "shared.py": "import yaml\n",
        },
    )
    result = scan(root)
    assert result.modules == (
        Module(root / MAIN, "hello.py"),
        Module(root / "shared.py", "shared.py"),
        Module(root / FUNCTION / "util.py", "util.py"),
    )
    assert modules_of(result) == ["requests", "yaml"]


def test_packages_and_submodules_are_followed(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import lib.db
                from shared import models
                from shared.helpers import tidy
                from lib import nothing_here
            """,
            "lib/__init__.py": "",
            "lib/db.py": "import sqlalchemy\n",
            "lib/unused.py": "import never_this\n",
            "shared/__init__.py": "import json\n",
            "shared/models/__init__.py": "import pydantic\n",
            "shared/helpers.py": "import attr\n",
        },
    )
    result = scan(root)
    assert arcnames(result) == [
        "hello.py",
        "lib/__init__.py",
        "lib/db.py",
        "shared/__init__.py",
        "shared/helpers.py",
        "shared/models/__init__.py",
    ]
    assert sorted(modules_of(result)) == ["attr", "json", "pydantic", "sqlalchemy"]


def test_relative_imports_in_the_function_folder(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "from . import helpers\nfrom .lib import y\n",
            f"{FUNCTION}/helpers.py": "import requests\n",
            f"{FUNCTION}/lib/__init__.py": "from .inner import z\nfrom .. import helpers\n",
            f"{FUNCTION}/lib/inner.py": "import yaml\n",
        },
    )
    result = scan(root)
    assert arcnames(result) == ["hello.py", "helpers.py", "lib/__init__.py", "lib/inner.py"]
    assert modules_of(result) == ["requests", "yaml"]
    # shipped, but Lambda imports hello.py and lib/ as top-level: these fail there
    assert [(w.file, w.line, w.hint) for w in result.warnings] == [
        (root / MAIN, 1, "import it absolutely: import helpers"),
        (root / MAIN, 2, "import it absolutely: from lib import y"),
        (root / f"{FUNCTION}/lib/__init__.py", 2, "import it absolutely: import helpers"),
    ]
    assert result.warnings[0].message == (
        "this relative import reaches above the top of the zip, so it fails on Lambda "
        "(the modules there are top-level)"
    )


def test_relative_imports_in_a_site_root_package(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "from shared.api import client\n",
            "shared/__init__.py": "",
            "shared/api/__init__.py": "from . import client\nfrom ..util import tidy\n",
            "shared/api/client.py": "import httpx\n",
            "shared/util.py": "import attrs\n",
        },
    )
    result = scan(root)
    assert arcnames(result) == [
        "hello.py",
        "shared/__init__.py",
        "shared/api/__init__.py",
        "shared/api/client.py",
        "shared/util.py",
    ]
    assert modules_of(result) == ["httpx", "attrs"]


def test_a_relative_import_above_the_root_is_a_warning(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "import os\nfrom .. import parent\n"})
    result = scan(root)
    assert result.warnings == (
        Problem(
            "relative import goes above the function's folder",
            file=root / MAIN,
            line=2,
            severity="warning",
        ),
    )
    assert modules_of(result) == ["os"]


def test_an_unknown_name_from_the_folder_itself_is_ignored(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "from . import nothing\n"})
    result = scan(root)
    assert result.imports == ()
    assert arcnames(result) == ["hello.py"]


def test_namespace_folders_are_followed(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "from ns import one\nimport ns.two\n",
            "ns/one.py": "import requests\n",
            "ns/two.py": "import yaml\n",
        },
    )
    result = scan(root)
    assert arcnames(result) == ["hello.py", "ns/one.py", "ns/two.py"]
    assert modules_of(result) == ["requests", "yaml"]


def test_a_namespace_folder_holding_only_packages_is_followed(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {MAIN: "import ns.sub\n", "ns/sub/__init__.py": "import requests\n"},
    )
    result = scan(root)
    assert arcnames(result) == ["hello.py", "ns/sub/__init__.py"]
    assert modules_of(result) == ["requests"]


def test_a_bare_import_of_a_namespace_folder_is_not_external(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "import ns\n", "ns/one.py": ""})
    assert scan(root).imports == ()


def test_a_module_imported_twice_is_scanned_once(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "import a\nimport b\nimport a\n",
            "a.py": "import b\nimport requests\n",
            "b.py": "import a\nimport yaml\n",
        },
    )
    result = scan(root)
    assert arcnames(result) == ["a.py", "b.py", "hello.py"]
    assert modules_of(result) == ["requests", "yaml"]


def test_a_main_file_importing_itself_is_not_listed_twice(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "import hello\n"})
    assert arcnames(scan(root)) == ["hello.py"]


def test_arcnames_are_relative_to_the_root_they_were_found_in(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "import local\nimport common.deep.mod\n",
            f"{FUNCTION}/local.py": "",
            "common/__init__.py": "",
            "common/deep/__init__.py": "",
            "common/deep/mod.py": "",
        },
    )
    assert arcnames(scan(root)) == [
        "common/__init__.py",
        "common/deep/__init__.py",
        "common/deep/mod.py",
        "hello.py",
        "local.py",
    ]


def test_a_file_layout_function_uses_the_functions_folder(tmp_path: Path) -> None:
    main = "netlify/functions/hello.py"
    root = site(tmp_path, {main: "import _helpers\n", "netlify/functions/_helpers.py": ""})
    result = scan(root, main)
    assert result.modules == (
        Module(root / "netlify/functions/_helpers.py", "_helpers.py"),
        Module(root / main, "hello.py"),
    )


# --- external imports ----------------------------------------------------------------------


def test_external_imports_are_recorded_with_file_line_and_names(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import os, sys as system
                import google.protobuf.json_format
                from yaml import safe_load, dump as d
                from dateutil import *
                import util
            """,
            f"{FUNCTION}/util.py": "\n\nimport requests\n",
        },
    )
    main, util = root / MAIN, root / FUNCTION / "util.py"
    assert scan(root).imports == (
        ImportSite(module="os", file=main, line=1),
        ImportSite(module="sys", file=main, line=1),
        ImportSite(module="google.protobuf.json_format", file=main, line=2),
        ImportSite(module="yaml", file=main, line=3, names=("safe_load", "dump")),
        ImportSite(module="dateutil", file=main, line=4, names=("*",)),
        ImportSite(module="requests", file=util, line=3),
    )


def test_candidates_and_top_level() -> None:
    site_ = ImportSite(module="google.cloud", file=Path("a.py"), line=1, names=("storage", "*"))
    assert site_.top_level == "google"
    assert site_.candidates() == ("google.cloud.storage", "google.cloud")


def test_future_imports_are_ignored(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "from __future__ import annotations\nimport json\n"})
    assert modules_of(scan(root)) == ["json"]


# --- flags ---------------------------------------------------------------------------------


def test_optional_imports(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                try:
                    import ujson
                except ImportError:
                    import json as ujson
                try:
                    import orjson
                except ModuleNotFoundError:
                    orjson = None
                try:
                    import simplejson
                except (ValueError, ImportError):
                    pass
                try:
                    import rapidjson
                except:
                    pass
                try:
                    import toml
                except ValueError:
                    pass
                else:
                    import tomli_w
                finally:
                    import atexit
                try:
                    import msgpack
                except Exception:
                    pass
                try:
                    import cbor2
                except builtins.ImportError:
                    pass
            """
        },
    )
    flags = {i.module: i.optional for i in scan(root).imports}
    assert flags == {
        "ujson": True,
        "json": False,  # the fallback itself must be there
        "orjson": True,
        "simplejson": True,
        "rapidjson": True,
        "toml": False,
        "tomli_w": False,
        "atexit": False,
        "msgpack": True,
        "cbor2": True,
    }


def test_optional_reaches_nested_blocks(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                try:
                    if True:
                        import ujson
                    def load():
                        import orjson
                except ImportError:
                    pass
            """
        },
    )
    assert [(i.module, i.optional, i.in_function) for i in scan(root).imports] == [
        ("ujson", True, False),
        ("orjson", True, True),
    ]


def test_platform_branches_are_optional(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import sys
                if sys.version_info >= (3, 11):
                    import tomllib
                else:
                    import tomli as tomllib
                if sys.platform == "win32":
                    import winreg
            """
        },
    )
    assert [(i.module, i.optional) for i in scan(root).imports] == [
        ("sys", False),
        ("tomllib", True),
        ("tomli", True),
        ("winreg", True),
    ]


def test_imports_inside_functions_and_methods(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import json
                def handler(event, context):
                    import boto3
                    def inner():
                        from jinja2 import Template
                async def later():
                    import httpx
                class Thing:
                    import enum
                    def method(self):
                        import yaml
            """
        },
    )
    assert [(i.module, i.line, i.in_function) for i in scan(root).imports] == [
        ("json", 1, False),
        ("boto3", 3, True),
        ("jinja2", 5, True),
        ("httpx", 7, True),
        ("enum", 9, False),
        ("yaml", 11, True),
    ]


def test_imports_in_with_for_and_while_blocks(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                with open("x") as f:
                    import a_mod
                for i in range(3):
                    import b_mod
                while False:
                    import c_mod
            """
        },
    )
    assert [(i.module, i.line) for i in scan(root).imports] == [
        ("a_mod", 2),
        ("b_mod", 4),
        ("c_mod", 6),
    ]


def test_imports_inside_match_cases(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import sys
                match sys.argv:
                    case []:
                        import yaml
                    case _:
                        import toml
            """
        },
    )
    assert [(i.module, i.line) for i in scan(root).imports] == [
        ("sys", 1),
        ("yaml", 4),
        ("toml", 6),
    ]


def test_dynamic_imports_with_literal_names(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import importlib
                from importlib import import_module
                yaml = importlib.import_module("yaml")
                toml = import_module("toml")
                six = __import__("six")
                def handler(event, context):
                    return import_module("jinja2.ext")
                here = import_module(".sibling", package=__name__)
                try:
                    ujson = import_module("ujson")
                except ImportError:
                    ujson = None
                if import_module("dotenv"):
                    pass
            """
        },
    )
    main = root / MAIN
    assert scan(root).imports == (
        ImportSite(module="importlib", file=main, line=1),
        ImportSite(module="importlib", file=main, line=2, names=("import_module",)),
        ImportSite(module="yaml", file=main, line=3, dynamic=True),
        ImportSite(module="toml", file=main, line=4, dynamic=True),
        ImportSite(module="six", file=main, line=5, dynamic=True),
        ImportSite(module="jinja2.ext", file=main, line=7, in_function=True, dynamic=True),
        ImportSite(module="ujson", file=main, line=10, optional=True, dynamic=True),
        ImportSite(module="dotenv", file=main, line=13, dynamic=True),
    )


def test_a_literal_dynamic_import_of_first_party_code_is_followed(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {MAIN: 'import_module("plugins.fast")\n', "plugins/fast.py": "import requests\n"},
    )
    result = scan(root)
    assert arcnames(result) == ["hello.py", "plugins/fast.py"]
    assert modules_of(result) == ["requests"]


def test_a_dynamic_import_whose_name_is_not_a_literal_is_a_warning(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import importlib
                name = "yaml"
                mod = importlib.import_module(name)
                def load(x):
                    return __import__(f"plugins.{x}")
                other = import_module(name="toml")
            """
        },
    )
    result = scan(root)
    main = root / MAIN
    assert result.warnings == tuple(
        Problem(NOT_LITERAL, file=main, line=line, hint=NOT_LITERAL_HINT, severity="warning")
        for line in (3, 5, 6)
    )
    assert modules_of(result) == ["importlib"]
    assert Problem(NOT_LITERAL, file=main, line=3, hint=NOT_LITERAL_HINT).format(root) == (
        f"{MAIN}:3: {NOT_LITERAL}; {NOT_LITERAL_HINT}"
    )


def test_type_checking_blocks_are_skipped_but_their_else_is_scanned(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: """\
                import typing
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    import pandas
                    from mypy_boto3_s3 import S3Client
                else:
                    import boto3
                if typing.TYPE_CHECKING:
                    import numpy
                def handler(event, context):
                    if TYPE_CHECKING:
                        import polars
            """
        },
    )
    result = scan(root)
    main = root / MAIN
    assert modules_of(result) == ["typing", "typing", "boto3"]
    assert result.skipped == (
        ImportSite(module="pandas", file=main, line=4, type_checking=True),
        ImportSite(
            module="mypy_boto3_s3", file=main, line=5, names=("S3Client",), type_checking=True
        ),
        ImportSite(module="numpy", file=main, line=9, type_checking=True),
        ImportSite(module="polars", file=main, line=12, in_function=True, type_checking=True),
    )


def test_type_checking_only_first_party_code_is_shipped_but_not_its_else(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "if TYPE_CHECKING:\n    pass\nelse:\n    import local\n",
            f"{FUNCTION}/local.py": "import requests\n",
        },
    )
    result = scan(root)
    assert arcnames(result) == ["hello.py", "local.py"]
    assert modules_of(result) == ["requests"]


def test_first_party_code_imported_only_for_type_checking_adds_no_requirement(
    tmp_path: Path,
) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from .types import Frame\n",
            f"{FUNCTION}/types.py": "import pandas\nFrame = pandas.DataFrame\n",
        },
    )
    assert modules_of(scan(root)) == ["typing"]


# --- unreadable and broken files -----------------------------------------------------------


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "import os\n\ndef handler(event, context)\n    pass\n"})
    with pytest.raises(BundlerError) as caught:
        scan(root)
    assert caught.value.problems == (
        Problem(
            "syntax error: expected ':'",
            file=root / MAIN,
            line=3,
            hint="fix the syntax; the bundler reads your code without running it",
        ),
    )
    assert str(caught.value) == (
        f"{root / MAIN}:3: syntax error: expected ':'; "
        "fix the syntax; the bundler reads your code without running it"
    )


def test_every_broken_module_is_reported(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            MAIN: "import a\nimport b\n",
            f"{FUNCTION}/a.py": "x = (\n",
            f"{FUNCTION}/b.py": "\n\ndef f(:\n    pass\n",
        },
    )
    with pytest.raises(BundlerError) as caught:
        scan(root)
    assert [(p.file, p.line, p.message) for p in caught.value.problems] == [
        (root / FUNCTION / "a.py", 1, "syntax error: '(' was never closed"),
        (root / FUNCTION / "b.py", 3, "syntax error: invalid syntax"),
    ]


def test_a_missing_main_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BundlerError) as caught:
        scan(tmp_path)
    assert caught.value.problems == (
        Problem(
            "cannot read this file: No such file or directory",
            file=tmp_path / MAIN,
            hint="check that it exists and is readable",
        ),
    )


def test_an_encoding_declaration_is_honoured(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: b"# -*- coding: latin-1 -*-\nname = '\xe9'\nimport yaml\n"})
    assert modules_of(scan(root)) == ["yaml"]


def test_a_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: b"import os\nname = '\xff'\n"})
    with pytest.raises(BundlerError) as caught:
        scan(root)
    [problem] = caught.value.problems
    assert problem.file == root / MAIN
    assert problem.message == "cannot decode this file as utf-8: byte 0xff is not valid"
    assert problem.hint == (
        "save the file as UTF-8, or declare its encoding (# -*- coding: ... -*-)"
    )


def test_a_non_utf8_file_error_names_the_line(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: b"import os\n\nname = '\xff'\n"})
    with pytest.raises(BundlerError) as caught:
        scan(root)
    [problem] = caught.value.problems
    assert problem.line == 3
    assert str(tmp_path) not in problem.message


def test_a_file_with_nul_bytes_is_an_error(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: b"import os\nx = 1\x00\n"})
    with pytest.raises(BundlerError) as caught:
        scan(root)
    [problem] = caught.value.problems
    assert problem.file == root / MAIN
    assert (problem.message, problem.line) == ("source code contains a NUL byte", 2)


# --- property: the scanner finds exactly the imports written -------------------------------

EXTERNAL = ["alpha", "beta", "gamma.delta", "eps.zeta.eta", "theta"]


@dataclass(frozen=True)
class Stmt:
    kind: str  # import / import_as / from / from_as / dynamic / def / try / type_checking / class
    module: str = ""
    names: tuple[str, ...] = ()
    body: tuple[Stmt, ...] = ()


LEAVES = st.one_of(
    st.builds(
        Stmt,
        st.sampled_from(["import", "import_as", "dynamic"]),
        st.sampled_from(EXTERNAL),
    ),
    st.builds(
        Stmt,
        st.sampled_from(["from", "from_as"]),
        st.sampled_from(EXTERNAL),
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True).map(tuple),
    ),
)


def _blocks(children: st.SearchStrategy[list[Stmt]]) -> st.SearchStrategy[list[Stmt]]:
    block = st.builds(
        lambda kind, body: Stmt(kind, body=tuple(body)),
        st.sampled_from(["def", "try", "type_checking", "class", "if"]),
        children,
    )
    return st.lists(st.one_of(LEAVES, block), max_size=4)


PROGRAMS = st.recursive(st.lists(LEAVES, max_size=4), _blocks, max_leaves=12)

Expected = tuple[str, int, tuple[str, ...], bool, bool, bool]


def render(
    body: tuple[Stmt, ...] | list[Stmt],
    lines: list[str],
    expected: list[Expected],
    depth: int = 0,
    *,
    optional: bool = False,
    in_function: bool = False,
    typing: bool = False,
) -> None:
    pad = "    " * depth
    if not body:
        lines.append(pad + "pass")
        return
    for stmt in body:
        line = len(lines) + 1
        names: tuple[str, ...] = ()
        dynamic = False
        if stmt.kind == "import":
            lines.append(f"{pad}import {stmt.module}")
        elif stmt.kind == "import_as":
            lines.append(f"{pad}import {stmt.module} as alias")
        elif stmt.kind == "from":
            lines.append(f"{pad}from {stmt.module} import {', '.join(stmt.names)}")
            names = stmt.names
        elif stmt.kind == "from_as":
            aliased = ", ".join(f"{n} as {n}_" for n in stmt.names)
            lines.append(f"{pad}from {stmt.module} import ({aliased})")
            names = stmt.names
        elif stmt.kind == "dynamic":
            lines.append(f'{pad}loaded = importlib.import_module("{stmt.module}")')
            dynamic = True
        else:
            flags = {"optional": optional, "in_function": in_function, "typing": typing}
            if stmt.kind == "def":
                lines.append(f"{pad}def f():")
                flags["in_function"] = True
            elif stmt.kind == "class":
                lines.append(f"{pad}class C:")
            elif stmt.kind == "if":
                lines.append(f"{pad}if condition:")
            elif stmt.kind == "type_checking":
                lines.append(f"{pad}if TYPE_CHECKING:")
                flags["typing"] = True
            else:
                lines.append(f"{pad}try:")
                flags["optional"] = True
            render(stmt.body, lines, expected, depth + 1, **flags)
            if stmt.kind == "try":
                lines.append(f"{pad}except ImportError:")
                lines.append(f"{pad}    pass")
            continue
        expected.append((stmt.module, line, names, optional, in_function, typing, dynamic))


@settings(max_examples=150, deadline=None)
@given(PROGRAMS)
def test_the_scanner_finds_exactly_the_imports_written(program: list[Stmt]) -> None:
    lines: list[str] = []
    expected: list[Expected] = []
    render(program, lines, expected)
    with tempfile.TemporaryDirectory() as folder:
        main = Path(folder) / "main.py"
        main.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = scan_function(main, [Path(folder)])
    found = [
        (i.module, i.line, i.names, i.optional, i.in_function, i.type_checking, i.dynamic)
        for i in (*result.imports, *result.skipped)
    ]
    assert sorted(found) == sorted(expected)
    assert [i.line for i in result.imports] == sorted(e[1] for e in expected if not e[5])
    assert all(i.type_checking for i in result.skipped)
    assert result.warnings == ()
    assert [m.arcname for m in result.modules] == ["main.py"]


def test_names_a_first_party_namespace_folder_lacks_are_other_portions(tmp_path: Path) -> None:
    # `nsx/` is first-party (no __init__.py); `nsx.plugin` comes from a distribution
    root = site(tmp_path, {MAIN: "from nsx import plugin, mine\n", "nsx/mine.py": "X = 1\n"})
    result = scan(root)
    assert arcnames(result) == ["hello.py", "nsx/mine.py"]
    assert [(i.module, i.names) for i in result.imports] == [("nsx.plugin", ())]


def test_names_of_a_regular_first_party_package_are_attributes(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "from pkg import thing\n", "pkg/__init__.py": "thing = 1\n"})
    assert modules_of(scan(root)) == []


# --- module names no import can load ---------------------------------------------------------

PATH_HINT = (
    'import it by its dotted name from the function folder or the site root, e.g. "package.module"'
)
NAME_HINT = 'write identifiers joined by dots, e.g. "package.module"'
STR_HINT = 'pass the module\'s name as a str, e.g. "package.module"'
LONG = "y" * 300


@pytest.mark.parametrize(
    ("call", "message", "hint"),
    [
        (
            'import_module("a b")',
            "import_module(...): 'a b' is not a module name; skipped",
            NAME_HINT,
        ),
        ('import_module("")', "import_module(...): '' is not a module name; skipped", NAME_HINT),
        (
            'import_module("a..b")',
            "import_module(...): 'a..b' is not a module name; skipped",
            NAME_HINT,
        ),
        (
            'import_module("1abc")',
            "import_module(...): '1abc' is not a module name; skipped",
            NAME_HINT,
        ),
        (
            'import_module("a.")',
            "import_module(...): 'a.' is not a module name; skipped",
            NAME_HINT,
        ),
        (
            'import_module("a-b")',
            "import_module(...): 'a-b' is not a module name; skipped",
            NAME_HINT,
        ),
        (
            'importlib.import_module("/abs/path")',
            "import_module(...): '/abs/path' is a file path, not a module name; skipped",
            PATH_HINT,
        ),
        (
            'import_module("./x")',
            "import_module(...): './x' is a file path, not a module name; skipped",
            PATH_HINT,
        ),
        (
            '__import__("plugins/x.py")',
            "__import__(...): 'plugins/x.py' is a file path, not a module name; skipped",
            PATH_HINT,
        ),
        (
            f'import_module("{LONG}")',
            f"import_module(...): '{'y' * 57}...' is 300 characters long, longer than a file "
            "name can be; skipped",
            "shorten it to 255 characters at most",
        ),
        ("__import__(5)", "__import__(...): 5 is not a str; skipped", STR_HINT),
        ('import_module(b"yaml")', "import_module(...): b'yaml' is not a str; skipped", STR_HINT),
        ("import_module(None)", "import_module(...): None is not a str; skipped", STR_HINT),
        ('import_module(f"plugins.{name}")', NOT_LITERAL, NOT_LITERAL_HINT),
        ("import_module()", NOT_LITERAL, NOT_LITERAL_HINT),
        ("import_module(*names)", NOT_LITERAL, NOT_LITERAL_HINT),
    ],
)
def test_module_names_no_import_can_load_are_skipped_with_a_warning(
    tmp_path: Path, call: str, message: str, hint: str
) -> None:
    root = site(tmp_path, {MAIN: f"import importlib\nname = names = 'x'\n{call}\n"})
    result = scan(root)
    assert modules_of(result) == ["importlib"]
    assert result.warnings == (
        Problem(message, file=root / MAIN, line=3, hint=hint, severity="warning"),
    )


@pytest.mark.parametrize(
    ("call", "module"),
    [
        ('import_module("café")', "café"),  # identifiers in any script are module names
        ('import_module("pkg.class")', "pkg.class"),  # a keyword is still a file name
        ('import_module(f"yaml")', "yaml"),  # an f-string without placeholders is a literal
        ('import_module("x" * 255)', None),  # not a literal: warned, not followed
        (f'import_module("{"z" * 255}")', "z" * 255),
    ],
)
def test_dynamic_module_names_that_can_load(tmp_path: Path, call: str, module: str | None) -> None:
    root = site(tmp_path, {MAIN: f"{call}\n"})
    assert modules_of(scan(root)) == ([module] if module else [])


def test_a_relative_dynamic_import_is_not_followed_silently(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: 'import_module("..pkg.mod", "a.b")\nimport_module(".")\n'})
    result = scan(root)
    assert (modules_of(result), result.warnings) == ([], ())


def test_a_static_import_longer_than_a_file_name_is_skipped(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: f"import os\nimport {LONG}\nfrom {LONG} import x\n"})
    result = scan(root)
    assert modules_of(result) == ["os"]
    message = (
        f"import: '{'y' * 57}...' is 300 characters long, longer than a file name can be; skipped"
    )
    assert result.warnings == tuple(
        Problem(
            message,
            file=root / MAIN,
            line=line,
            hint="shorten it to 255 characters at most",
            severity="warning",
        )
        for line in (2, 3)
    )


def test_a_name_part_too_long_for_a_file_is_simply_not_first_party(tmp_path: Path) -> None:
    part = "é" * 200  # 200 characters, 400 bytes: the file system refuses the name
    root = site(tmp_path, {MAIN: f"import {part}\nimport pkg.{part}\n", "pkg/__init__.py": ""})
    result = scan(root)
    assert modules_of(result) == [part]  # external: the environment is asked for it
    assert arcnames(result) == ["hello.py", "pkg/__init__.py"]  # as for any missing name


# --- long chains and deep trees: iterative walks ---------------------------------------------


@pytest.mark.parametrize("branches", [1000, 2000])
def test_imports_at_the_end_of_a_long_elif_chain_keep_their_flags(
    tmp_path: Path, branches: int
) -> None:
    chain = "".join(f"elif x == {i}:\n    import json\n" for i in range(branches))
    last = """\
else:
    try:
        import ujson
    except ImportError:
        pass
    if TYPE_CHECKING:
        import pandas
    def handler(event, context):
        return import_module("yaml")
"""
    root = site(tmp_path, {MAIN: f"x = 1\nif x == -1:\n    pass\n{chain}{last}"})
    result = scan(root)
    end = 3 + 2 * branches
    assert [(i.module, i.line) for i in result.imports[-3:]] == [
        ("json", end),
        ("ujson", end + 3),
        ("yaml", end + 9),
    ]
    assert [(i.optional, i.in_function, i.dynamic) for i in result.imports[-2:]] == [
        (True, False, False),
        (False, True, True),
    ]
    assert len(result.imports) == branches + 2
    assert [(i.module, i.line) for i in result.skipped] == [("pandas", end + 7)]


def test_a_dynamic_import_in_a_match_case_is_found_once(tmp_path: Path) -> None:
    source = """\
        match command:
            case "load" if import_module("guard"):
                import_module("yaml")
            case _:
                pass
    """
    root = site(tmp_path, {MAIN: source})
    assert [(i.module, i.line) for i in scan(root).imports] == [("guard", 2), ("yaml", 3)]


def test_python_warnings_of_first_party_modules_are_scan_warnings(tmp_path: Path) -> None:
    root = site(tmp_path, {MAIN: "import helper\n", f"{FUNCTION}/helper.py": 'x = "\\d"\n'})
    assert scan(root).warnings == (
        Problem(
            "Python warns: invalid escape sequence '\\d'",
            file=root / FUNCTION / "helper.py",
            line=1,
            hint="write a raw string (r'...') or double the backslash",
            severity="warning",
        ),
    )


def test_the_scan_takes_the_tree_discovery_kept(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {MAIN: "import helper\nimport json\n", f"{FUNCTION}/helper.py": "import yaml\n"},
    )
    memo = SourceMemo()
    memo.keep(parse_source(root / MAIN))
    with_memo = scan_function(root / MAIN, [root / FUNCTION, root], memo)
    assert len(memo) == 0
    assert with_memo == scan(root)


# --- folders that cannot be searched -------------------------------------------------------


def test_a_first_party_folder_that_cannot_be_searched_is_an_error(tmp_path: Path) -> None:
    ok, why_not = support.can_run_unprivileged()
    if not ok:
        pytest.skip(why_not)
    root = support.unprivileged_folder()
    try:
        write(
            root,
            {
                "netlify/functions/api.py": "import lib.inner\ndef handler(e, c):\n    pass\n",
                "lib/__init__.py": "",
                "lib/inner.py": "",
            },
        )
        support.give_to_nobody(root)
        (root / "lib").chmod(0)
        python = str(support.SYSTEM_PYTHON)
        done = support.run_unprivileged(["build", "--python", python, "--no-cache"], root)
    finally:
        (root / "lib").chmod(0o755)
        shutil.rmtree(root)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error: ")] == [
        "error: netlify/functions/api.py:1: cannot look for module 'lib.inner' in lib/: "
        "Permission denied; let the user running the build read and enter the site's folders"
    ]
