"""The Requires-Dist chains `bundle why` shows: from the distributions a function imports
(or includes) to the one asked about, shortest first, over the build's own walk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from bundler.analysis.requirements import Edge, walk_requirements
from bundler.analysis.scan import ImportSite
from bundler.environment.distributions import Environment

CHAIN_LIMIT = 20
_COUNT_LIMIT = 1000  # stop counting simple paths here: "more than" after that


@dataclass(frozen=True)
class Chain:
    """How a root reaches the subject: the root's origin, then each Requires-Dist step
    (an Edge between display names).

    `origin` is "import" (the root's `imports` sites), "include", or the source of a dev
    declaration such as `[project.optional-dependencies].dev (pytest>=8)`.
    """

    root: str
    origin: str
    imports: tuple[ImportSite, ...] = ()
    steps: tuple[Edge, ...] = ()


def find_chains(
    roots: Mapping[str, Chain],
    edges: Sequence[Edge],
    target: str,
    environment: Environment,
    limit: int = CHAIN_LIMIT,
) -> tuple[tuple[Chain, ...], int, bool]:
    """Simple paths from `roots` (name -> chain stub) to `target`, shortest first: the
    first `limit` chains, how many there are, and whether that count is exact."""
    children: dict[str, list[Edge]] = {}
    parents: dict[str, set[str]] = {}
    for edge in edges:
        children.setdefault(edge.parent, []).append(edge)
        parents.setdefault(edge.child, set()).add(edge.parent)
    reaches, queue = {target}, [target]  # only walk what can still reach the target
    while queue:
        for parent in parents.get(queue.pop(), ()):
            if parent not in reaches:
                reaches.add(parent)
                queue.append(parent)
    found: list[Chain] = []
    total = 0
    Partial = tuple[str, tuple[str, ...], tuple[Edge, ...]]
    level: list[Partial] = [(root, (root,), ()) for root in roots if root in reaches]
    while level and total < _COUNT_LIMIT:
        following: list[Partial] = []
        for node, seen, path in level:
            if node == target:
                total += 1
                if len(found) < limit:
                    stub, show = roots[seen[0]], partial(show_name, environment)
                    steps = tuple(Edge(show(e.parent), show(e.child), e.requirement) for e in path)
                    found.append(Chain(show(stub.root), stub.origin, stub.imports, steps))
                continue
            for edge in sorted(children.get(node, []), key=lambda e: e.child):
                if edge.child in reaches and edge.child not in seen:
                    following.append((edge.child, (*seen, edge.child), (*path, edge)))
        level = following
    return tuple(found), total, not level


def requirement_graph(
    environment: Environment,
    wanted_extras: Mapping[str, frozenset[str]],
    roots: Iterable[str],
    root_extras: Mapping[str, frozenset[str]] | None = None,
) -> tuple[tuple[Edge, ...], tuple[Edge, ...]]:
    """The Requires-Dist edges between installed distributions reachable from `roots` on
    the target, `exclude` ignored (the build's walk, without its exclusions); and the
    requirements whose marker or extra does not apply there (only those whose child nothing
    else brings in)."""
    asked = {root: (root_extras or {}).get(root, frozenset()) for root in roots}
    walk = walk_requirements(environment, asked, wanted_extras)
    return walk.edges, walk.unmet


def show_name(environment: Environment, name: str) -> str:
    """A distribution's display name, or `name` itself when it is not installed."""
    found = environment.distributions.get(name)
    return found.display_name if found else name
