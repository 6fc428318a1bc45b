"""Read everything a site declares: pyproject.toml's tables, Pipfile, requirements files
and lock files, the project's own name, and the tool that manages its environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from bundler.errors import Problem
from bundler.project.declarations_files import pipfile_requirements, requirement_files
from bundler.project.declarations_pyproject import pyproject_requirements
from bundler.project.declared import Declared, Manager, SiteDeclarations, read_toml
from bundler.project.lockfiles import read_locks


def read_declared(
    root: Path,
    pyproject: Mapping[str, Any],
    warnings: list[Problem],
    dev_groups: frozenset[str] = frozenset(),
) -> SiteDeclarations:
    """Every requirement the site declares, runtime first, in file order, with the
    sources read and the tool that manages the site."""
    path = root / "pyproject.toml"
    declared, tables = pyproject_requirements(pyproject, path, warnings, dev_groups)
    sources = [f"pyproject.toml {', '.join(tables)}"] if tables else []
    pipfile = root / "Pipfile"
    if pipfile.is_file():
        found, tables = pipfile_requirements(read_toml(pipfile), pipfile, warnings, dev_groups)
        declared += found
        sources.append(f"Pipfile {', '.join(tables)}")
    found, names = requirement_files(root, warnings)
    declared += found
    sources += names
    locks = read_locks(root, pyproject, dev_groups, warnings)
    sources += [lock.file.name for lock in locks]
    project = _project_name(pyproject)
    manager = _manager(root, pyproject, declared)
    return SiteDeclarations(
        declared=tuple(declared),
        sources=tuple(sources),
        project_name=project,
        manager=manager,
        locks=locks,
    )


def _project_name(pyproject: Mapping[str, Any]) -> str | None:
    for table in (pyproject.get("project"), pyproject.get("tool", {}).get("poetry")):
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            return canonicalize_name(table["name"])
    return None


def _manager(root: Path, pyproject: Mapping[str, Any], declared: list[Declared]) -> Manager:
    """Which tool manages the site: its lock file first, then its tables."""
    tool = pyproject.get("tool", {})
    tool = tool if isinstance(tool, dict) else {}
    project = isinstance(pyproject.get("project"), dict)
    home = "[project].dependencies"
    if not project and isinstance(tool.get("poetry"), dict):
        home = "[tool.poetry.dependencies]"
    elif not project and (root / "Pipfile").is_file():
        home = "Pipfile [packages]"
    elif not project and any(d.source.startswith("requirements") for d in declared):
        home = "requirements.txt"
    for lock, name in (
        ("uv.lock", "uv"),
        ("poetry.lock", "poetry"),
        ("pdm.lock", "pdm"),
        ("Pipfile.lock", "pipenv"),
    ):
        if (root / lock).is_file():
            return Manager(name, home)  # type: ignore[arg-type]
    if (root / "Pipfile").is_file():
        return Manager("pipenv", home)
    for table, name in (("poetry", "poetry"), ("pdm", "pdm"), ("uv", "uv")):
        if isinstance(tool.get(table), dict):
            return Manager(name, home)  # type: ignore[arg-type]
    hatch = tool.get("hatch")
    if isinstance(hatch, dict) and isinstance(hatch.get("envs"), dict):
        return Manager("hatch", home)  # hatchling alone builds; Hatch's envs install
    return Manager("pip", home)


def no_declarations(root: Path) -> Problem:
    """The warning for a site that declares nothing, naming what was looked for."""
    return Problem(
        "the site declares no dependencies (looked for pyproject.toml [project] and "
        "[tool.poetry], Pipfile, requirements.txt, requirements.in and the lock files "
        "uv.lock, poetry.lock, Pipfile.lock, pdm.lock): every installed distribution a "
        "function imports ships, and none can be told to be a dev tool",
        file=root,
        hint="declare the runtime dependencies, e.g. in requirements.txt or "
        "pyproject.toml [project].dependencies",
        severity="warning",
    )
