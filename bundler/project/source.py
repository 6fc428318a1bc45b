"""Reading users' Python source: every failure becomes a message with file and line.

Each file is parsed once per build: discovery parses a function's main file and leaves the
tree in the build's `SourceMemo`, and the scan takes it from there.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import io
import json
import os
import threading
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.errors import BundlerError, Problem
from bundler.files import open_regular, stat_signature
from bundler.store.folder import CacheFolder

TOO_DEEP = "too deeply nested for Python to compile"
TOO_DEEP_HINT = (
    "split the expression or flatten the nesting (CPython cannot import this file either)"
)
# What CPython's parser says when a nesting limit is reached: these are not mistakes in
# the code, they are limits of the compiler
_NESTING_LIMITS = ("too many nested parentheses", "too many levels of indentation")
# `warnings.catch_warnings` swaps process-wide state: builds parse on a thread pool, so one
# parse at a time records its warnings (the parser holds the GIL anyway: nothing is lost)
_PARSING = threading.Lock()
_SAVED_FORMAT = 1
_SAVED_LIMIT = 256 * 2**20  # bytes: 2,000 functions take well under a MB


@dataclass(frozen=True, kw_only=True)
class ParsedSource:
    """A file's syntax tree, its text, and the warnings Python gave while parsing it."""

    path: Path
    signature: tuple[int, ...]  # the file's stat when it was read
    text: str
    tree: ast.Module
    warnings: tuple[Problem, ...] = ()

    def may_contain(self, word: str) -> bool:
        """False only when `word` cannot appear in the tree as a name or operator: lets a
        walk over every expression be skipped (identifiers are NFKC-normalised, so a
        non-ASCII file may spell an ASCII name differently)."""
        return word in self.text or not self.text.isascii()


class SourceMemo:
    """The files of one build, each parsed once: discovery keeps a main file's tree here
    and the scan takes it (then it is gone, so memory does not grow with the site). Keyed
    by path and the file's stat: a file changed in between is parsed again."""

    def __init__(self, saved: Path | None = None) -> None:
        self._kept: dict[Path, ParsedSource] = {}
        # what discovery read from each main file, by its stat: kept at `saved` between
        # builds, so an unchanged function is not parsed to be discovered
        self.saved = saved
        self._read: dict[str, list[Any]] = {}
        self._used: dict[str, list[Any]] = {}
        self._seen: dict[str, tuple[int, ...]] = {}  # each main file's stat, this build
        if saved is not None:
            with contextlib.suppress(OSError, ValueError, TypeError, RecursionError):
                with open_regular(saved, follow_symlinks=False) as stream:
                    document = json.loads(stream.read(_SAVED_LIMIT))
                if isinstance(document, dict) and document.get("format") == _SAVED_FORMAT:
                    self._read = dict(document["files"])

    def recall(self, path: Path) -> Any:
        """The value `remember` kept for `path` while it has the same stat, else None."""
        signature = file_signature(path)
        self._seen[str(path)] = signature
        known = self._read.get(str(path))
        if not signature or not isinstance(known, list) or len(known) != 2:
            return None
        if known[0] != list(signature):
            return None
        self._used[str(path)] = known
        return known[1]

    def remember(self, path: Path, signature: tuple[int, ...], value: Any) -> None:
        """Keep `value` (JSON) for `path` as it was at `signature`."""
        if signature:
            self._used[str(path)] = [list(signature), value]
        self._seen[str(path)] = signature

    def seen(self, path: str) -> tuple[int, ...] | None:
        """The stat `recall` or `remember` had for `path` in this build (taken before any
        function was analysed), or None: the index need not stat each main file again."""
        return self._seen.get(path)

    def save(self, cache: CacheFolder) -> None:
        """Write what was recalled or remembered this build (and nothing else) to `cache`."""
        if self.saved is None or self._used == self._read:
            return
        cache.write_document(self.saved, {"format": _SAVED_FORMAT, "files": self._used})

    def __len__(self) -> int:
        """How many parsed files are waiting for their scan."""
        return len(self._kept)

    def keep(self, parsed: ParsedSource) -> None:
        """Hold `parsed` for the next `parse` of its file."""
        self._kept[parsed.path] = parsed

    def forget(self, path: Path) -> None:
        """Drop the tree kept for `path`: its scan came from elsewhere."""
        self._kept.pop(path, None)

    def parse(self, path: Path) -> ParsedSource:
        """`path` parsed: the kept tree when the file is unchanged, else parsed now."""
        found = self._kept.pop(path, None)  # atomic under threads
        if found is not None and found.signature == file_signature(path):
            return found
        return parse_source(path)


