"""The deep look (`bundle audit --deep`): imports inside a built zip's distributions that
their metadata does not declare, found with modulegraph's whole-program graph.

Such a zip works here only by luck: the import resolves in the build environment, where
the missing distribution happens to be installed, and fails on Lambda. modulegraph is an
optional dependency (`pip install 'functions-bundler[deep]'`) and costs seconds a function.
"""

from __future__ import annotations

import ast
import csv
import importlib
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from bundler.environment.distributions import Environment
from bundler.errors import BundlerError, Problem


@dataclass(frozen=True, kw_only=True)
class Finding:
    """A module in a shipped distribution imports one that is installed but not shipped."""

    bundle: Path
    importer: str
    file: str
    line: int | None
    importer_distribution: str
    missing: str
    distribution: str
    version: str
    optional: bool = False
    conditional: bool = False
    in_function: bool = False
    declared: str | None = None

    @property
    def alarming(self) -> bool:
        """False for imports that cope without the module: try/except, or under an `if`
        (platform checks, TYPE_CHECKING)."""
        return not (self.optional or self.conditional)

    def to_problem(self) -> Problem:
        """The finding as a warning (alarming) or a note, located inside the bundle."""
        where = (
            f"only under its marker {self.declared!r}"
            if self.declared
            else "nowhere in its Requires-Dist"
        )
        if self.optional:
            how = "an optional import (inside try/except): the code copes without it"
        elif self.conditional:
            how = "a conditional import (under an `if`): it may never run on Lambda"
        else:
            how = "it works here only because the build environment has it"
        message = (
            f"{self.importer_distribution} imports {self.missing!r}, which comes from "
            f"{self.distribution} {self.version}: installed here but not in the zip, as "
            f"{self.importer_distribution} declares it {where}; {how}"
        )
        return Problem(
            message,
            file=Path(self.bundle.name, self.file),
            line=self.line,
            function=self.bundle.stem,
            hint=None
            if not self.alarming
            else f"add {self.distribution} to [project].dependencies or [tool.bundler] include",
            severity="warning" if self.alarming else "note",
        )


