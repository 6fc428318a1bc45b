"""The requirements a site declares: runtime from `[project].dependencies` and
`requirements.txt`, dev from optional dependencies, dependency groups and dev files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from bundler.errors import Problem, UsageError

RUNTIME_REQUIREMENT_FILES = ("requirements.txt", "requirements.in")
DEV_REQUIREMENT_GLOBS = tuple(
    pattern.format(kind=kind, suffix=suffix)
    for kind in ("dev", "test", "tests", "lint", "docs", "typing")
    for suffix in ("txt", "in")
    for pattern in (
        "requirements-{kind}.{suffix}",
        "requirements_{kind}.{suffix}",
        "{kind}-requirements.{suffix}",
        "requirements/{kind}.{suffix}",
    )
)


@dataclass(frozen=True)
class Declared:
    """One requirement the site declares, with where it says so."""

    requirement: Requirement
    source: str
    group: str | None = None
    file: Path | None = None
    line: int | None = None

    @property
    def is_dev(self) -> bool:
        return self.group is not None


def toml_table(value: object, key: str, path: Path) -> dict[str, Any]:
    """`value` when it is a TOML table, else a usage error naming `key`."""
    if not isinstance(value, dict):
        raise UsageError.of(f"`{key}` must be a table", file=path, hint=f"write it as [{key}]")
    return value


def read_declared(
    root: Path, pyproject: Mapping[str, Any], warnings: list[Problem]
) -> tuple[Declared, ...]:
    """Every requirement the site declares, runtime first, in file order."""
    declared = list(_pyproject_requirements(pyproject, root / "pyproject.toml", warnings))
    for name in RUNTIME_REQUIREMENT_FILES:
        declared += _requirements_file(root / name, None, warnings, set())
    dev_files = sorted({p for g in DEV_REQUIREMENT_GLOBS for p in root.glob(g)})
    for path in dev_files:
        declared += _requirements_file(path, path.name, warnings, set())
    return tuple(declared)


def _parse_requirement(
    text: str,
    source: str,
    group: str | None,
    path: Path,
    line: int | None,
    warnings: list[Problem],
) -> Declared | None:
    try:
        return Declared(Requirement(text), source, group, path, line)
    except InvalidRequirement as error:
        warnings.append(
            Problem(
                f"cannot parse requirement {text!r}: {str(error).splitlines()[0]}",
                file=path,
                line=line,
                hint="fix it, or the bundler cannot tell runtime from dev dependencies",
                severity="warning",
            )
        )
        return None


def _pyproject_requirements(
    pyproject: Mapping[str, Any], path: Path, warnings: list[Problem]
) -> Iterator[Declared]:
    project = toml_table(pyproject.get("project", {}), "project", path)
    listed: list[tuple[str, str | None, object]] = [
        ("[project].dependencies", None, project.get("dependencies", []))
    ]
    extras = toml_table(
        project.get("optional-dependencies", {}), "project.optional-dependencies", path
    )
    listed += [(f"[project.optional-dependencies].{g}", g, v) for g, v in sorted(extras.items())]
    groups = toml_table(pyproject.get("dependency-groups", {}), "dependency-groups", path)
    listed += [(f"[dependency-groups].{g}", g, v) for g, v in sorted(groups.items())]
    for source, group, items in listed:
        if not isinstance(items, list):
            raise UsageError.of(
                f"{source} must be a list of requirement strings",
                file=path,
                hint='write it as ["requests>=2", ...]',
            )
        for item in items:
            if isinstance(item, dict) and group and "include-group" in item:
                continue  # the included group is read under its own name
            if not isinstance(item, str):
                raise UsageError.of(
                    f"{source} must be a list of requirement strings, not {item!r}",
                    file=path,
                    hint='write it as ["requests>=2", ...]',
                )
            found = _parse_requirement(item, source, group, path, None, warnings)
            if found:
                yield found


def _requirements_file(
    path: Path, group: str | None, warnings: list[Problem], seen: set[Path]
) -> list[Declared]:
    """Requirements of a pip requirements file (pip-compile output included)."""
    if not path.is_file() or path.resolve() in seen:
        return []
    seen.add(path.resolve())
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError.of(f"cannot read requirements: {error}", file=path) from None
    found: list[Declared] = []
    for number, line in _logical_lines(text):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r", "--requirement")):
            name = line.split("=", 1)[1] if "=" in line else line.split(None, 1)[-1]
            name = name.removeprefix("-r").strip()
            included = path.parent / name
            if not included.is_file():
                warnings.append(
                    Problem(
                        f"included requirements file {name!r} does not exist",
                        file=path,
                        line=number,
                        hint="fix the path; pip would fail on it",
                        severity="warning",
                    )
                )
            found += _requirements_file(included, group, warnings, seen)
            continue
        if line.startswith("-"):
            continue  # options: -c, -e, --hash, --index-url ...
        line = line.split(" --hash", 1)[0].strip()
        entry = _parse_requirement(line, f"{path.name}:{number}", group, path, number, warnings)
        if entry:
            found.append(entry)
    return found


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines joined over trailing backslashes, numbered by their first physical line."""
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        if raw.rstrip().endswith("\\"):
            buffer += raw.rstrip()[:-1] + " "
            continue
        yield start, buffer + raw
        buffer = ""
    if buffer:
        yield start, buffer
