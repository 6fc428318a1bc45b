"""The roles of a site's distributions: runtime, a runtime extra, a dev group, the project
itself, or undeclared, each with the declaration that says so, closed over the environment
once per run."""

from __future__ import annotations

import difflib
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from bundler.analysis.requirements import marker_applies, requirement_closure
from bundler.environment.distributions import Distribution, Environment
from bundler.errors import Problem
from bundler.project.config import SiteConfig
from bundler.project.declared import Declared, Manager

RoleKind = Literal["runtime", "extra", "dev", "project", "undeclared"]


@dataclass(frozen=True)
class Role:
    """Why the site has a distribution: runtime, a runtime extra, a dev group, the project
    itself or undeclared, with the declaration (file and table) that says so."""

    kind: RoleKind
    source: str = ""
    group: str | None = None

    def describe(self) -> str:
        """`runtime extra postgres ([project.optional-dependencies].postgres (pg8000))`."""
        what = {
            "runtime": "runtime",
            "extra": f"runtime extra {self.group}",
            "dev": f"dev group {self.group}" if self.group else "dev",
            "project": "the project itself (first-party code)",
            "undeclared": "not declared by the project",
        }[self.kind]
        return f"{what} ({self.source})" if self.source else what

    def to_json(self) -> dict[str, str | None]:
        """The role as the --json documents show it."""
        return {"kind": self.kind, "group": self.group, "source": self.source or None}


@dataclass(frozen=True, kw_only=True)
class Declarations:
    """The site's declared requirements, closed over the environment once per run."""

    runtime: frozenset[str]
    dev: Mapping[str, str]
    extras: Mapping[str, frozenset[str]]  # extras the project asks of a distribution
    declared_names: frozenset[str]
    features: Mapping[str, Role] = field(default_factory=dict)  # only from runtime extras
    runtime_roles: Mapping[str, Role] = field(default_factory=dict)
    dev_roles: Mapping[str, Role] = field(default_factory=dict)
    project: frozenset[str] = frozenset()  # the project's own distribution names
    manager: Manager = field(default_factory=lambda: Manager("pip", "[project].dependencies"))
    missing_extras: Mapping[str, Declared] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()  # settings that name what is not installed

    @classmethod
    def from_config(cls, config: SiteConfig, environment: Environment) -> Declarations:
        """The roles of the installed distributions, from the declarations and lock files."""
        site = config.declarations
        runtime_roles = {
            name: Role("runtime", _origin(declared))
            for name, declared in closure_names(config.runtime_requirements, environment).items()
        }
        features: dict[str, Role] = {}
        missing: dict[str, Declared] = {}
        for declared in config.extra_requirements:
            if declared.name not in environment.distributions:
                missing.setdefault(declared.name, declared)
            for name in closure_names((declared,), environment):
                if name not in runtime_roles:
                    features.setdefault(name, Role("extra", _origin(declared), declared.group))
        for lock in site.locks:
            for name in lock.runtime - set(features):
                runtime_roles.setdefault(name, Role("runtime", f"{lock.file.name} main"))
            for extra, names in sorted(lock.extras.items()):
                for name in sorted(names - set(runtime_roles)):
                    features.setdefault(
                        name, Role("extra", f"{lock.file.name} extra {extra}", extra)
                    )
        kept = set(runtime_roles) | set(features)
        dev: dict[str, Role] = {}
        for declared in config.dev_requirements:
            for name in closure_names((declared,), environment):
                if name not in kept:
                    dev.setdefault(name, Role("dev", _origin(declared), declared.group))
        for lock in site.locks:
            for name, (source, group) in lock.dev_only().items():
                if name not in kept:
                    dev.setdefault(name, Role("dev", source, group))
        extras: dict[str, set[str]] = {}
        base = environment.target.marker_environment()
        for declared in config.runtime_requirements:
            if marker_applies(declared.requirement, (), base):
                extras.setdefault(declared.name, set()).update(declared.requirement.extras)
        project = own_distributions(config, environment)
        return cls(
            runtime=frozenset(runtime_roles) - project,
            dev={k: v.source for k, v in dev.items() if k not in project},
            dev_roles={k: v for k, v in dev.items() if k not in project},
            extras={k: frozenset(v) for k, v in extras.items()},
            declared_names=frozenset(d.name for d in config.declared) - project,
            features={k: v for k, v in features.items() if k not in project},
            runtime_roles={k: v for k, v in runtime_roles.items() if k not in project},
            project=project,
            manager=site.manager,
            missing_extras=missing,
            warnings=unknown_exclusions(config, environment),
        )

    def role_of(self, name: str) -> Role:
        """The role of distribution `name` (canonical) in this site."""
        if name in self.project:
            return Role("project")
        if name in self.runtime_roles:
            return self.runtime_roles[name]
        if name in self.features:
            return self.features[name]
        if name in self.dev_roles:
            return self.dev_roles[name]
        return Role("undeclared")


