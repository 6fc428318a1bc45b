"""The distributions a function needs that no import of its own names: those its code loads
by name (metadata, resources, module strings, database URLs) and those the libraries it
reaches import at module level without declaring them. The resolution ships them as roots,
each with the reason that starts its chain."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.analysis.database_urls import DJANGO_ENGINES, Dialects
from bundler.analysis.library_imports import Edge, LibraryImport
from bundler.analysis.loaded_by_name import NameUse
from bundler.environment.distributions import Distribution, Environment
from bundler.errors import Problem

_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


@dataclass(kw_only=True)
class NamedRoots:
    """Roots found beside the imports: distribution -> the reason that starts its chain;
    the modules they load (where the library walk starts), and what was found wrong."""

    roots: dict[str, str] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)


def roots_by_name(
    uses: Iterable[NameUse],
    environment: Environment,
    runtime: frozenset[str],
    dev: Mapping[str, str],
    dialects: Dialects,
    function: str,
) -> NamedRoots:
    """What each use names: a distribution to ship (`runtime` are the declared runtime
    ones: a module string ships only those), an error, or nothing."""
    found = NamedRoots()
    for use in uses:
        if use.kind == "metadata":
            owner = environment.distributions.get(canonicalize_name(use.name))
            _take(found, use, owner, f"reads its metadata: {use.written}", dev, function)
        elif use.kind == "entry-point":
            for (group, name), declaring in dialects.entry_points().items():
                if name == use.name and use.group in (None, group):
                    distribution = environment.distributions[declaring]
                    _take(found, use, distribution, f"loads {use.written}", dev, function)
        elif use.kind == "resources":
            if not environment.is_stdlib(use.name):
                owner = environment.owner_of([use.name])
                _take(found, use, owner, f"reads its files: {use.written}", dev, function)
                found.modules.append(use.name)
        elif use.kind == "module":
            _module_string(found, use, environment, runtime, dev, function)
        else:
            _database(found, use, environment, dialects, dev, function)
    return found


def _module_string(
    found: NamedRoots,
    use: NameUse,
    environment: Environment,
    runtime: frozenset[str],
    dev: Mapping[str, str],
    function: str,
) -> None:
    if environment.is_stdlib(use.name):
        return
    parts = use.name.split(".")
    named = max((end for end in range(len(parts), 0, -1) if ".".join(parts[:end]) in
                 environment.owners), default=0)  # fmt: skip
    enough = named >= 2 or (use.single and named >= 1) or (use.colon and named == len(parts))
    owner = environment.owner_of([".".join(parts[:named])]) if enough else None
    if owner is None:
        return
    if owner.name not in runtime:
        found.left_out.setdefault(
            owner.name,
            f"named by a string at {use.where} ({use.written}), but not declared as a "
            "runtime dependency",
        )
        return
    found.modules.append(".".join(parts[:named]))
    _take(found, use, owner, f"names {use.written}", dev, function)
    for module in DJANGO_ENGINES.get(use.name, ()):  # the driver of a database engine
        driver = environment.owner_of([module])
        if driver is not None and driver.name in runtime:
            _take(found, use, driver, f"names {use.written}, which loads {module}", dev, function)
            found.modules.append(module)
            break


def _database(
    found: NamedRoots,
    use: NameUse,
    environment: Environment,
    dialects: Dialects,
    dev: Mapping[str, str],
    function: str,
) -> None:
    driver = dialects.driver(use.name)
    if driver is None:
        return
    if driver.dialect_distribution is not None:
        dialect = environment.distributions[driver.dialect_distribution]
        _take(found, use, dialect, f"loads its dialect: {use.written}", dev, function)
    modules = [driver.module] if driver.module else []
    for module in [*modules, *driver.wanted]:
        owner = environment.owner_of([module])
        if owner is None and module == driver.module and not use.optional:
            found.errors.append(
                Problem(
                    f"the database URL {use.written} loads the driver module {module!r}, "
                    "which is not installed",
                    file=use.file,
                    line=use.line,
                    function=function,
                    hint=f"install {driver.distribution_hint} (pip install "
                    f"'{driver.distribution_hint}') and add it to [project].dependencies",
                )
            )
        elif owner is not None:
            _take(found, use, owner, f"loads its driver {module}: {use.written}", dev, function)
            found.modules.append(module)


def _take(
    found: NamedRoots,
    use: NameUse,
    owner: Distribution | None,
    what: str,
    dev: Mapping[str, str],
    function: str,
) -> None:
    """Ship `owner`, which `use` needs; or say why it cannot."""
    if owner is None:
        if use.kind in ("metadata", "resources") and not use.optional:
            kind = "distribution" if use.kind == "metadata" else "package"
            found.errors.append(
                Problem(
                    f"{use.written} names {kind} {use.name!r}, which is not installed",
                    file=use.file,
                    line=use.line,
                    function=function,
                    hint="install it and add it to [project].dependencies, or catch "
                    "PackageNotFoundError around the call",
                )
            )
        return
    if owner.name in dev:
        if not use.optional:
            found.errors.append(
                Problem(
                    f"{use.written} needs {owner.display_name}, which is a dev-only "
                    f"dependency (from {dev[owner.name]})",
                    file=use.file,
                    line=use.line,
                    function=function,
                    hint=f"add {owner.display_name} to [project].dependencies",
                )
            )
        return
    found.roots.setdefault(owner.name, f"{use.where} {what}")


def library_roots(
    found: Iterable[Edge],
    shipped: Mapping[str, object],
    excluded: set[str],
    environment: Environment,
    dev: Mapping[str, str],
    function: str,
) -> NamedRoots:
    """The distributions that imports inside shipped libraries need and that nothing
    ships yet, each with a note naming the library's file and line."""
    result = NamedRoots()
    for imported, names in found:
        for name in names:
            if name in shipped or name in result.roots:
                continue
            owner = environment.distributions[name]
            importer = environment.distributions[imported.importer]
            if imported.how:  # the library copes without it, or imports it when called
                how = "under try/except ImportError" if imported.how == "guarded" else (
                    "inside a function")  # fmt: skip
                result.left_out.setdefault(
                    owner.name,
                    f"{imported.where} imports {imported.module} only {how}: a library's "
                    "import ships only when it is at module level and unguarded",
                )
                continue
            reason = f"{imported.where} imports {imported.module}"
            if owner.name in excluded:
                result.left_out[owner.name] = f"excluded by [tool.bundler] exclude; {reason}"
                continue
            if owner.name in dev:
                result.left_out.setdefault(
                    owner.name, f"dev-only, imported by {importer.display_name} at "
                    f"{imported.where}")  # fmt: skip
                continue
            result.roots[owner.name] = reason
            result.warnings.append(
                Problem(
                    f"{imported.where} imports {imported.module} at module level, which "
                    f"{_declared(importer, owner)}: {owner.display_name} ships",
                    file=_library_file(importer, imported),
                    line=imported.line,
                    function=function,
                    severity="note",
                )
            )
    return result


def _declared(importer: Distribution, owner: Distribution) -> str:
    """How `importer` declares `owner`: only under an extra, or not at all."""
    for requirement in importer.requires:
        if canonicalize_name(requirement.name) == owner.name and requirement.marker:
            extra = _EXTRA.search(str(requirement.marker))
            if extra:
                return f"{importer.display_name} declares only under the extra {extra.group(1)!r}"
    return f"{importer.display_name} does not declare"


def _library_file(importer: Distribution, imported: LibraryImport) -> Path:
    return importer.location.parent / imported.path
