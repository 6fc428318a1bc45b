"""`--compile`: deterministic bytecode made by the target interpreter."""

from __future__ import annotations

import marshal
import sys
from pathlib import Path

import pytest

from bundler.errors import BundlerError
from bundler.pack.compile import compile_bytecode

VERSION = (sys.version_info[0], sys.version_info[1])
TAG = sys.implementation.cache_tag


def sources(tmp_path: Path) -> list[tuple[str, Path]]:
    files = {
        "pkg/__init__.py": "NAMES = {'a', 'b', 'c', 'd'}\n",
        "pkg/mod.py": "def f(x):\n    return x in {'alpha', 'beta', 'gamma'}\n",
        "main.py": "import pkg\n",
        "pkg/tests/py2only.py": "print 'hello'\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return [(name, tmp_path / name) for name in files]


def test_compiles_next_to_each_module(tmp_path: Path) -> None:
    result = compile_bytecode(sources(tmp_path), Path(sys.executable), VERSION)
    assert [name for name, _ in result.entries] == [
        f"__pycache__/main.{TAG}.pyc",
        f"pkg/__pycache__/__init__.{TAG}.pyc",
        f"pkg/__pycache__/mod.{TAG}.pyc",
    ]
    data = dict(result.entries)[f"pkg/__pycache__/mod.{TAG}.pyc"]
    assert int.from_bytes(data[4:8], "little") == 1  # hash-based, source never checked
    assert marshal.loads(data[16:]).co_filename == "pkg/mod.py"
    assert str(tmp_path).encode() not in b"".join(d for _, d in result.entries)
    assert [p.message.split(" (")[0] for p in result.skipped] == [
        f"pkg/tests/py2only.py does not compile for Python {VERSION[0]}.{VERSION[1]}"
    ]
    assert result.skipped[0].severity == "note"


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    first = compile_bytecode(sources(tmp_path / "a"), Path(sys.executable), VERSION)
    second = compile_bytecode(sources(tmp_path / "b"), Path(sys.executable), VERSION)
    assert first.entries == second.entries


def test_compiled_modules_import(tmp_path: Path) -> None:
    import subprocess

    result = compile_bytecode(sources(tmp_path), Path(sys.executable), VERSION)
    for name, data in result.entries:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "pkg" / "mod.py").write_text("raise SystemExit('source was read')\n")
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            "import sys; sys.path[:0] = ['.']; import pkg.mod; print(pkg.mod.f('beta'))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "True\n")


def test_wrong_python_version(tmp_path: Path) -> None:
    with pytest.raises(BundlerError) as raised:
        compile_bytecode(sources(tmp_path), Path(sys.executable), (3, 12))
    assert raised.value.problems[0].message == (
        f"--compile needs Python 3.12, and {sys.executable} is {VERSION[0]}.{VERSION[1]}"
    )


def test_nothing_to_compile() -> None:
    assert compile_bytecode([], Path("/nowhere/python"), VERSION).entries == ()
