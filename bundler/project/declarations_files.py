"""Requirements declared outside pyproject.toml: pip requirements files (pip-compile's
output included) and Pipenv's `Pipfile`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bundler.errors import Problem, UsageError
from bundler.project.declared import Declared, Kind, dev_group, parse_requirement, table_requirement

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
# Pipfile tables that are not categories of packages
_PIPFILE_RESERVED = frozenset({"source", "requires", "scripts", "pipenv"})


def requirement_files(root: Path, warnings: list[Problem]) -> tuple[list[Declared], list[str]]:
    """Requirements of the site's requirements files, runtime ones first, and the files read."""
    declared: list[Declared] = []
    read: list[str] = []
    for name in RUNTIME_REQUIREMENT_FILES:
        found = _requirements_file(root / name, None, warnings, set())
        declared += found
        read += [name] if (root / name).is_file() else []
    for path in sorted({p for g in DEV_REQUIREMENT_GLOBS for p in root.glob(g)}):
        declared += _requirements_file(path, path.name, warnings, set())
        read.append(path.relative_to(root).as_posix())
    return declared, read


def pipfile_requirements(
    pipfile: Mapping[str, Any], path: Path, warnings: list[Problem], dev_groups: frozenset[str]
) -> tuple[list[Declared], list[str]]:
    """`[packages]` is runtime, `[dev-packages]` dev; a custom category (`pipenv install
    --categories postgres`) is read by its name, like an extra."""
    declared: list[Declared] = []
    tables: list[str] = []
    for table, value in pipfile.items():
        if table in _PIPFILE_RESERVED or not isinstance(value, dict):
            continue
        tables.append(f"[{table}]")
        kind: Kind = "runtime"
        group: str | None = None
        if table == "dev-packages":
            kind, group = "dev", "dev-packages"
        elif table != "packages":
            kind = "dev" if dev_group(table, dev_groups) else "extra"
            group = table
        for name, spec in value.items():
            text = table_requirement(name, spec)
            found = parse_requirement(
                text, f"Pipfile [{table}]", path, None, warnings, kind=kind, group=group
            )
            if found:
                declared.append(found)
    declared.sort(key=lambda d: d.kind != "runtime")
    return declared, tables


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
    kind: Kind = "dev" if group else "runtime"
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
        source = f"{path.name}:{number}"
        entry = parse_requirement(line, source, path, number, warnings, kind=kind, group=group)
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
