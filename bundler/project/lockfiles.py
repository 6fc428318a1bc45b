"""Lock files as evidence of which installed distributions are runtime, runtime extras or
dev-only: `uv.lock`, `poetry.lock`, `Pipfile.lock` and `pdm.lock`, read with tomllib/json.

Each format says it differently (measured with uv 0.13, Poetry 2.5, Pipenv 2026.10, PDM
2.29): poetry.lock 2.1 and pdm.lock (inherit_metadata) label every package with its
groups; uv.lock labels only the project's own edges, so its graph is walked; Pipfile.lock is
split by category. Older locks without labels give no evidence (the declarations do).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from bundler.errors import BundlerError, Problem
from bundler.project.declared import LockGroups, dev_group, read_toml

LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock", "pdm.lock")


def read_locks(
    root: Path,
    pyproject: Mapping[str, Any],
    dev_groups: frozenset[str],
    warnings: list[Problem],
) -> tuple[LockGroups, ...]:
    """The evidence of every lock file in `root`; a lock that cannot be read is a warning."""
    extras = pyproject.get("project", {}).get("optional-dependencies", {})
    extra_names = frozenset(extras) if isinstance(extras, dict) else frozenset()
    found = []
    for name in LOCK_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            groups = _READERS[name](path, extra_names)
        except (BundlerError, ValueError, KeyError, TypeError, AttributeError) as error:
            reason = error.problems[0].message if isinstance(error, BundlerError) else error
            warnings.append(
                Problem(
                    f"cannot read the lock file: {reason}",
                    file=path,
                    hint="lock again with its tool; the declarations alone are used meanwhile",
                    severity="warning",
                )
            )
            continue
        if groups is not None:
            found.append(_dev_named(groups, dev_groups))
    return tuple(found)


def _dev_named(groups: LockGroups, dev_groups: frozenset[str]) -> LockGroups:
    """Extras and categories with a dev tool's name (`test`) are dev groups."""
    extras = {k: v for k, v in groups.extras.items() if not dev_group(k, dev_groups)}
    dev = {**groups.dev, **{k: v for k, v in groups.extras.items() if k not in extras}}
    return LockGroups(groups.file, groups.runtime, extras, dev)


def _uv(path: Path, _extras: frozenset[str]) -> LockGroups | None:
    """Walk the graph from the project's own package (`source = {editable|virtual = "."}`)."""
    lock = read_toml(path)
    packages: dict[str, list[dict[str, Any]]] = {}
    for package in lock.get("package", []):
        packages.setdefault(canonicalize_name(package["name"]), []).append(package)
    roots = [
        p
        for p in lock.get("package", [])
        if p.get("source", {}).get("editable") == "." or p.get("source", {}).get("virtual") == "."
    ]
    if not roots:
        return None
    root = roots[0]
    own = canonicalize_name(root["name"])

    def closure(edges: Iterable[Mapping[str, Any]]) -> frozenset[str]:
        seen: set[tuple[str, str]] = set()
        queue = [(canonicalize_name(e["name"]), tuple(e.get("extra", ()))) for e in edges]
        while queue:
            name, wanted = queue.pop()
            for extra in ("", *wanted):
                if (name, extra) in seen:
                    continue
                seen.add((name, extra))
                for package in packages.get(name, []):
                    table = package.get("optional-dependencies", {})
                    following = table.get(extra, []) if extra else package.get("dependencies", [])
                    queue += [
                        (canonicalize_name(e["name"]), tuple(e.get("extra", ()))) for e in following
                    ]
        return frozenset(n for n, _ in seen if n != own)

    return LockGroups(
        path,
        closure(root.get("dependencies", [])),
        {k: closure(v) for k, v in root.get("optional-dependencies", {}).items()},
        {k: closure(v) for k, v in root.get("dev-dependencies", {}).items()},
    )


def _poetry(path: Path, _extras: frozenset[str]) -> LockGroups | None:
    """lock-version 2.1 labels each package; "main" holds extras too (`optional = true`)."""
    lock = read_toml(path)
    version = str(lock.get("metadata", {}).get("lock-version", "1.0"))
    if tuple(int(p) for p in version.split(".")[:2] if p.isascii() and p.isdigit()) < (2, 1):
        return None  # no labels before Poetry 2.0
    runtime: set[str] = set()
    extras: dict[str, set[str]] = {}
    dev: dict[str, set[str]] = {}
    for package in lock.get("package", []):
        name = canonicalize_name(package["name"])
        markers = package.get("markers", "")
        for group in package.get("groups", []):
            marker = markers if isinstance(markers, str) else markers.get(group, "")
            if group != "main":
                dev.setdefault(group, set()).add(name)
                continue
            named = re.findall(r"extra == [\"']([^\"']+)[\"']", marker)
            if package.get("optional") and named:
                for extra in named:
                    extras.setdefault(extra, set()).add(name)
            else:
                runtime.add(name)
    return LockGroups(path, frozenset(runtime), _frozen(extras), _frozen(dev))


def _pipfile(path: Path, _extras: frozenset[str]) -> LockGroups | None:
    """`default` and `develop`; any other key is a custom category, read by its name."""
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from None
    categories = {
        key: frozenset(canonicalize_name(n) for n in value)
        for key, value in lock.items()
        if key != "_meta" and isinstance(value, dict)
    }
    runtime = categories.pop("default", frozenset())
    develop = categories.pop("develop", frozenset())
    return LockGroups(path, runtime, categories, {"develop": develop})


def _pdm(path: Path, extras: frozenset[str]) -> LockGroups | None:
    """Groups per package with `inherit_metadata`; extras and dev groups share names, so
    pyproject's optional dependencies tell them apart."""
    lock = read_toml(path)
    if "inherit_metadata" not in lock.get("metadata", {}).get("strategy", []):
        return None
    runtime: set[str] = set()
    found: dict[str, set[str]] = {}
    dev: dict[str, set[str]] = {}
    for package in lock.get("package", []):
        name = canonicalize_name(package["name"])
        for group in package.get("groups", []):
            if group == "default":
                runtime.add(name)
            else:
                (found if group in extras else dev).setdefault(group, set()).add(name)
    return LockGroups(path, frozenset(runtime), _frozen(found), _frozen(dev))


def _frozen(groups: Mapping[str, set[str]]) -> dict[str, frozenset[str]]:
    return {k: frozenset(v) for k, v in groups.items()}


_READERS = {"uv.lock": _uv, "poetry.lock": _poetry, "Pipfile.lock": _pipfile, "pdm.lock": _pdm}