def child_statements(node: ast.stmt) -> list[ast.stmt]:
    """The statements in `node`'s blocks, in source order: body, except clauses, else,
    finally, match cases. Lets a walk keep its own stack instead of recursing."""
    if isinstance(node, ast.Match):
        return [s for case in node.cases for s in case.body]
    handlers = [s for handler in getattr(node, "handlers", ()) for s in handler.body]
    return [
        *getattr(node, "body", ()),
        *handlers,
        *getattr(node, "orelse", ()),
        *getattr(node, "finalbody", ()),
    ]


def file_signature(path: Path | str) -> tuple[int, ...]:
    """`path`'s identity and times (empty when it cannot be stat'ed): equal signatures
    mean an unchanged file."""
    try:
        found = os.stat(path)
    except OSError:
        return ()  # parse_source says why it cannot be read
    return stat_signature(found)


def parse_source(path: Path) -> ParsedSource:
    """The syntax tree of `path`, never running it."""
    signature = file_signature(path)  # before reading: a change in between means parsing again
    text = read_source_text(path)
    if "\0" in text:
        raise BundlerError.of(
            "source code contains a NUL byte",
            file=path,
            line=text[: text.index("\0")].count("\n") + 1,
            hint="this is not a text file; remove the NUL bytes or the file",
        )
    tree, found = _parse(text, path)
    return ParsedSource(path=path, signature=signature, text=text, tree=tree, warnings=found)


def read_source_text(path: Path) -> str:
    """The text of the Python file `path`, decoded as Python decodes it (PEP 263)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BundlerError.of(
            f"cannot read this file: {error.strerror or error}",
            file=path,
            hint="check that it exists and is readable",
        ) from None
    return _decode(data, path)


def _decode(data: bytes, path: Path) -> str:
    encoding = "utf-8"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)  # PEP 263
        return data.decode(encoding)
    except SyntaxError as error:  # an unknown encoding declaration
        raise BundlerError.of(
            f"cannot decode this file: {error.msg}",
            file=path,
            line=error.lineno,
            hint="declare an encoding Python knows, or save the file as UTF-8",
        ) from None
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1]
        raise BundlerError.of(
            f"cannot decode this file as {encoding}: "
            + (f"byte {bad[0]:#04x} is not valid" if bad else error.reason),
            file=path,
            line=data[: error.start].count(b"\n") + 1,
            hint="save the file as UTF-8, or declare its encoding (# -*- coding: ... -*-)",
        ) from None
    except (LookupError, UnicodeError) as error:  # `# coding: rot13`, `undefined`, ...
        raise BundlerError.of(
            f"cannot decode this file as {encoding}: {error}",
            file=path,
            hint="save the file as UTF-8, or declare a text encoding (# -*- coding: ... -*-)",
        ) from None


def _parse(text: str, path: Path) -> tuple[ast.Module, tuple[Problem, ...]]:
    filename = str(path)
    with _PARSING, warnings.catch_warnings(record=True) as log:
        # "always": every warning recorded, none printed, and never turned into an
        # error by a -W or PYTHONWARNINGS setting of the user's shell
        warnings.simplefilter("always")
        collecting = gc.isenabled()
        gc.disable()  # a tree has no cycles: collections while building it only cost time
        try:
            tree = ast.parse(text, filename=filename)
        except SyntaxError as error:
            nested = any(error.msg.startswith(limit) for limit in _NESTING_LIMITS)
            raise BundlerError.of(
                TOO_DEEP if nested else f"syntax error: {error.msg}",
                file=path,
                line=error.lineno,
                hint=TOO_DEEP_HINT
                if nested
                else "fix the syntax; the bundler reads your code without running it",
            ) from None
        except (RecursionError, MemoryError):
            # CPython's own limits (about 3,000 levels): its import fails the same way
            raise BundlerError.of(TOO_DEEP, file=path, hint=TOO_DEEP_HINT) from None
        except ValueError as error:  # a lone surrogate from a `raw_unicode_escape` file
            raise BundlerError.of(
                f"cannot read this file as Python source: {error}",
                file=path,
                hint="save the file as UTF-8",
            ) from None
        finally:
            if collecting:
                gc.enable()
    found: list[Problem] = []
    for record in log:
        if record.filename == filename and issubclass(
            record.category, SyntaxWarning | DeprecationWarning
        ):
            found.append(_warning(record, path))
        else:  # another thread's warning, raised while this parse held the filters
            warnings.warn_explicit(
                record.message,
                record.category,
                record.filename,
                record.lineno,
                source=record.source,
            )
    return tree, tuple(found)


def _warning(record: warnings.WarningMessage, path: Path) -> Problem:
    message = str(record.message).replace(str(path), path.name)  # never a host path
    if message.startswith("invalid escape sequence"):
        hint = "write a raw string (r'...') or double the backslash"
    elif message.startswith("invalid") and message.endswith("literal"):
        hint = "put a space between the number and the word after it"
    else:
        hint = "change the code Python warns about"
    return Problem(
        f"Python warns: {message}",
        file=path,
        line=record.lineno or None,
        hint=hint,
        severity="warning",
    )
