"""One error hierarchy: every problem says what is wrong, where, and how to fix it."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Problem:
    """A problem found in a user's input, with where it is and how to fix it."""

    message: str
    _: KW_ONLY  # the message first, then only by name: file, line, function, hint, severity
    file: Path | None = None
    line: int | None = None
    function: str | None = None
    hint: str | None = None
    severity: Severity = "error"

    def for_function(self, name: str) -> Problem:
        """This problem charged to function `name`, unless it already names one."""
        return self if self.function else replace(self, function=name)

    def location(self, root: Path | None = None) -> str:
        """`file:line` relative to `root` where possible, or an empty string."""
        if self.file is None:
            return ""
        where = display_path(self.file, root)
        return f"{where}:{self.line}" if self.line else where

    def format(self, root: Path | None = None) -> str:
        """One line in the house layout: `file:line: what is wrong; how to fix it`."""
        text = self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        where = self.location(root)
        return f"{where}: {text}" if where else text

    def to_json(self, root: Path | None = None) -> dict[str, object]:
        """The problem as the --json documents list it, paths relative to `root`."""
        return {
            "severity": self.severity,
            "message": self.message,
            "file": display_path(self.file, root) if self.file else None,
            "line": self.line,
            "function": self.function,
            "hint": self.hint,
        }


def display_path(path: Path, root: Path | None = None) -> str:
    """`path` relative to `root` when it is inside it, in POSIX form."""
    if root is not None and path.is_absolute():
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


class BundlerError(Exception):
    """A problem with the user's input: printed without a traceback, exit code 1."""

    exit_code = 1

    def __init__(self, *problems: Problem) -> None:
        if not problems:
            raise ValueError("BundlerError needs at least one problem")
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))

    @classmethod
    def of(
        cls: type[_Error],
        message: str,
        *,
        file: Path | None = None,
        line: int | None = None,
        function: str | None = None,
        hint: str | None = None,
    ) -> _Error:
        """The error with one problem built from these fields."""
        return cls(Problem(message, file=file, line=line, function=function, hint=hint))


_Error = TypeVar("_Error", bound=BundlerError)


class UsageError(BundlerError):
    """A bad command line or site layout that stops the whole run: exit code 2."""

    exit_code = 2


class EnvironmentProblem(BundlerError):
    """The `--python` environment cannot be used: nothing can be built."""
