"""Reading users' Python source: every failure becomes a message with file and line."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from bundler.errors import BundlerError


def parse_source(path: Path) -> ast.Module:
    """The syntax tree of `path`, never running it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BundlerError.of(
            f"cannot read this file: {error.strerror or error}",
            file=path,
            hint="check that it exists and is readable",
        ) from None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)  # PEP 263
        text = data.decode(encoding)
    except SyntaxError as error:  # an unknown encoding declaration
        raise BundlerError.of(
            f"cannot decode this file: {error.msg}",
            file=path,
            line=error.lineno,
            hint="declare an encoding Python knows, or save the file as UTF-8",
        ) from None
    except UnicodeDecodeError as error:
        raise BundlerError.of(
            f"cannot decode this file as {encoding}: byte {data[error.start]:#04x} is not valid",
            file=path,
            line=data[: error.start].count(b"\n") + 1,
            hint="save the file as UTF-8, or declare its encoding (# -*- coding: ... -*-)",
        ) from None
    if "\0" in text:
        raise BundlerError.of(
            "source code contains a NUL byte",
            file=path,
            line=text[: text.index("\0")].count("\n") + 1,
            hint="this is not a text file; remove the NUL bytes or the file",
        )
    try:
        return ast.parse(text, filename=str(path))
    except SyntaxError as error:
        raise BundlerError.of(
            f"syntax error: {error.msg}",
            file=path,
            line=error.lineno,
            hint="fix the syntax; the bundler reads your code without running it",
        ) from None