def _origin(declared: Declared) -> str:
    return f"{declared.source} ({declared.requirement})"


def own_distributions(config: SiteConfig, environment: Environment) -> frozenset[str]:
    """The project's own distributions: named as `[project].name`/`[tool.poetry].name`, or
    installed editable from the site root (uv, Poetry, PDM and Hatch all do that)."""
    found = {config.declarations.project_name} & set(environment.distributions)
    root = config.root.resolve()
    for distribution in environment.distributions.values():
        if distribution.editable and editable_root(distribution) == root:
            found.add(distribution.name)
    return frozenset(n for n in found if n)


def editable_root(distribution: Distribution) -> Path | None:
    """The folder an editable install points at (its `direct_url.json`), percent-decoded."""
    try:
        info = json.loads((distribution.location / "direct_url.json").read_text("utf-8"))
        url = urllib.parse.urlparse(info["url"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if url.scheme != "file":
        return None
    from urllib.request import url2pathname  # here: it imports http.client and ssl

    return Path(url2pathname(url.path)).resolve()


def closure_names(roots: Iterable[Declared], environment: Environment) -> dict[str, Declared]:
    """Installed distributions reachable from declared requirements (missing ones skipped),
    each with the first declaration that reaches it."""
    seen: dict[str, Declared] = {}
    for declared in roots:
        for name in requirement_closure(environment, (declared.requirement,)):
            seen.setdefault(name, declared)
    return seen


def project_roots(
    root: Path, project: frozenset[str], environment: Environment
) -> tuple[Path, ...]:
    """Folders of the site that hold its own package (`src/`): imports of it are
    first-party, followed from there like the site's other modules."""
    root = root.resolve()
    found: list[Path] = []
    for name in sorted(project):
        distribution = environment.distributions[name]
        for module, source in distribution.editable_sources:
            top = source.stem if source.suffix == ".py" else source.name
            parent = source.parent.resolve()
            if top == module and parent != root and parent.is_relative_to(root):
                found += [] if parent in found else [parent]
        if not distribution.editable and (root / "src").is_dir():
            found += [] if root / "src" in found else [root / "src"]
    return tuple(found)


def unknown_exclusions(config: SiteConfig, environment: Environment) -> tuple[Problem, ...]:
    """An `exclude` name that no installed distribution has is a typo or a leftover."""
    installed = {d.name: d.display_name for d in environment.distributions.values()}
    found: list[Problem] = []
    for settings in (config.defaults, *config.functions.values()):
        for entry in settings.excluded_distributions:
            name = canonicalize_name(entry)
            if name in installed or any(
                p.message.startswith(f"exclude names {entry!r}") for p in found
            ):
                continue
            close = difflib.get_close_matches(name, sorted(installed), n=1)
            hint = f"did you mean {installed[close[0]]!r}? " if close else ""
            found.append(
                Problem(
                    f"exclude names {entry!r}, which is not installed in "
                    f"{environment.interpreter.prefix}",
                    file=settings.source,
                    hint=hint + "remove it, or write a file pattern with a `/` or `*` "
                    '(e.g. "**/tests/**") to drop files from shipped distributions',
                    severity="warning",
                )
            )
    return tuple(found)
