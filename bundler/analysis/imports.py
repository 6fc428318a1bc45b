"""The imports written in one Python file, with what an import inherits from the blocks
around it: optional (under `try/except ImportError` or a platform test), inside a function,
for type checking only; and `import_module("x")` literals."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from bundler.errors import Problem
from bundler.project.source import ParsedSource, child_statements

NOT_LITERAL = "cannot follow a dynamic import whose name is not a literal"
MAX_NAME = 255  # the longest file name Linux allows: a longer module name cannot be found
# PackageNotFoundError (importlib.metadata) is a ModuleNotFoundError; DistributionNotFound
# is what pkg_resources raises for a distribution looked up by name
_IMPORT_ERRORS = frozenset(
    {
        "ImportError",
        "ModuleNotFoundError",
        "PackageNotFoundError",
        "DistributionNotFound",
        "Exception",
        "BaseException",
    }
)
_DYNAMIC_CALLS = frozenset({"import_module", "__import__"})

# `try`, and `try/except*` where the Python running the bundler has it (3.11+)
_TRY_STATEMENTS = (ast.Try, getattr(ast, "TryStar", ast.Try))


@dataclass(frozen=True, kw_only=True)
class ImportSite:
    """One import of a module that is not first-party code."""

    module: str
    file: Path
    line: int
    names: tuple[str, ...] = ()
    optional: bool = False
    in_function: bool = False
    dynamic: bool = False
    type_checking: bool = False

    @property
    def top_level(self) -> str:
        """The first component of the imported module: `google` for `google.protobuf`."""
        return self.module.split(".", 1)[0]

    def candidates(self) -> tuple[str, ...]:
        """Module names this import may load, most specific first."""
        return (*(f"{self.module}.{name}" for name in self.names if name != "*"), self.module)


@dataclass(frozen=True)
class Context:
    """What an import (or a call) inherits from the blocks around it."""

    optional: bool = False
    in_function: bool = False
    typing: bool = False


Visitor = Callable[[ast.stmt, "Context"], None]


def file_imports(
    source: ParsedSource, warnings: list[Problem], visit: Visitor | None = None
) -> list[ImportSite]:
    """Every import in `source`, in source order, with its flags; `visit(statement,
    context)` sees every statement on the way (what is loaded by name is read there).

    An explicit stack, not recursion: a 2,000-branch `elif` chain (which CPython imports)
    nests 2,000 statements deep.
    """
    found: list[ImportSite] = []
    dynamic = any(source.may_contain(name) for name in _DYNAMIC_CALLS)
    # one iterator per open block: no allocation per statement (a big module's tree is
    # freed sooner than the garbage collector walks it again)
    stack: list[tuple[Iterator[ast.stmt], Context]] = [(iter(source.tree.body), Context())]
    while stack:
        statements, context = stack[-1]
        node = next(statements, None)
        if node is None:
            stack.pop()
            continue
        if visit is not None:
            visit(node, context)
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.extend(_static(node, source.path, context, warnings))
        elif dynamic or visit or hasattr(node, "body") or isinstance(node, ast.Match):
            blocks = _blocks(node, source.path, context, found if dynamic else None, warnings)
            stack.extend((iter(body), inner) for body, inner in reversed(blocks) if body)
    return found


def _blocks(
    node: ast.stmt,
    path: Path,
    context: Context,
    found: list[ImportSite] | None,
    warnings: list[Problem],
) -> list[tuple[list[ast.stmt], Context]]:
    """The blocks of `node` with the context each gives its imports; `node`'s own dynamic
    imports are added to `found` (None: the file has none)."""
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        return [(node.body, replace(context, typing=True)), (node.orelse, context)]
    if isinstance(node, _TRY_STATEMENTS):
        catches = any(_catches_import_error(h) for h in node.handlers)
        optional = replace(context, optional=True) if catches else context
        handlers = [(h.body, context) for h in node.handlers]
        return [(node.body, optional), *handlers, (node.orelse + node.finalbody, context)]
    if isinstance(node, ast.If) and _is_platform_test(node.test):
        context = replace(context, optional=True)  # only some targets take it
    if found is not None:
        found.extend(_dynamic(node, path, context, warnings))
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        context = replace(context, in_function=True)
    return [(child_statements(node), context)]


def _static(
    node: ast.Import | ast.ImportFrom, path: Path, context: Context, warnings: list[Problem]
) -> Iterator[ImportSite]:
    found: list[tuple[str, tuple[str, ...]]]
    if isinstance(node, ast.Import):
        found = [(alias.name, ()) for alias in node.names]
    else:
        module = "." * node.level + (node.module or "")
        found = [(module, tuple(alias.name for alias in node.names))]
    for module, names in found:
        if len(module) > MAX_NAME:  # no file can be named so: looking for one fails
            warnings.append(_bad_name(module, path, node.lineno, "import"))
            continue
        yield ImportSite(
            module=module,
            file=path,
            line=node.lineno,
            names=names,
            optional=context.optional,
            in_function=context.in_function,
            type_checking=context.typing,
        )


def _dynamic(
    node: ast.stmt, path: Path, context: Context, warnings: list[Problem]
) -> Iterator[ImportSite]:
    """`import_module("x")` and `__import__("x")` calls in this statement's expressions
    (not those of its blocks: they are statements of their own)."""
    for expression in own_expressions(node):
        for call in ast.walk(expression):  # iterative (a queue)
            if isinstance(call, ast.Call) and _call_name(call.func) in _DYNAMIC_CALLS:
                site = _dynamic_site(call, path, context, warnings)
                if site is not None:
                    yield site


def own_expressions(node: ast.stmt) -> Iterator[ast.AST]:
    """The expressions of `node` itself, not those of the statements in its blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.match_case):
            yield child.pattern
            if child.guard:
                yield child.guard
        elif not isinstance(child, ast.stmt):
            yield child


