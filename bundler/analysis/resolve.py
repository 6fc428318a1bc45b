"""Decide which installed distributions a function needs at run time, and why."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.analysis.library_imports import LibraryIndex
from bundler.analysis.name_roots import NamedRoots, library_roots, roots_by_name
from bundler.analysis.requirements import Edge, marker_applies, walk_requirements
from bundler.analysis.roles import Declarations, Role
from bundler.analysis.scan import ImportSite, Scan
from bundler.environment.distributions import Distribution, Environment
from bundler.errors import BundlerError, Problem
from bundler.project.config import FunctionSettings

__all__ = ["Declarations", "Edge", "Resolution", "Resolved", "Role", "marker_applies"]


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """A distribution to ship, with the chain that brought it in."""

    name: str
    version: str
    extras: tuple[str, ...]
    chain: tuple[str, ...]
    role: Role = field(default_factory=lambda: Role("undeclared"))  # from the declarations

    @property
    def reason(self) -> str:
        """The chain as one line: `app.py:3 imports x -> X -> Y`."""
        return " -> ".join(self.chain)


@dataclass(frozen=True, kw_only=True)
class Resolution:
    """What a function ships, and what it leaves out with the reason."""

    distributions: tuple[Resolved, ...]
    imports: Mapping[str, tuple[ImportSite, ...]]
    edges: tuple[Edge, ...]
    left_out: Mapping[str, str]
    warnings: tuple[Problem, ...]
    # roots no import of the function names: loaded by name, or imported by a library
    named: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> tuple[str, ...]:
        """The canonical names of the distributions shipped, in order."""
        return tuple(d.name for d in self.distributions)


def resolve_function(
    scan: Scan,
    settings: FunctionSettings,
    environment: Environment,
    declarations: Declarations,
    function: str,
    site_root: Path,
    libraries: LibraryIndex | None = None,
) -> Resolution:
    """The distributions `scan`'s imports need, closed over Requires-Dist for the target;
    with `libraries`, also what it loads by name and what the libraries it reaches import."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    left_out: dict[str, str] = {}
    excluded: set[str] = {canonicalize_name(n) for n in settings.excluded_distributions}
    included = {canonicalize_name(n) for n in settings.included_distributions(site_root)}
    imports: dict[str, list[ImportSite]] = {}
    for site in scan.imports:
        if environment.is_stdlib(site.module):
            continue
        owners = environment.owners_of(site.module, site.names)
        if not owners:
            if site.optional:
                left_out.setdefault(site.top_level, f"optional import, not installed ({_at(site)})")
            else:
                errors.append(_missing(site, environment, declarations, function))
        for owner in owners:
            if owner.name in declarations.dev and owner.name not in included:
                if site.optional:
                    left_out.setdefault(owner.name, f"dev-only, imported optionally at {_at(site)}")
                else:
                    errors.append(_dev_only(site, owner, declarations, function))
                continue
            if (
                declarations.declared_names
                and declarations.role_of(owner.name).kind == "undeclared"
            ):
                warnings.append(_undeclared(site, owner, declarations, function))
            imports.setdefault(owner.name, []).append(site)

    roots: dict[str, str] = {}
    for name, sites in sorted(imports.items()):
        roots[name] = f"{_at(sites[0])} imports {sites[0].module}"
    named = _named_roots(scan, environment, declarations, function, libraries)
    errors += named.errors
    warnings += named.warnings
    for name, reason in named.roots.items():
        roots.setdefault(name, reason)
    for entry in settings.included_distributions(site_root):
        name = canonicalize_name(entry)
        if name not in environment.distributions:
            errors.append(
                Problem(
                    f"include names distribution {entry!r}, which is not installed",
                    file=settings.source,
                    function=function,
                    hint=f"install it (pip install {entry}) or remove it from include",
                )
            )
        else:
            roots.setdefault(name, "[tool.bundler] include")
    for name in sorted(excluded & set(roots)):
        left_out[name] = "excluded by [tool.bundler] exclude"
        del roots[name]

    chains, extras, edges = _closure(
        roots, environment, declarations, excluded, errors, left_out, function
    )
    if libraries is not None and not errors:
        starts = [c for s in scan.imports if not s.type_checking for c in s.candidates()]
        while True:  # each pass ships what the last one found, then walks on from there
            found = library_roots(
                libraries.walk([*starts, *named.modules], frozenset(chains)),
                chains,
                excluded,
                environment,
                declarations.dev,
                function,
            )
            if not found.roots:
                break
            named.roots.update(found.roots)
            roots.update(found.roots)
            warnings += found.warnings
            chains, extras, edges = _closure(
                roots, environment, declarations, excluded, errors, left_out, function
            )
        for name, reason in found.left_out.items():
            left_out.setdefault(name, reason)
    for name, reason in named.left_out.items():
        if name not in chains:
            left_out.setdefault(name, reason)
    if errors:
        raise BundlerError(*errors)
    distributions = tuple(
        Resolved(
            name=name,
            version=environment.distributions[name].version,
            extras=tuple(sorted(extras.get(name, ()))),
            chain=chains[name],
            role=declarations.role_of(name),
        )
        for name in sorted(chains)
    )
    for site in scan.skipped:
        owners = environment.owners_of(site.module, site.names)
        for name in [o.name for o in owners] or [site.top_level]:
            if name not in chains:
                left_out.setdefault(name, f"imported only under TYPE_CHECKING ({_at(site)})")
    return Resolution(
        distributions=distributions,
        imports={k: tuple(v) for k, v in imports.items()},
        edges=tuple(edges),
        left_out=left_out,
        warnings=tuple(warnings),
        named={n: r for n, r in named.roots.items() if n in chains and n not in imports},
    )


