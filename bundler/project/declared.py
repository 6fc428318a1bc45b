"""The requirements a site declares, in every format real projects use, each with its role:
runtime, a runtime extra (a feature such as `postgres`), or a dev group.

The values and shared helpers live here; the readers of each format beside it:
`declarations_pyproject` (PEP 621, PEP 735, Poetry, PDM, uv, Hatch), `declarations_files`
(requirements files, Pipfile), `lockfiles` (uv.lock, poetry.lock, Pipfile.lock, pdm.lock),
and `declarations_read`, which reads them all.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.errors import Problem, UsageError
from bundler.files import NotARegularFile, open_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Kind = Literal["runtime", "extra", "dev"]

# Names of optional-dependency groups, Pipenv categories and lock groups that hold dev
# tools by convention; any other extra is a feature of the project (`postgres`, `s3`).
DEV_GROUP_NAMES = frozenset(
    {"dev", "test", "tests", "testing", "lint", "docs", "doc", "typing", "type", "mypy"}
    | {"style", "format", "check", "ci", "bench"}
)


@dataclass(frozen=True, kw_only=True)
class Declared:
    """One requirement the site declares, with where it says so and its role.

    `group` is the extra's or the dev group's name; `kind` says which of them it is.
    """

    requirement: Requirement
    source: str
    group: str | None = None
    file: Path | None = None
    line: int | None = None
    kind: Kind = "runtime"

    @property
    def is_dev(self) -> bool:
        """Whether it is declared in a dev group."""
        return self.kind == "dev"

    @property
    def name(self) -> str:
        """The canonical name of the distribution declared."""
        return canonicalize_name(self.requirement.name)


@dataclass(frozen=True)
class Manager:
    """The tool that manages the site's environment, for commands in hints."""

    name: Literal["uv", "poetry", "pdm", "pipenv", "hatch", "pip"]
    runtime_home: str  # where a runtime dependency is added, as hints name it

    def install_extra(self, extra: str) -> str:
        """The command that installs runtime extra `extra` into the site's environment."""
        return {
            "uv": f"uv sync --extra {extra}",
            "poetry": f"poetry install -E {extra}",
            "pdm": f"pdm install -G {extra}",
            "pipenv": f"pipenv install --categories {extra}",
            "hatch": f'list "{extra}" in [tool.hatch.envs.default] features',
            "pip": f"pip install -e '.[{extra}]'",
        }[self.name]

    @property
    def sync_command(self) -> str:
        """The command that creates the site's environment with its requirements."""
        return {
            "uv": "uv sync",
            "poetry": "poetry install",
            "pdm": "pdm install",
            "pipenv": "pipenv install --dev",
            "hatch": "hatch env create",
            "pip": "python -m venv .venv && .venv/bin/pip install "
            + ("-r requirements.txt" if self.runtime_home == "requirements.txt" else "-e ."),
        }[self.name]


@dataclass(frozen=True)
class LockGroups:
    """What one lock file says: runtime names, each extra's and each dev group's names."""

    file: Path
    runtime: frozenset[str] = frozenset()
    extras: Mapping[str, frozenset[str]] = field(default_factory=dict)
    dev: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def dev_only(self) -> dict[str, tuple[str, str]]:
        """Names only dev groups bring in, each with the source and group that do."""
        runtime = self.runtime.union(*self.extras.values())
        found: dict[str, tuple[str, str]] = {}
        for group, names in sorted(self.dev.items()):
            for name in sorted(names - runtime):
                found.setdefault(name, (f"{self.file.name} group {group}", group))
        return found


@dataclass(frozen=True, kw_only=True)
class SiteDeclarations:
    """Everything the site declares: requirements with their roles, the sources read,
    the project's own name and the tool that manages it."""

    declared: tuple[Declared, ...] = ()
    sources: tuple[str, ...] = ()  # "pyproject.toml [project]", "uv.lock", ...
    project_name: str | None = None  # canonical [project].name / [tool.poetry].name
    manager: Manager = field(default_factory=lambda: Manager("pip", "[project].dependencies"))
    locks: tuple[LockGroups, ...] = ()


_TOML_LIMIT = 64 * 2**20  # bytes: settings files and lock files are far smaller


def dev_group(name: str, dev_groups: frozenset[str]) -> bool:
    """Whether an extra, category or lock group named `name` holds dev tools."""
    return name.lower() in DEV_GROUP_NAMES or name in dev_groups


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a table ({} when it does not exist); UsageError when it is broken."""
    try:
        with open_regular(path) as stream:  # a FIFO would block, /dev/zero never end
            data = stream.read(_TOML_LIMIT + 1)
    except FileNotFoundError:
        return {}
    except NotARegularFile:
        raise UsageError.of(
            "not a regular file (a folder, pipe, device or socket)",
            file=path,
            hint="make it the settings file it should be, or remove it",
        ) from None
    except OSError as error:
        raise UsageError.of(
            f"cannot read: {error.strerror}", file=path, hint="check the file's permissions"
        ) from None
    if len(data) > _TOML_LIMIT:
        raise UsageError.of(
            f"larger than {_TOML_LIMIT // 2**20} MiB: not a settings file",
            file=path,
            hint="fix or remove this file",
        )
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise UsageError.of(
            f"not UTF-8 text: byte {data[error.start]:#04x} is not valid",
            file=path,
            line=data[: error.start].count(b"\n") + 1,
            hint="save the file as UTF-8 (TOML files must be)",
        ) from None
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))  # no `lineno` before Python 3.14
        line = getattr(error, "lineno", None) or (int(found.group(1)) if found else None)
        raise UsageError.of(
            f"invalid TOML: {error}", file=path, line=line, hint="fix the syntax of this file"
        ) from None
    except (RecursionError, MemoryError):
        raise UsageError.of(
            "too deeply nested for Python's TOML reader",
            file=path,
            hint="flatten the nested arrays or tables of this file",
        ) from None


def toml_table(value: object, key: str, path: Path) -> dict[str, Any]:
    """`value` when it is a TOML table, else a usage error naming `key`."""
    if not isinstance(value, dict):
        raise UsageError.of(f"`{key}` must be a table", file=path, hint=f"write it as [{key}]")
    return value


def table_requirement(name: str, value: object) -> str:
    """A requirement written as a TOML key and value (Poetry, Pipfile): `name = "^1.2"` or
    `name = {version = "*", extras = [...], markers = "..."}`, as PEP 508 text. The version,
    in each tool's own syntax, does not matter here: the installed one is shipped."""
    text = name
    if isinstance(value, dict):
        extras = value.get("extras")
        if isinstance(extras, list) and all(isinstance(e, str) for e in extras):
            text += f"[{','.join(extras)}]"
        if isinstance(value.get("markers"), str):
            text += f"; {value['markers']}"
    return text


def parse_requirement(
    text: str,
    source: str,
    path: Path,
    line: int | None,
    warnings: list[Problem],
    *,
    kind: Kind = "runtime",
    group: str | None = None,
) -> Declared | None:
    """`text` as a Declared, or None with a warning when it is no PEP 508 requirement."""
    try:
        return Declared(
            requirement=Requirement(text),
            source=source,
            group=group,
            file=path,
            line=line,
            kind=kind,
        )
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
