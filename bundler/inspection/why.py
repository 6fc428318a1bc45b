"""Why a distribution is in a function's zip (every chain), or why it is not."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from packaging.utils import canonicalize_name

from bundler.analysis.resolve import Declarations
from bundler.analysis.scan import ImportSite
from bundler.analysis.session import Analysis, Site, analyse_function
from bundler.environment.distributions import Environment
from bundler.environment.runtime import runtime_provides
from bundler.errors import BundlerError, Problem, UsageError
from bundler.inspection.why_answers import (
    Explanation,
    FunctionWhy,
    Reason,
    Subject,
    names_first_party,
)
from bundler.inspection.why_chains import (
    CHAIN_LIMIT,
    Chain,
    find_chains,
    requirement_graph,
    show_name,
)
from bundler.inspection.why_first_party import explain_first_party


def explain(
    site: Site, query: str, function: str | None = None, limit: int = CHAIN_LIMIT
) -> Explanation:
    """Explain `query` (a distribution or module name) for every function, or `function`,
    from the analysis alone (nothing packed or written); a function whose analysis fails
    carries its problems. Raises UsageError for an unknown function and BundlerError
    (from find_subject) when `query` names nothing."""
    names = sorted([f.name for f in site.discovery.functions] + list(site.discovery.failures))
    if function is not None and function not in names:
        close = difflib.get_close_matches(function, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError.of(
            f"no function named {function!r}", hint=f"{hint}functions: {', '.join(names)}"
        )
    analyses: dict[str, Analysis | tuple[Problem, ...]] = dict(site.discovery.failures)
    for found in site.discovery.functions:
        try:
            analyses[found.name] = analyse_function(site, found)
        except BundlerError as error:
            analyses[found.name] = error.problems
    done = [a for a in analyses.values() if isinstance(a, Analysis)]
    subject = find_subject(site.environment, query, done, site.declarations)
    if subject.standard_library:
        return Explanation(subject, (), ())
    if subject.first_party:
        return explain_first_party(subject, done, function)
    shipped_by = tuple(
        sorted(a.function.name for a in done if subject.name in a.resolution.names())
    )
    answers = [
        _explain_function(site, subject, result, shipped_by, limit)
        if isinstance(result, Analysis)
        else FunctionWhy(function=name, shipped=False, problems=result)
        for name, result in sorted(analyses.items())
        if function is None or name == function
    ]
    role = site.declarations.role_of(subject.name) if subject.installed else None
    return Explanation(subject, tuple(answers), shipped_by, role)


def find_subject(
    environment: Environment,
    query: str,
    analyses: Iterable[Analysis] = (),
    declarations: Declarations | None = None,
) -> Subject:
    """The distribution `query` names (any spelling: `PyYAML`, `py_yaml`, `py-yaml`) or
    owns as a module (`yaml`, `PIL.Image`); else the standard library, or a name a
    function imports or the site declares. Raises BundlerError when it is none of them."""
    name = canonicalize_name(query)
    found = environment.distributions.get(name)
    squashed = {d.name.replace("-", ""): d for d in environment.distributions.values()}
    found = found or squashed.get(name.replace("-", ""))  # `pyyaml` asked as `py-yaml`
    if found is not None:
        return Subject(
            query=query, name=found.name, display_name=found.display_name, version=found.version
        )
    module = query.strip()
    owner = environment.owner_of([module])
    if owner is not None:
        return Subject(
            query=query,
            name=owner.name,
            display_name=owner.display_name,
            version=owner.version,
            module=module,
        )
    shared = environment.owners.get(module, ())
    if len(shared) > 1:
        raise BundlerError.of(
            f"{module!r} is a namespace shared by several distributions: {', '.join(shared)}",
            hint="ask about one of them, or about a longer module name",
        )
    if environment.is_stdlib(module):
        return Subject(
            query=query,
            name=module,
            display_name=module,
            version=None,
            module=module,
            standard_library=True,
        )
    if any(names_first_party(n, module) for a in analyses for n in a.scan.named):
        return Subject(
            query=query,
            name=module,
            display_name=module,
            version=None,
            module=module,
            first_party=True,
        )
    imported = any(
        module in (s.module, s.top_level)
        for a in analyses
        for s in (*a.scan.imports, *a.scan.skipped)
    )
    if imported or (declarations is not None and name in declarations.declared_names):
        return Subject(
            query=query,
            name=name,
            display_name=query,
            version=None,
            module=module if imported else None,
        )
    by_name = {d.name: d.display_name for d in environment.distributions.values()}
    close = difflib.get_close_matches(name, sorted(by_name), n=3, cutoff=0.6)
    hint = "check the spelling, or install it into the --python environment"
    if close:
        hint = f"did you mean {' or '.join(repr(by_name[c]) for c in close)}?"
    raise BundlerError.of(
        f"no installed distribution or module is named {query!r}, and no function imports it",
        hint=hint,
    )


def _explain_function(
    site: Site, subject: Subject, analysis: Analysis, shipped_by: Sequence[str], limit: int
) -> FunctionWhy:
    name = analysis.function.name
    environment = site.environment
    settings = analysis.function.settings
    excluded = {canonicalize_name(n) for n in settings.excluded_distributions}
    roots = _roots(site, analysis)
    shipped = {k: v for k, v in roots.items() if k not in excluded}
    if subject.name in analysis.resolution.names():
        shipping = analysis.resolution.edges
        chains, total, exact = find_chains(shipped, shipping, subject.name, environment, limit)
        return FunctionWhy(
            function=name,
            shipped=True,
            chains=chains,
            more_chains=total - len(chains),
            more_exact=exact,
        )
    reasons = (
        [_dev_reason(site, subject, analysis)] if subject.name in site.declarations.dev else []
    )
    if subject.name in site.declarations.project:
        own = "the project itself: the modules a function imports ship as first-party code"
        reasons.append(Reason("project", own))
    typing_only = "imported only under `if TYPE_CHECKING:`: never needed at run time"
    reasons += [
        Reason("type-checking", typing_only, skipped)
        for skipped in analysis.scan.skipped
        if _matches(skipped, subject, environment)
    ]
    edges, unmet = requirement_graph(environment, site.declarations.extras, roots)
    if subject.name in excluded:
        chains, _, _ = find_chains(roots, edges, subject.name, environment, limit)
        if chains:
            source = settings.source.name if settings.source else "the configuration"
            message = f"excluded by [tool.bundler] exclude ({source}); it would ship through:"
            if runtime_provides(subject.name):
                runtime = environment.target.runtime
                message = (
                    f"provided by the {runtime} runtime, excluded in {source}; it would ship "
                    "through:"
                )
            reasons.append(Reason("excluded", message, chains=chains))
    for edge in unmet if subject.installed else ():
        if edge.child == subject.name:
            chains, _, _ = find_chains(roots, edges, edge.parent, environment, 1)
            message = (
                f"{show_name(environment, edge.parent)} requires it only under a marker or "
                f"extra that does not apply to {environment.target.runtime} on linux "
                f"{environment.target.machine}: {edge.requirement}"
            )
            reasons.append(Reason("marker", message, chains=chains))
    if not subject.installed:
        optional = "imported optionally (the code copes with ImportError), not installed"
        reasons += [
            Reason("optional-missing", optional, found)
            for found in analysis.scan.imports
            if found.optional and _matches(found, subject, environment)
        ]
        reasons.append(Reason("not-installed", _not_installed(site, subject)))
    elif subject.name in analysis.resolution.left_out and not reasons:
        message = analysis.resolution.left_out[subject.name]
        if runtime_provides(subject.name):
            message = f"provided by the {environment.target.runtime} runtime; {message}"
        reasons.append(Reason("left-out", message))
    elif not reasons or reasons[-1].kind == "dev-only":
        elsewhere = f"shipped by {', '.join(shipped_by)}" if shipped_by else "no function ships it"
        reasons.append(Reason("not-imported", f"not imported by this function ({elsewhere})"))
    return FunctionWhy(function=name, shipped=False, reasons=tuple(reasons))


def _not_installed(site: Site, subject: Subject) -> str:
    message = f"not installed in {site.environment.interpreter.prefix}"
    for declared in site.config.declared:
        if canonicalize_name(declared.requirement.name) == subject.name:
            return f"declared in {declared.source} ({declared.requirement}) but {message}"
    return message


def _roots(site: Site, analysis: Analysis) -> dict[str, Chain]:
    """Where a function's chains start: the distributions it imports, then `include`."""
    roots = {n: Chain(n, "import", s) for n, s in sorted(analysis.resolution.imports.items())}
    for name, reason in sorted(analysis.resolution.named.items()):  # loaded by name
        roots.setdefault(name, Chain(name, reason))
    for entry in analysis.function.settings.included_distributions(site.root):
        name = canonicalize_name(entry)
        if name in site.environment.distributions:
            roots.setdefault(name, Chain(name, "include"))
    return roots


def _dev_reason(site: Site, subject: Subject, analysis: Analysis) -> Reason:
    """Dev-only, with the chain from the dev declaration that brings the subject."""
    source = site.declarations.dev[subject.name]
    sites = [s for s in analysis.scan.imports if _matches(s, subject, site.environment)]
    message = f"dev-only: from {source}"
    if sites:
        message += "; imported only optionally here, so left out"
    chains: tuple[Chain, ...] = ()
    for declared in site.config.dev_requirements:
        origin = f"{declared.source} ({declared.requirement})"
        if origin == source:
            root: str = canonicalize_name(declared.requirement.name)
            extras = {root: frozenset(declared.requirement.extras)}
            stub = {root: Chain(root, origin)}
            edges, _ = requirement_graph(site.environment, site.declarations.extras, stub, extras)
            chains, _, _ = find_chains(stub, edges, subject.name, site.environment, 1)
            break
    return Reason("dev-only", message, sites[0] if sites else None, chains)


def _matches(site: ImportSite, subject: Subject, environment: Environment) -> bool:
    if not subject.installed:
        return subject.module in (site.module, site.top_level)
    return any(o.name == subject.name for o in environment.owners_of(site.module, site.names))