def _dynamic_site(
    call: ast.Call, path: Path, context: Context, warnings: list[Problem]
) -> ImportSite | None:
    written = f"{_call_name(call.func)}(...)"
    argument = call.args[0] if call.args else None
    name = literal_text(argument)
    if name is None:
        if isinstance(argument, ast.Constant):  # b"x", 5, None: not a module name at all
            warnings.append(
                Problem(
                    f"{written}: {argument.value!r} is not a str; skipped",
                    file=path,
                    line=call.lineno,
                    hint='pass the module\'s name as a str, e.g. "package.module"',
                    severity="warning",
                )
            )
        else:
            warnings.append(
                Problem(
                    NOT_LITERAL,
                    file=path,
                    line=call.lineno,
                    hint="if it loads a distribution, add it to [tool.bundler] include",
                    severity="warning",
                )
            )
        return None
    relative = name.lstrip(".")
    if relative != name and (not relative or is_module_name(relative)):
        return None  # relative to its `package=` argument: not followed
    if not is_module_name(name):
        warnings.append(_bad_name(name, path, call.lineno, written))
        return None
    return ImportSite(
        module=name,
        file=path,
        line=call.lineno,
        optional=context.optional,
        in_function=context.in_function,
        dynamic=True,
        type_checking=context.typing,
    )


def literal_text(argument: ast.expr | None) -> str | None:
    """A str constant, or an f-string without placeholders (`f"yaml"`)."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return argument.value
    if isinstance(argument, ast.JoinedStr) and all(
        isinstance(v, ast.Constant) and isinstance(v.value, str) for v in argument.values
    ):
        return "".join(v.value for v in argument.values)  # type: ignore[attr-defined]
    return None


def is_module_name(name: str) -> bool:
    """Identifiers joined by dots (`a.b`; any script Python allows), not too long to be a
    file name."""
    return len(name) <= MAX_NAME and all(part.isidentifier() for part in name.split("."))


def _bad_name(name: str, path: Path, line: int, written: str) -> Problem:
    """A warning about a module name that no import can load: it is skipped."""
    shown = repr(name if len(name) <= 60 else f"{name[:57]}...")
    if len(name) > MAX_NAME:
        what = f"{shown} is {len(name)} characters long, longer than a file name can be"
        hint = f"shorten it to {MAX_NAME} characters at most"
    elif "/" in name or "\\" in name or name.endswith(".py"):
        what = f"{shown} is a file path, not a module name"
        hint = (
            "import it by its dotted name from the function folder or the site root, "
            'e.g. "package.module"'
        )
    else:
        what = f"{shown} is not a module name"
        hint = 'write identifiers joined by dots, e.g. "package.module"'
    return Problem(
        f"{written}: {what}; skipped", file=path, line=line, hint=hint, severity="warning"
    )


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _is_platform_test(test: ast.expr) -> bool:
    """`if sys.version_info ...` / `if sys.platform ...`: the branch depends on the target."""
    for node in ast.walk(test):
        if isinstance(node, ast.Attribute) and node.attr in {"version_info", "platform"}:
            return True
    return False


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_call_name(t) in _IMPORT_ERRORS for t in types)
