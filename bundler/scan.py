"""Read a function's imports without running it, following its first-party modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bundler.errors import BundlerError, Problem
from bundler.source import parse_source

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_DYNAMIC_CALLS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
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
        return self.module.split(".", 1)[0]

    def candidates(self) -> tuple[str, ...]:
        """Module names this import may load, most specific first."""
        return (*(f"{self.module}.{name}" for name in self.names if name != "*"), self.module)


@dataclass(frozen=True)
class Module:
    """A first-party module: where it is, and where it goes in the zip."""

    path: Path
    arcname: str


@dataclass(frozen=True)
class Scan:
    """What a function's own code imports."""

    modules: tuple[Module, ...]
    imports: tuple[ImportSite, ...]
    skipped: tuple[ImportSite, ...]
    warnings: tuple[Problem, ...]


def scan_function(main_file: Path, roots: Sequence[Path]) -> Scan:
    """Scan `main_file` and every module it imports from `roots` (first match wins).

    `roots` are the function's folder (`sys.path[0]` on Lambda) and the site root.
    Raises BundlerError with every unreadable or broken module found.
    """
    scanner = _Scanner(tuple(roots))
    scanner.add(main_file, main_file.name)
    scanner.run()
    if scanner.errors:
        raise BundlerError(*scanner.errors)
    modules = tuple(sorted(scanner.modules.values(), key=lambda m: m.arcname))
    return Scan(modules, tuple(scanner.imports), tuple(scanner.skipped), tuple(scanner.warnings))


class _Scanner:
    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        self.modules: dict[Path, Module] = {}
        self.required: set[Path] = set()
        self.queue: list[tuple[Path, bool]] = []
        self.imports: list[ImportSite] = []
        self.skipped: list[ImportSite] = []
        self.warnings: list[Problem] = []
        self.errors: list[Problem] = []

    def add(self, path: Path, arcname: str, optional: bool = False) -> None:
        """Ship `path`; scan it, again if it was reached only optionally before."""
        known = path in self.modules
        if known and (optional or path in self.required):
            return
        self.modules.setdefault(path, Module(path, arcname))
        if not optional:
            self.required.add(path)
        if path.suffix == ".py":
            self.queue.append((path, optional))

    def run(self) -> None:
        while self.queue:
            path, optional = self.queue.pop(0)
            try:
                tree = parse_source(path)
            except BundlerError as error:
                if error.problems[0] not in self.errors:
                    self.errors.extend(error.problems)
                continue
            for site in _imports(tree, path, self.warnings):
                if optional and not site.optional:
                    site = replace(site, optional=True)  # inside a module imported optionally
                self._follow(site, path)

    def _follow(self, site: ImportSite, path: Path) -> None:
        if site.type_checking:
            self.skipped.append(site)  # neither shipped nor followed
            return
        base = self._absolute(site, path)
        if base is None:
            return
        if base == "":  # `from . import x` beside a top-level module
            found: list[tuple[Path, str]] | None = [
                f for n in site.names for f in self._first_party(n, ()) or ()
            ]
        else:
            found = self._first_party(base, site.names)
        if found is not None:
            for module_path, arcname in found:
                self.add(module_path, arcname, site.optional)
            for name in self._namespace_names(base, site.names):
                # `from ns import plugin`: a first-party namespace folder without
                # `plugin` in it; another portion of `ns` (a distribution) provides it
                self.imports.append(replace(site, module=f"{base}.{name}", names=()))
        elif base and base.split(".", 1)[0] != "__future__":
            self.imports.append(replace(site, module=base))

    def _namespace_names(self, module: str, names: tuple[str, ...]) -> list[str]:
        """`names` imported from first-party namespace folder `module` that it lacks."""
        if not module or not names:
            return []
        parts = module.split(".")
        for root in self.roots:
            if _module_files(root, parts) is None:
                continue
            folder = root.joinpath(*parts)
            if not folder.is_dir() or (folder / "__init__.py").exists():
                return []  # a regular package: its names are attributes
            return [n for n in names if n != "*" and _module_files(folder, [n]) is None]
        return []

    def _absolute(self, site: ImportSite, path: Path) -> str | None:
        """The absolute name of a relative import, from the file's place under its root."""
        level = len(site.module) - len(site.module.lstrip("."))
        if level == 0:
            return site.module
        root = next((r for r in self.roots if path.is_relative_to(r)), path.parent)
        package = list(path.parent.relative_to(root).parts)
        if level - 1 > len(package):
            self.warnings.append(
                Problem(
                    "relative import goes above the function's folder",
                    file=path,
                    line=site.line,
                    severity="warning",
                )
            )
            return None
        if level > len(package):  # Lambda imports the zip's top level as top-level modules
            self.warnings.append(
                Problem(
                    "this relative import reaches above the top of the zip, so it fails on "
                    "Lambda (the modules there are top-level)",
                    file=path,
                    line=site.line,
                    hint=f"import it absolutely: {_absolute_form(site)}",
                    severity="warning",
                )
            )
        parts = package[: len(package) - (level - 1)]
        rest = site.module[level:]
        return ".".join([*parts, rest] if rest else parts)

    def _first_party(self, module: str, names: tuple[str, ...]) -> list[tuple[Path, str]] | None:
        """First-party files that importing `module` (and `names` from it) loads.

        None when `module` is not first-party; an empty list for a namespace folder.
        """
        parts = module.split(".")
        for root in self.roots:
            files = _module_files(root, parts)
            if files is None:
                continue
            package = root.joinpath(*parts)
            for name in names:
                extra = _module_files(package, [name]) if package.is_dir() else None
                files += extra or []
            return [(f, f.relative_to(root).as_posix()) for f in files]
        return None


