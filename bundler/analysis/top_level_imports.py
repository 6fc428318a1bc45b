"""The top-level import statements of a module, without building its syntax tree.

The library walk (`bundler.analysis.library_imports`) needs, for each module of a distribution a
function reaches, the imports that run when the module is imported: the statements at
the module's top level, outside any block (an import under `try`, `if` or `with`, or in a
function, is indented). `ast.parse` of a whole library module builds a node for every
expression of every function only to find a few lines at column 0; this finds them with
one pass of a regular expression that knows Python's strings and comments (an `import`
at the start of a line inside a docstring is not one), then parses each statement alone.
Measured on pydantic and pymongo (232 modules, 4 MB): 0.13 s against 0.34 s for
`ast.parse`, with the same imports found.
"""

from __future__ import annotations

import ast
import re

# (module, names, line, level) of one statement: `from ..a import b` is ("a", ("b",), N, 2)
TopImport = tuple[str, tuple[str, ...], int, int]

_TOKENS = re.compile(
    r"""
    '''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
    | \"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
    | '[^'\\\n]*(?:\\.[^'\\\n]*)*'
    | "[^"\\\n]*(?:\\.[^"\\\n]*)*"
    | \#[^\n]*
    | (?P<statement>^(?:import|from)(?=[ \t\\(]))
    """,
    re.MULTILINE | re.VERBOSE | re.DOTALL,
)
_END_OF_LINE = re.compile(r"[^\n]*")


def top_level_imports(text: str) -> list[TopImport] | None:
    """The import statements at the top level of `text`, outside any block, in order;
    None when one of them cannot be read alone (the caller parses the whole module)."""
    found: list[TopImport] = []
    line, counted = 1, 0
    for match in _TOKENS.finditer(text):
        if match.lastgroup != "statement":
            continue
        start = match.start()
        line += text.count("\n", counted, start)
        counted = start
        statement = _statement(text, start)
        try:
            nodes = ast.parse(statement).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend((a.name, (), line, 0) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names = tuple(a.name for a in node.names)
                found.append((node.module or "", names, line, node.level))
            else:
                return None  # `import x; y = 1` is fine, anything stranger is not ours
    return found


def _statement(text: str, start: int) -> str:
    """The logical line that starts at `start`: continued by a backslash, or until the
    parenthesis of `from x import (a, b)` closes."""
    end = start
    while True:
        physical = _END_OF_LINE.match(text, end)
        assert physical is not None  # matches the empty string at worst
        end = physical.end()
        head = text[start:end]
        if head.rstrip().endswith("\\") and end < len(text):
            end += 1
            continue
        code = head.split("#", 1)[0]
        if "(" in code and ")" not in code:
            close = text.find(")", end)
            end = len(text) if close < 0 else close + 1
            rest = _END_OF_LINE.match(text, end)
            return text[start : rest.end() if rest else end]
        return head
