"""What a module binds at its top level, read from its syntax tree without running it.

Discovery asks which statements bind `handler` and `config`. Every walk here is iterative
(an explicit stack): a 2,000-branch `elif` chain is 2,000 levels deep, which CPython
compiles and a recursive walk in Python cannot follow.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from bundler.project.source import ParsedSource, child_statements


@dataclass(frozen=True, kw_only=True)
class Binding:
    """A statement at module scope that binds `name`, and how it does."""

    name: str
    kind: str  # "def", "assignment", "import", "for loop", ... (as a message names it)
    line: int
    statement: ast.stmt
    nested: bool  # inside an if/try/with/for/while/match block, not directly in the module


def module_statements(body: list[ast.stmt]) -> Iterator[tuple[ast.stmt, bool]]:
    """Every statement at module scope in source order, with whether it sits in a block;
    never the body of a def or class (their names are local)."""
    stack: list[Iterator[ast.stmt]] = [iter(body)]  # one iterator per open block
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        yield node, len(stack) > 1
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if hasattr(node, "body") or isinstance(node, ast.Match):
            stack.append(iter(child_statements(node)))


def top_level_bindings(source: ParsedSource, names: Collection[str]) -> dict[str, list[Binding]]:
    """For each of `names`, the module-scope statements that bind it, in source order.

    A `from x import *` is listed for every name as kind "star import" (it may bind it).
    """
    found: dict[str, list[Binding]] = {name: [] for name in names}
    walrus = source.may_contain(":=")  # else no expression needs walking
    for statement, nested in module_statements(source.tree.body):
        for name, kind, line in _bound_by(statement, walrus):
            wanted = names if name == "*" else (name,) if name in found else ()
            for each in wanted:
                found[each].append(
                    Binding(name=each, kind=kind, line=line, statement=statement, nested=nested)
                )
    return found


def _bound_by(node: ast.stmt, walrus: bool) -> Iterator[tuple[str, str, int]]:
    """(name, kind, line) for each name `node` itself binds (not its blocks)."""
    line = node.lineno
    if isinstance(node, ast.Assign):
        for target in node.targets:
            kind = "assignment" if isinstance(target, ast.Name) else "unpacking assignment"
            yield from ((name, kind, line) for name in _target_names(target))
    elif isinstance(node, ast.FunctionDef):
        yield node.name, "def", line
    elif isinstance(node, ast.AsyncFunctionDef):
        yield node.name, "async def", line
    elif isinstance(node, ast.ClassDef):
        yield node.name, "class", line
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        kind = "annotation" if node.value is None else "annotated assignment"
        yield node.target.id, kind, line
    elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        yield node.target.id, "augmented assignment", line
    elif isinstance(node, ast.Import):
        for alias in node.names:  # `import a.b` binds `a`
            yield alias.asname or alias.name.split(".", 1)[0], "import", line
    elif isinstance(node, ast.ImportFrom):
        for alias in node.names:
            kind = "star import" if alias.name == "*" else "import"
            yield alias.asname or alias.name, kind, line
    elif isinstance(node, ast.For | ast.AsyncFor):
        yield from ((name, "for loop", line) for name in _target_names(node.target))
    elif isinstance(node, ast.With | ast.AsyncWith):
        for item in node.items:
            if item.optional_vars is not None:
                names = _target_names(item.optional_vars)
                yield from ((name, "with statement", line) for name in names)
    elif isinstance(node, ast.Match):
        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                captured = getattr(pattern, "name", None) or getattr(pattern, "rest", None)
                if isinstance(captured, str):
                    yield captured, "match case", case.pattern.lineno
    if walrus:
        for expression in _own_expressions(node):
            if isinstance(expression, ast.NamedExpr):
                yield expression.target.id, "assignment expression", expression.lineno


def _target_names(target: ast.expr) -> list[str]:
    """Names an assignment target binds: `a`, `(a, [b, *c])`; not `a.b` or `a[0]`."""
    names: list[str] = []
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Tuple | ast.List):
            stack.extend(reversed(node.elts))
        elif isinstance(node, ast.Starred):
            stack.append(node.value)
    return names


def _own_expressions(node: ast.stmt) -> Iterator[ast.AST]:
    """Every expression node of `node` evaluated at module scope: not those of its blocks,
    nor a lambda's body (its own scope). Comprehensions count: `:=` in one binds here."""
    stack: list[ast.AST] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.match_case):
            stack.extend([child.guard] if child.guard else [])
        elif isinstance(child, ast.ExceptHandler):
            stack.extend([child.type] if child.type else [])
        elif not isinstance(child, ast.stmt):
            stack.append(child)
    while stack:
        expression = stack.pop()
        yield expression
        if not isinstance(expression, ast.Lambda):
            stack.extend(ast.iter_child_nodes(expression))
