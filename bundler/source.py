"""Reading users' Python source: every failure becomes a message with file and line."""

from __future__ import annotations

import ast
import tokenize
from pathlib import Path

from bundler.errors import BundlerError


def parse_source(path: Path) -> ast.Module:
    """The syntax tree of `path`, never running it."""
    try:
        with tokenize.open(path) as stream:  # honours PEP 263 encoding declarations
            text = stream.read()
    except (OSError, UnicodeDecodeError, SyntaxError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise BundlerError.of(
            f"cannot read this file: {reason}",
            file=path,
            hint="check that it exists, is readable and is UTF-8 text",
        ) from None
    try:
        return ast.parse(text, filename=str(path))
    except SyntaxError as error:
        raise BundlerError.of(
            f"syntax error: {error.msg}",
            file=path,
            line=error.lineno,
            hint="fix the syntax; the bundler reads your code without running it",
        ) from None
    except ValueError as error:  # source with NUL bytes
        raise BundlerError.of(f"cannot parse: {error}", file=path) from None
