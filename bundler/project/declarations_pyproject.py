"""Requirements declared in pyproject.toml: PEP 621 `[project]`, PEP 735
`[dependency-groups]`, Poetry's classic tables, PDM's and uv's legacy dev lists, and Hatch's
environments. Each reader returns Declared values with their role (runtime, extra, dev)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.errors import Problem, UsageError
from bundler.project.declared import (
    Declared,
    Kind,
    dev_group,
    parse_requirement,
    table_requirement,
    toml_table,
)

_EXAMPLE = 'write it as ["requests>=2", ...]'


@dataclass(frozen=True)
class _Reading:
    """What every reader needs: the file, where warnings go, the site's dev group names."""

    path: Path
    warnings: list[Problem]
    dev_groups: frozenset[str]


def pyproject_requirements(
    pyproject: Mapping[str, Any], path: Path, warnings: list[Problem], dev_groups: frozenset[str]
) -> tuple[list[Declared], list[str]]:
    """Every requirement pyproject.toml declares, runtime first, and the tables read."""
    declared: list[Declared] = []
    tables: list[str] = []
    tool = toml_table(pyproject.get("tool", {}), "tool", path)
    reading = _Reading(path, warnings, dev_groups)
    for table, reader in (
        ("[project]", _project),
        ("[dependency-groups]", _dependency_groups),
        ("[tool.poetry]", _poetry),
        ("[tool.pdm.dev-dependencies]", _pdm),
        ("[tool.uv] dev-dependencies", _uv),
        ("[tool.hatch.envs]", _hatch),
    ):
        found = list(reader(pyproject, tool, reading))
        if found or (table == "[project]" and _declares_project(pyproject)):
            tables.append(table)
        declared += found
    declared.sort(key=lambda d: d.kind != "runtime")  # stable: runtime first, file order kept
    return declared, tables


def _declares_project(pyproject: Mapping[str, Any]) -> bool:
    """A `[project]` with an empty dependency list still declares: it says "none"."""
    project = pyproject.get("project")
    return isinstance(project, dict) and "dependencies" in project


def _project(
    pyproject: Mapping[str, Any], tool: Mapping[str, Any], reading: _Reading
) -> Iterator[Declared]:
    project = toml_table(pyproject.get("project", {}), "project", reading.path)
    yield from _strings(project.get("dependencies", []), "[project].dependencies", reading)
    extras = toml_table(
        project.get("optional-dependencies", {}), "project.optional-dependencies", reading.path
    )
    for name, items in sorted(extras.items()):
        kind: Kind = "dev" if dev_group(name, reading.dev_groups) else "extra"
        source = f"[project.optional-dependencies].{name}"
        yield from _strings(items, source, reading, kind=kind, group=name)


def _dependency_groups(
    pyproject: Mapping[str, Any], tool: Mapping[str, Any], reading: _Reading
) -> Iterator[Declared]:
    groups = toml_table(pyproject.get("dependency-groups", {}), "dependency-groups", reading.path)
    for name, items in sorted(groups.items()):
        source = f"[dependency-groups].{name}"
        yield from _strings(items, source, reading, kind="dev", group=name)


def _strings(
    items: object,
    source: str,
    reading: _Reading,
    *,
    kind: Kind = "runtime",
    group: str | None = None,
) -> Iterator[Declared]:
    """A list of PEP 508 strings; `{include-group = ...}` tables are read under their own
    group's name (PEP 735), editable `-e` lines (PDM) are the project's own paths."""
    if not isinstance(items, list):
        raise UsageError.of(
            f"{source} must be a list of requirement strings", file=reading.path, hint=_EXAMPLE
        )
    for item in items:
        if isinstance(item, dict) and group and "include-group" in item:
            continue
        if not isinstance(item, str):
            raise UsageError.of(
                f"{source} must be a list of requirement strings, not {item!r}",
                file=reading.path,
                hint=_EXAMPLE,
            )
        if item.lstrip().startswith("-") or "{" in item:
            continue  # `-e file:///${PROJECT_ROOT}/...`, Hatch's `{root:uri}` contexts
        found = parse_requirement(
            item, source, reading.path, None, reading.warnings, kind=kind, group=group
        )
        if found:
            yield found