def _absolute_form(site: ImportSite) -> str:
    """`from .mod import y` -> `from mod import y`; `from . import x` -> `import x`."""
    rest, names = site.module.lstrip("."), ", ".join(site.names)
    return f"from {rest} import {names}" if rest else f"import {names}"


def _module_files(root: Path, parts: list[str]) -> list[Path] | None:
    """Files loaded by importing `parts` from `root`, or None when it is not there."""
    files: list[Path] = []
    here = root
    for index, part in enumerate(parts):
        package = here / part
        following = parts[index + 1] if index + 1 < len(parts) else None
        if (package / "__init__.py").is_file():
            files.append(package / "__init__.py")
            here = package
        elif (here / f"{part}.py").is_file():
            files.append(here / f"{part}.py")
            return files  # what follows a module is an attribute
        elif package.is_dir() and _is_namespace(package, following):
            here = package
        else:
            return files or None
    return files


def _is_namespace(folder: Path, following: str | None) -> bool:
    """A folder without `__init__.py` that holds the next part, or Python files."""
    if following is not None:
        return (folder / f"{following}.py").is_file() or (folder / following).is_dir()
    return any(folder.glob("*.py")) or any(folder.glob("*/__init__.py"))


def _imports(tree: ast.Module, path: Path, warnings: list[Problem]) -> Iterator[ImportSite]:
    yield from _Visitor(path, warnings).visit_body(tree.body, optional=False, in_function=False)


class _Visitor:
    """Walks statements with the context an import needs: optional, in a function, typing only."""

    def __init__(self, path: Path, warnings: list[Problem]) -> None:
        self.path = path
        self.warnings = warnings

    def visit_body(
        self, body: list[ast.stmt], *, optional: bool, in_function: bool, typing: bool = False
    ) -> Iterator[ImportSite]:
        for node in body:
            yield from self.visit(node, optional=optional, in_function=in_function, typing=typing)

    def visit(
        self, node: ast.stmt, *, optional: bool, in_function: bool, typing: bool
    ) -> Iterator[ImportSite]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found: list[tuple[str, tuple[str, ...]]]
            if isinstance(node, ast.Import):
                found = [(alias.name, ()) for alias in node.names]
            else:
                module = "." * node.level + (node.module or "")
                found = [(module, tuple(alias.name for alias in node.names))]
            for module, names in found:
                yield ImportSite(
                    module,
                    self.path,
                    node.lineno,
                    names,
                    optional=optional,
                    in_function=in_function,
                    type_checking=typing,
                )
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from self.visit_body(
                node.body, optional=optional, in_function=in_function, typing=True
            )
            yield from self.visit_body(
                node.orelse, optional=optional, in_function=in_function, typing=typing
            )
            return
        if isinstance(node, ast.If) and _is_platform_test(node.test):
            optional = True  # only some targets take this branch
        if isinstance(node, ast.Try | ast.TryStar):
            catches = any(_catches_import_error(h) for h in node.handlers)
            yield from self.visit_body(
                node.body, optional=optional or catches, in_function=in_function, typing=typing
            )
            for handler in node.handlers:
                yield from self.visit_body(
                    handler.body, optional=optional, in_function=in_function, typing=typing
                )
            rest = node.orelse + node.finalbody
            yield from self.visit_body(
                rest, optional=optional, in_function=in_function, typing=typing
            )
            return
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from self._dynamic(node, optional=optional, in_function=in_function, typing=typing)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from self.visit(child, optional=optional, in_function=inner, typing=typing)
            elif isinstance(child, ast.match_case):
                yield from self.visit_body(
                    child.body, optional=optional, in_function=inner, typing=typing
                )

    def _dynamic(
        self, node: ast.stmt, *, optional: bool, in_function: bool, typing: bool
    ) -> Iterator[ImportSite]:
        """`import_module("x")` and `__import__("x")` calls in this statement's expressions."""
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                continue
            for call in ast.walk(child):
                if not (isinstance(call, ast.Call) and _call_name(call.func) in _DYNAMIC_CALLS):
                    continue
                argument = call.args[0] if call.args else None
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    if not argument.value.startswith("."):
                        yield ImportSite(
                            argument.value,
                            self.path,
                            call.lineno,
                            optional=optional,
                            in_function=in_function,
                            dynamic=True,
                            type_checking=typing,
                        )
                else:
                    self.warnings.append(
                        Problem(
                            "cannot follow a dynamic import whose name is not a literal",
                            file=self.path,
                            line=call.lineno,
                            hint="if it loads a distribution, add it to [tool.bundler] include",
                            severity="warning",
                        )
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