def deep_look(
    bundle: Path, environment: Environment, ignore: Iterable[str] = ()
) -> tuple[Finding, ...]:
    """Imports in `bundle`'s distributions (a built zip, or its unpacked folder) that
    resolve to nothing in the bundle but to a distribution installed in `environment`.

    The graph starts at the bundle's top-level modules (the handler's module and its
    first-party neighbours) and searches only the bundle: the standard library is left
    out of the search path and recognised by the target's module names instead, which
    finds the same imports at a third of the cost. `ignore` names distributions left out
    on purpose (`[tool.bundler] exclude`). Raises BundlerError when modulegraph is not
    installed or the bundle cannot be read.
    """
    modulegraph = _modulegraph()
    skipped = {canonicalize_name(n) for n in ignore}
    with _unpacked(bundle) as root:
        shipped = _shipped_files(root)
        shipped_names = {canonicalize_name(d) for d in shipped.values()}
        graph = modulegraph.ModuleGraph(path=[str(root)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # third-party code compiled: SyntaxWarnings
            for script in sorted(root.glob("*.py")):
                if script.name not in shipped:
                    graph.run_script(str(script))
        findings: dict[tuple[str, str], Finding] = {}
        for node in graph.flatten():
            if type(node).__name__ != "MissingModule" or environment.is_stdlib(node.identifier):
                continue
            owner = environment.owner_of([node.identifier])
            if owner is None or owner.name in shipped_names or owner.name in skipped:
                continue
            for referer in graph.getReferers(node):
                arcname = _arcname(referer, root)
                if arcname is None or arcname not in shipped:
                    continue  # first-party code: the scanner has judged it already
                key = (referer.identifier, owner.name)
                if key in findings and len(findings[key].missing) <= len(node.identifier):
                    continue
                line, typing_only = _import_line(root / arcname, node.identifier)
                if typing_only:
                    continue  # under `if TYPE_CHECKING:`: never runs
                info = _edge_data(graph, referer, node)
                importer = shipped[arcname]
                findings[key] = Finding(
                    bundle=bundle,
                    importer=referer.identifier,
                    file=arcname,
                    line=line,
                    importer_distribution=importer,
                    missing=node.identifier,
                    distribution=owner.display_name,
                    version=owner.version,
                    optional=bool(getattr(info, "tryexcept", False)),
                    conditional=bool(getattr(info, "conditional", False)),
                    in_function=bool(getattr(info, "function", False)),
                    declared=_declared(environment, importer, owner.name),
                )
    return tuple(sorted(findings.values(), key=lambda f: (not f.alarming, f.file, f.missing)))


def _modulegraph() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # it imports `imp` before 3.12
            return importlib.import_module("modulegraph.modulegraph")
    except ImportError:
        raise BundlerError.of(
            "the deep look needs modulegraph, which is not installed",
            hint="install the extra: pip install 'functions-bundler[deep]'",
        ) from None


@contextmanager
def _unpacked(bundle: Path) -> Iterator[Path]:
    if bundle.is_dir():
        yield bundle.resolve()
        return
    try:
        with tempfile.TemporaryDirectory(prefix="bundle-deep-") as folder:
            with zipfile.ZipFile(bundle) as archive:
                archive.extractall(folder)
            yield Path(folder).resolve()
    except (OSError, zipfile.BadZipFile) as error:
        raise BundlerError.of(
            f"cannot read the bundle: {error}", file=bundle, hint="build it again"
        ) from None


def _shipped_files(root: Path) -> dict[str, str]:
    """Every file of the bundle's distributions (by their RECORD) -> the distribution."""
    owners: dict[str, str] = {}
    for record in sorted(root.glob("*.dist-info/RECORD")):
        name = _metadata_name(record.parent)
        with record.open(newline="", encoding="utf-8") as stream:
            for row in csv.reader(stream):
                if row:
                    owners.setdefault(row[0], name)
    return owners


def _metadata_name(info: Path) -> str:
    try:
        for line in (info / "METADATA").read_text(encoding="utf-8").splitlines():
            if line.startswith("Name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return info.name[: -len(".dist-info")].rsplit("-", 1)[0]


def _edge_data(graph: Any, referer: Any, node: Any) -> Any:
    """modulegraph's DependencyInfo for an edge; None for edges it keeps without data."""
    try:
        return graph.edgeData(referer, node)
    except KeyError:
        return None


def _arcname(node: Any, root: Path) -> str | None:
    filename = getattr(node, "filename", None)
    if not isinstance(filename, str) or not filename.startswith(str(root)):
        return None
    return Path(filename).relative_to(root).as_posix()


def _import_line(path: Path, module: str) -> tuple[int | None, bool]:
    """The first line importing `module` (or its top level) absolutely in `path`, and
    whether every such import sits under `if TYPE_CHECKING:` (never run at all)."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None, False
    top = module.split(".", 1)[0]
    found: list[tuple[int, bool]] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, typing_only = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == module or n.split(".", 1)[0] == top for n in names):
                found.append((node.lineno, typing_only))
        guarded = isinstance(node, ast.If) and _is_type_checking(node.test)
        for child in ast.iter_child_nodes(node):
            in_body = guarded and isinstance(node, ast.If) and child in node.body
            stack.append((child, typing_only or in_body))
    if not found:
        return None, False
    return min(line for line, _ in found), all(typing_only for _, typing_only in found)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _declared(environment: Environment, importer: str, child: str) -> str | None:
    """The importer's Requires-Dist naming `child` (under a marker or extra not in effect)."""
    distributions: Mapping[str, Any] = environment.distributions
    found = distributions.get(canonicalize_name(importer))
    for requirement in found.requires if found else ():
        if canonicalize_name(requirement.name) == child:
            return str(requirement)
    return None