def _poetry(
    pyproject: Mapping[str, Any], tool: Mapping[str, Any], reading: _Reading
) -> Iterator[Declared]:
    """Poetry's own tables: main dependencies and extras are runtime, groups are dev.

    Values are version strings in Poetry's syntax (`^2.31`), tables or lists of tables:
    only the name (with extras and markers) matters here; `python` is no distribution."""
    poetry = tool.get("poetry")
    if not isinstance(poetry, dict):
        return
    extras: dict[str, list[str]] = {}
    for extra, names in _table(poetry.get("extras")).items():
        for name in names if isinstance(names, list) else []:
            extras.setdefault(str(name).lower(), []).append(extra)
    main = _table(poetry.get("dependencies"))
    for name, value in main.items():
        if name.lower() == "python":
            continue
        if isinstance(value, dict) and value.get("optional"):
            for extra in extras.get(name.lower(), []) or ["(optional)"]:
                kind: Kind = "dev" if dev_group(extra, reading.dev_groups) else "extra"
                source = f"[tool.poetry.extras].{extra}"
                yield from _poetry_entry(name, value, source, reading, kind, extra)
            continue
        source = "[tool.poetry.dependencies]"
        yield from _poetry_entry(name, value, source, reading, "runtime", None)
    groups = {"dev": _table(poetry.get("dev-dependencies"))}
    sources = {"dev": "[tool.poetry.dev-dependencies]"}
    for group, table in _table(poetry.get("group")).items():
        if isinstance(table, dict):
            groups[group] = {**groups.get(group, {}), **_table(table.get("dependencies"))}
            sources[group] = f"[tool.poetry.group.{group}.dependencies]"
    for group, table in groups.items():
        for name, value in table.items():
            if name.lower() != "python":
                yield from _poetry_entry(name, value, sources[group], reading, "dev", group)


def _poetry_entry(
    name: str, value: object, source: str, reading: _Reading, kind: Kind, group: str | None
) -> Iterator[Declared]:
    text = table_requirement(name, value)
    found = parse_requirement(
        text, source, reading.path, None, reading.warnings, kind=kind, group=group
    )
    if found:
        yield found


def _pdm(
    pyproject: Mapping[str, Any], tool: Mapping[str, Any], reading: _Reading
) -> Iterator[Declared]:
    pdm = _table(tool.get("pdm"))
    for group, items in sorted(_table(pdm.get("dev-dependencies")).items()):
        source = f"[tool.pdm.dev-dependencies].{group}"
        yield from _strings(items, source, reading, kind="dev", group=group)


def _uv(
    pyproject: Mapping[str, Any], tool: Mapping[str, Any], reading: _Reading
) -> Iterator[Declared]:
    items = _table(tool.get("uv")).get("dev-dependencies")
    if items is not None:
        source = "[tool.uv].dev-dependencies"
        yield from _strings(items, source, reading, kind="dev", group="dev")


def _hatch(
    pyproject: Mapping[str, Any], tool: Mapping[str, Any], reading: _Reading
) -> Iterator[Declared]:
    """What Hatch's environments add is dev; their `features` name extras of the project."""
    envs = _table(_table(tool.get("hatch")).get("envs"))
    for env, table in sorted(envs.items()):
        for key in ("dependencies", "extra-dependencies"):
            items = _table(table).get(key)
            if items is not None:
                source = f"[tool.hatch.envs.{env}].{key}"
                yield from _strings(items, source, reading, kind="dev", group=env)


def _table(value: object) -> dict[str, Any]:
    """A tool's table, or {} when it has another shape (the tool itself reports that)."""
    return value if isinstance(value, dict) else {}
