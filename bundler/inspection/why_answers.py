"""What `bundle why` answers with: the subject asked about, and for each function whether
it ships it and why (values shared by the explanation of distributions and of the
project's own modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bundler.analysis.resolve import Role
from bundler.analysis.scan import ImportSite, NamedFirstParty
from bundler.errors import Problem
from bundler.inspection.why_chains import Chain

ReasonKind = Literal[
    "dev-only", "type-checking", "excluded", "marker", "optional-missing",
    "not-installed", "not-imported", "project", "left-out",
]  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Subject:
    """What was asked about: an installed distribution, or a name nothing installs."""

    query: str
    name: str
    display_name: str
    version: str | None
    module: str | None = None
    standard_library: bool = False
    first_party: bool = False  # a first-party module or package loaded by name

    @property
    def installed(self) -> bool:
        """Whether the subject is installed in the site's environment."""
        return self.version is not None


@dataclass(frozen=True)
class Reason:
    """One reason a function does not ship the subject (the most specific comes first)."""

    kind: ReasonKind
    message: str
    site: ImportSite | None = None
    chains: tuple[Chain, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FunctionWhy:
    """The subject in one function: its chains when shipped, else the reasons why not."""

    function: str
    shipped: bool
    chains: tuple[Chain, ...] = ()
    more_chains: int = 0
    more_exact: bool = True
    reasons: tuple[Reason, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """The answer to `bundle why NAME`, one entry per function."""

    subject: Subject
    functions: tuple[FunctionWhy, ...]
    shipped_by: tuple[str, ...]
    role: Role | None = None  # what the site's declarations make of an installed subject


def names_first_party(named: NamedFirstParty, query: str) -> bool:
    """Whether `query` is the first-party module or package that `named` loads."""
    package = named.package.name if named.package is not None else None
    return query in (named.module, named.use.name, package)
