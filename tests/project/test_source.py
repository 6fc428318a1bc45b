"""Reading users' source: CPython's limits, odd encodings and Python's own warnings become
messages with file and line; each main file is parsed once per build."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest
from build_support import error_lines, run

from bundler.errors import BundlerError, Problem
from bundler.project.source import TOO_DEEP, TOO_DEEP_HINT, SourceMemo, parse_source

F = "netlify/functions"
HANDLER = "\ndef handler(event, context):\n    return {'statusCode': 200}\n"
ESCAPE_HINT = "write a raw string (r'...') or double the backslash"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

# Each beyond what CPython 3.11 compiles (its limits are about 3,000 levels and 200
# parentheses); (name, source, line of the error or None where CPython gives none)
TOO_DEEP_SOURCES = [
    ("not", "x = " + "not " * 5000 + "True\n", None),
    ("sum", "x = " + "+".join(["1"] * 100_000) + "\n", None),
    ("lambdas", "x = " + "lambda: " * 3000 + "1\n", None),
    ("calls", "x = f" + "()" * 5000 + "\n", None),
    ("lists", "\nx = " + "[" * 3000 + "]" * 3000 + "\n", 2),
    ("dicts", "x = " + "{1: " * 3000 + "1" + "}" * 3000 + "\n", 1),
    ("parentheses", "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n", 1),
    ("blocks", "".join("    " * i + "if x:\n" for i in range(101)) + "    " * 101 + "pass\n", 101),
    ("elif-5000", "if x:\n    pass\n" + "elif x:\n    pass\n" * 5000, None),
]


def elif_chain(branches: int, body: str = "    pass\n") -> str:
    return "x = 1\nif x == -1:\n    pass\n" + "".join(
        f"elif x == {i}:\n{body}" for i in range(branches)
    )


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> tuple[Problem, ...]:
    with pytest.raises(BundlerError) as caught:
        parse_source(path)
    return caught.value.problems


# --- CPython's limits ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "source", "line"), TOO_DEEP_SOURCES)
def test_sources_nested_too_deeply_are_one_clear_problem(
    tmp_path: Path, name: str, source: str, line: int | None
) -> None:
    path = write(tmp_path / f"{name}.py", source)
    assert problems(path) == (Problem(TOO_DEEP, file=path, line=line, hint=TOO_DEEP_HINT),)


@pytest.mark.parametrize(("name", "source", "line"), TOO_DEEP_SOURCES)
def test_cpython_cannot_compile_what_is_refused_either(name: str, source: str, line: int) -> None:
    # the refusal is never stricter than the interpreter: importing the file fails too
    with pytest.raises((RecursionError, MemoryError, SyntaxError)):
        compile(source, f"{name}.py", "exec")


@pytest.mark.parametrize("branches", [1000, 2000])
def test_a_long_elif_chain_that_cpython_compiles_is_read(tmp_path: Path, branches: int) -> None:
    source = elif_chain(branches)
    compile(source, "chain.py", "exec")  # CPython imports it
    parsed = parse_source(write(tmp_path / "chain.py", source))
    assert len(parsed.tree.body) == 2


# --- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "message"),
    [
        (
            "rot13",
            "cannot decode this file as rot13: 'rot13' is not a text encoding; "
            "use codecs.decode() to handle arbitrary codecs",
        ),
        (
            "undefined",
            "cannot decode this file as undefined: decoding with 'undefined' codec failed "
            "(UnicodeError: undefined encoding)",
        ),
    ],
)
def test_an_encoding_that_is_not_a_text_encoding_is_an_error(
    tmp_path: Path, coding: str, message: str
) -> None:
    path = write(tmp_path / "odd.py", f"# coding: {coding}\nimport os\n".encode())
    assert problems(path) == (
        Problem(
            message,
            file=path,
            hint="save the file as UTF-8, or declare a text encoding (# -*- coding: ... -*-)",
        ),
    )


def test_a_lone_surrogate_from_an_escape_codec_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "odd.py", b"# coding: raw_unicode_escape\nx = '\\ud800'\n")
    [problem] = problems(path)
    assert problem.message.startswith("cannot read this file as Python source: 'utf-8' codec")
    assert (problem.file, problem.hint) == (path, "save the file as UTF-8")


def test_an_undecodable_byte_at_the_end_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "odd.py", b"# coding: utf-16\n")  # odd length: truncated data
    [problem] = problems(path)
    assert problem.message.startswith("cannot decode this file as utf-16")
    assert problem.line == 1


# --- Python's own warnings -----------------------------------------------------------------


def test_python_warnings_while_parsing_become_problems_without_host_paths(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "warns.py", 'import re\nx = "\\d"\ny = 1if x else 2\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `-W error` or PYTHONWARNINGS=error would
        before = list(warnings.filters)
        parsed = parse_source(path)  # neither a SyntaxError nor a warning raised
        assert warnings.filters == before
    assert parsed.warnings == (
        Problem(
            "Python warns: invalid escape sequence '\\d'",
            file=path,
            line=2,
            hint=ESCAPE_HINT,
            severity="warning",
        ),
        Problem(
            "Python warns: invalid decimal literal",
            file=path,
            line=3,
            hint="put a space between the number and the word after it",
            severity="warning",
        ),
    )
    assert all(str(tmp_path) not in p.message for p in parsed.warnings)
    assert parsed.warnings[0].format(tmp_path) == (
        f"warns.py:2: Python warns: invalid escape sequence '\\d'; {ESCAPE_HINT}"
    )


def test_warnings_stay_with_their_file_when_threads_parse_at_once(tmp_path: Path) -> None:
    paths = [write(tmp_path / f"m{i}.py", "\n" * i + 'x = "\\q"\n') for i in range(8)]
    results: dict[Path, list[int]] = {}

    def parse_all(path: Path) -> None:
        results[path] = [w.line or 0 for _ in range(5) for w in parse_source(path).warnings]

    threads = [threading.Thread(target=parse_all, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {path: [i + 1] * 5 for i, path in enumerate(paths)}


def test_python_warnings_are_never_printed_raw_by_a_build(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site / F / "warns.py", 'import re\nx = "\\d"\ny = 1if x else 2\n' + HANDLER)
    environment = {**os.environ, "PYTHONWARNINGS": "default", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bundler", "build", "--python", PYTHON, "--no-cache"],
        cwd=site,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert [line for line in lines if line.startswith("warning: ")] == [
        f"warning: {F}/warns.py:2: Python warns: invalid escape sequence '\\d'; {ESCAPE_HINT}",
        f"warning: {F}/warns.py:3: Python warns: invalid decimal literal; "
        "put a space between the number and the word after it",
    ]
    assert "SyntaxWarning" not in done.stderr
    assert "DeprecationWarning" not in done.stderr
    assert str(tmp_path) not in done.stderr


# --- parsed once ---------------------------------------------------------------------------


def test_the_memo_hands_a_kept_tree_over_once(tmp_path: Path) -> None:
    path = write(tmp_path / "main.py", "import os\n")
    memo = SourceMemo()
    parsed = parse_source(path)
    memo.keep(parsed)
    assert len(memo) == 1
    assert memo.parse(path) is parsed
    assert len(memo) == 0
    assert memo.parse(path) is not parsed  # taken: parsed again, nothing kept
    assert len(memo) == 0


def test_the_memo_parses_a_changed_file_again(tmp_path: Path) -> None:
    path = write(tmp_path / "main.py", "import os\n")
    memo = SourceMemo()
    memo.keep(parse_source(path))
    write(path, "import json, sys\n")
    os.utime(path, ns=(1, 1))  # even with an old time: the size and ctime differ
    parsed = memo.parse(path)
    assert [alias.name for alias in parsed.tree.body[0].names] == ["json", "sys"]  # type: ignore[attr-defined]


# --- whole builds: the function fails, the others build ------------------------------------


DEEP = "x = " + "not " * 5000 + "True\n"
DEEP_CONFIG = "config = {'schedule': " + "+".join(["1"] * 100_000) + "}\n"
DEEP_LITERAL = "\n\nconfig = {'a': " + "[" * 3000 + "]" * 3000 + "}\n"


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"deep.py": DEEP + HANDLER}, f"{F}/deep.py"),
        (
            {"deep/deep.py": "import helper\n" + HANDLER, "deep/helper.py": DEEP},
            f"{F}/deep/helper.py",
        ),
        ({"deep.py": DEEP_CONFIG + HANDLER}, f"{F}/deep.py"),
        ({"deep.py": DEEP_LITERAL + HANDLER}, f"{F}/deep.py:3"),
    ],
    ids=["main-file", "first-party-module", "config-sum", "config-lists"],
)
def test_a_source_too_deep_fails_its_function_and_the_others_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], where: str
) -> None:
    site = tmp_path / "site"
    for name, text in {**files, "fine.py": "import json\n" + HANDLER}.items():
        write(site / F / name, text)
    result = run(site, monkeypatch, "--no-cache", python=Path(PYTHON))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {where}: {TOO_DEEP}; {TOO_DEEP_HINT}"]
    assert (site / "dist/functions/fine.zip").is_file()
    assert not (site / "dist/functions/deep.zip").exists()


def test_a_1000_branch_elif_chain_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    chain = elif_chain(1000, "    import json\n")
    write(site / F / "chain.py", chain + "else:\n    def handler(event, context):\n        pass\n")
    result = run(site, monkeypatch, "--no-cache", python=Path(PYTHON))
    assert result.exit_code == 0, result.stderr
    assert (site / "dist/functions/chain.zip").is_file()
