"""The one walk over Requires-Dist: which installed distributions a set of roots brings in on
the target, with which extras, through which edges. The build's resolution, the roles of the
declarations, `bundle why` and the runtime's packages all call it, so they cannot disagree
about a marker or an extra.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bundler.environment.distributions import Environment


@dataclass(frozen=True)
class Edge:
    """`parent` requires `child` (`requirement` is the Requires-Dist line that says so)."""

    parent: str
    child: str
    requirement: str


@dataclass(frozen=True, kw_only=True)
class RequirementWalk:
    """What a walk from some roots reached.

    `reached` maps each root (installed or not) and each installed distribution brought in
    to the distribution it was first reached from (None for a root), in the order reached:
    breadth first, so that path is a shortest one. `extras` holds the extras each one is
    wanted with. `edges` are the requirements that hold, between installed distributions;
    `unmet` those whose marker or extra does not hold on the target, for a child nothing
    else brings in; `missing` the requirements that hold but name what is not installed;
    `excluded` the children left out because `excluded` names them.
    """

    reached: Mapping[str, str | None]
    extras: Mapping[str, frozenset[str]]
    edges: tuple[Edge, ...]
    unmet: tuple[Edge, ...]
    missing: tuple[tuple[str, Requirement], ...]
    excluded: tuple[str, ...]

    def installed(self, environment: Environment) -> tuple[str, ...]:
        """The reached names that are installed, in the order reached."""
        return tuple(n for n in self.reached if n in environment.distributions)


def marker_applies(requirement: Requirement, extras: Iterable[str], base: dict[str, str]) -> bool:
    """Whether `requirement` holds on the target `base` for any of the requested `extras`."""
    marker: Marker | None = requirement.marker
    if marker is None:
        return True
    return any(marker.evaluate({**base, "extra": extra}) for extra in ("", *extras))


def walk_requirements(
    environment: Environment,
    roots: Mapping[str, Iterable[str]],
    site_extras: Mapping[str, frozenset[str]] | None = None,
    excluded: Collection[str] = (),
) -> RequirementWalk:
    """Breadth first over Requires-Dist from `roots` (canonical name -> the extras asked of
    it), on the environment's target. `site_extras` are the extras the site asks of a
    distribution wherever it is reached; a distribution reached again with new extras is
    walked again, since they bring new requirements."""
    base = environment.target.marker_environment()
    wanted = site_extras or {}
    reached: dict[str, str | None] = {}
    extras: dict[str, set[str]] = {}
    for root, asked in roots.items():
        reached[root] = None
        extras[root] = {*wanted.get(root, ()), *asked}
    queue = [root for root in roots if root in environment.distributions]
    edges: list[Edge] = []
    unmet: list[Edge] = []
    missing: list[tuple[str, Requirement]] = []
    left_out: list[str] = []
    while queue:
        name = queue.pop(0)
        for requirement in environment.distributions[name].requires:
            child = canonicalize_name(requirement.name)
            edge = Edge(name, child, str(requirement))
            if not marker_applies(requirement, extras[name], base):
                unmet += [] if edge in unmet else [edge]
                continue
            if child in excluded:
                left_out += [] if child in left_out else [child]
                continue
            if child not in environment.distributions:
                missing += [] if (name, requirement) in missing else [(name, requirement)]
                continue
            edges += [] if edge in edges else [edge]
            more = {*requirement.extras, *wanted.get(child, ())}
            if child not in reached:
                reached[child] = name
                extras[child] = more
                queue.append(child)
            elif not more <= extras[child]:
                extras[child] |= more
                queue.append(child)
    return RequirementWalk(
        reached=reached,
        extras={n: frozenset(e) for n, e in extras.items()},
        edges=tuple(edges),
        unmet=tuple(e for e in unmet if e.child not in reached),
        missing=tuple(missing),
        excluded=tuple(left_out),
    )


def requirement_closure(
    environment: Environment, requirements: Iterable[Requirement]
) -> tuple[str, ...]:
    """The installed distributions `requirements` bring in on the target (each one whose
    marker holds, with its extras), in the order reached."""
    base = environment.target.marker_environment()
    roots: dict[str, set[str]] = {}
    for requirement in requirements:
        if marker_applies(requirement, (), base):
            name = canonicalize_name(requirement.name)
            roots.setdefault(name, set()).update(requirement.extras)
    return walk_requirements(environment, roots).installed(environment)