def _named_roots(
    scan: Scan,
    environment: Environment,
    declarations: Declarations,
    function: str,
    libraries: LibraryIndex | None,
) -> NamedRoots:
    """What the function loads by name (hook of issue 10; nothing without `libraries`)."""
    if libraries is None:
        return NamedRoots()
    return roots_by_name(
        scan.loads,
        environment,
        declarations.runtime,
        declarations.dev,
        libraries.dialects,
        function,
    )


def _closure(
    roots: Mapping[str, str],
    environment: Environment,
    declarations: Declarations,
    excluded: set[str],
    errors: list[Problem],
    left_out: dict[str, str],
    function: str,
) -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]], tuple[Edge, ...]]:
    """The walk over Requires-Dist from `roots`, each distribution with its shortest chain."""
    walk = walk_requirements(environment, dict.fromkeys(roots, ()), declarations.extras, excluded)
    chains: dict[str, tuple[str, ...]] = {}
    for name, parent in walk.reached.items():
        shown = environment.distributions[name].display_name
        chains[name] = (roots[name], shown) if parent is None else (*chains[parent], shown)
    for child in walk.excluded:
        left_out.setdefault(child, "excluded by [tool.bundler] exclude")
    for parent, requirement in walk.missing:
        distribution = environment.distributions[parent]
        errors.append(
            Problem(
                f"{distribution.display_name} {distribution.version} requires "
                f"{requirement}, which is not installed: the environment does not "
                f"match the target ({environment.target.runtime} on linux "
                f"{environment.target.machine})",
                file=environment.interpreter.executable,
                function=function,
                hint=f"install it into that environment (pip install '{requirement.name}')",
            )
        )
    return chains, dict(walk.extras), walk.edges


def _dev_only(
    site: ImportSite, owner: Distribution, declarations: Declarations, function: str
) -> Problem:
    return Problem(
        f"imports {site.module!r} from {owner.display_name}, which is a dev-only "
        f"dependency (from {declarations.dev[owner.name]})",
        file=site.file,
        line=site.line,
        function=function,
        hint=f"add {owner.display_name} to {declarations.manager.runtime_home}, or import "
        "it only under `if TYPE_CHECKING:`",
    )


def _undeclared(
    site: ImportSite, owner: Distribution, declarations: Declarations, function: str
) -> Problem:
    return Problem(
        f"imports {site.module!r} from {owner.display_name}, which the project does "
        "not declare; it works only because something else installed it",
        file=site.file,
        line=site.line,
        function=function,
        hint=f"add {owner.display_name} to {declarations.manager.runtime_home}",
        severity="warning",
    )


def _at(site: ImportSite) -> str:
    return f"{site.file.name}:{site.line}"


def _missing(
    site: ImportSite, environment: Environment, declarations: Declarations, function: str
) -> Problem:
    top = site.top_level
    declared = canonicalize_name(top) in declarations.declared_names
    extra = declarations.missing_extras.get(canonicalize_name(top))
    if extra is not None and extra.group:
        hint = (
            f"{extra.requirement.name} is declared in {extra.source}, a runtime extra that is "
            f"not installed in {environment.interpreter.prefix}: install it with "
            f"`{declarations.manager.install_extra(extra.group)}`"
        )
    elif environment.interpreter.prefix.resolve() == Path(sys.prefix).resolve():
        hint = (
            f"the site has no environment of its own, so the bundler's own Python "
            f"({environment.interpreter.executable}) was used: create the site's environment "
            "(python -m venv .venv, then install its requirements there) or point --python "
            "at the one that has it"
        )
    elif declared:
        hint = (
            f"{top} is declared but not installed in {environment.interpreter.prefix}: "
            "install the site's requirements there"
        )
    else:
        close = difflib.get_close_matches(top, sorted(environment.top_level_modules()), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        hint += (
            f"install the distribution that provides it into {environment.interpreter.prefix} "
            f"and add it to {declarations.manager.runtime_home}"
        )
    return Problem(
        f"cannot find module {site.module!r} in the environment",
        file=site.file,
        line=site.line,
        function=function,
        hint=hint,
    )
