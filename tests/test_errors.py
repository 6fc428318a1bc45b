"""The one error hierarchy: `Problem.format` layout and `BundlerError` with several problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.errors import (
    BundlerError,
    EnvironmentProblem,
    Problem,
    UsageError,
    display_path,
)

ROOT = Path("/site")


def test_format_has_file_line_message_and_hint_relative_to_root() -> None:
    problem = Problem(
        "cannot find module 'yaml'",
        file=ROOT / "netlify/functions/hello.py",
        line=3,
        hint="add PyYAML to your requirements",
    )
    assert problem.format(ROOT) == (
        "netlify/functions/hello.py:3: cannot find module 'yaml'; add PyYAML to your requirements"
    )


def test_format_without_root_keeps_the_whole_path() -> None:
    problem = Problem("broken", file=ROOT / "a.py", line=7)
    assert problem.format() == "/site/a.py:7: broken"


def test_format_without_line_names_only_the_file() -> None:
    assert Problem("broken", file=ROOT / "a.py").format(ROOT) == "a.py: broken"


def test_format_with_line_zero_names_only_the_file() -> None:
    assert Problem("broken", file=ROOT / "a.py", line=0).format(ROOT) == "a.py: broken"


def test_format_without_file_is_message_and_hint() -> None:
    assert Problem("nothing to build", hint="add a function").format(ROOT) == (
        "nothing to build; add a function"
    )
    assert Problem("nothing to build").format() == "nothing to build"


def test_format_of_a_file_outside_the_root_keeps_its_absolute_path() -> None:
    problem = Problem("broken", file=Path("/elsewhere/b.py"), line=2)
    assert problem.format(ROOT) == "/elsewhere/b.py:2: broken"


def test_format_of_a_relative_file_is_left_as_it_is() -> None:
    problem = Problem("broken", file=Path("netlify/functions/a.py"), line=1)
    assert problem.format(ROOT) == "netlify/functions/a.py:1: broken"


def test_location() -> None:
    assert Problem("x", file=ROOT / "f/a.py", line=4).location(ROOT) == "f/a.py:4"
    assert Problem("x", file=ROOT / "f/a.py").location(ROOT) == "f/a.py"
    assert Problem("x").location(ROOT) == ""


def test_display_path() -> None:
    assert display_path(ROOT / "a" / "b.py", ROOT) == "a/b.py"
    assert display_path(ROOT / "a" / "b.py") == "/site/a/b.py"
    assert display_path(Path("/other/b.py"), ROOT) == "/other/b.py"


def test_problem_defaults_to_error_severity() -> None:
    assert Problem("x").severity == "error"


def test_to_json() -> None:
    problem = Problem(
        "dev-only distribution 'pytest'",
        file=ROOT / "netlify/functions/a.py",
        line=2,
        function="a",
        hint="move it to [project].dependencies",
        severity="warning",
    )
    assert problem.to_json(ROOT) == {
        "severity": "warning",
        "message": "dev-only distribution 'pytest'",
        "file": "netlify/functions/a.py",
        "line": 2,
        "function": "a",
        "hint": "move it to [project].dependencies",
    }
    assert Problem("x").to_json(ROOT) == {
        "severity": "error",
        "message": "x",
        "file": None,
        "line": None,
        "function": None,
        "hint": None,
    }


def test_bundler_error_with_several_problems_prints_one_line_each() -> None:
    first = Problem("syntax error: invalid syntax", file=ROOT / "a.py", line=1, hint="fix it")
    second = Problem("no top-level `handler` defined", file=ROOT / "b.py")
    error = BundlerError(first, second)
    assert error.problems == (first, second)
    assert str(error) == (
        "/site/a.py:1: syntax error: invalid syntax; fix it\n"
        "/site/b.py: no top-level `handler` defined"
    )
    assert error.exit_code == 1


def test_bundler_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match=r"^BundlerError needs at least one problem$"):
        BundlerError()


def test_of_builds_one_problem() -> None:
    error = BundlerError.of("broken", file=ROOT / "a.py", line=3, function="a", hint="fix it")
    assert error.problems == (
        Problem("broken", file=ROOT / "a.py", line=3, function="a", hint="fix it"),
    )
    assert str(error) == "/site/a.py:3: broken; fix it"


def test_of_on_a_subclass_builds_the_subclass() -> None:
    error = UsageError.of("the functions folder does not exist", file=ROOT / "f")
    assert type(error) is UsageError
    assert error.exit_code == 2
    assert isinstance(error, BundlerError)


def test_environment_problem_is_a_build_problem() -> None:
    error = EnvironmentProblem(Problem("no site-packages"))
    assert isinstance(error, BundlerError)
    assert error.exit_code == 1
