"""The distributions of the target environment, indexed once per run: who owns each file
and module."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.environment.editable import editable_sources, is_editable
from bundler.environment.interpreter import Interpreter
from bundler.environment.targets import Target
from bundler.errors import Problem

if TYPE_CHECKING:  # importlib.metadata costs 30 ms at start: imported where used
    from importlib.metadata import Distribution as Distribution_

_EXTENSION_SUFFIXES = (".so", ".pyd")
_NEVER_SHIPPED_NAMES = frozenset({"direct_url.json"})


@dataclass(frozen=True)
class DistFile:
    """A file that ships with a distribution: its place in the zip and on disk."""

    arcname: str
    source: Path


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """An installed distribution, read from its `.dist-info`."""

    name: str
    display_name: str
    version: str
    location: Path
    files: tuple[DistFile, ...]
    requires_text: tuple[str, ...]
    extras: tuple[str, ...]
    has_record: bool
    editable_sources: tuple[tuple[str, Path], ...] = ()

    @property
    def editable(self) -> bool:
        """Whether it is installed editable (its modules come from a source folder)."""
        return bool(self.editable_sources)

    @cached_property
    def requires(self) -> tuple[Requirement, ...]:
        """Its Requires-Dist, parsed; a line pip could not have parsed is skipped."""
        parsed = []
        for text in self.requires_text:
            try:
                parsed.append(Requirement(text))
            except InvalidRequirement:
                continue  # pip would have refused to install it; nothing to follow
        return tuple(parsed)


@dataclass(frozen=True, kw_only=True)
class Environment:
    """The distributions of the target environment, and which of them owns each module."""

    interpreter: Interpreter
    target: Target
    distributions: Mapping[str, Distribution]
    owners: Mapping[str, tuple[str, ...]] = field(repr=False)
    warnings: tuple[Problem, ...] = ()

    @classmethod
    def from_interpreter(
        cls, interpreter: Interpreter, target: Target | None = None
    ) -> Environment:
        """Index the distributions on the interpreter's path, for `target` (else its version)."""
        distributions: dict[str, Distribution] = {}
        warnings: list[Problem] = []
        from importlib import metadata  # here: a build that reuses a kept index never needs it

        for found in metadata.distributions(path=[str(p) for p in interpreter.site_packages]):
            refused = _unsafe_metadata(Path(str(getattr(found, "_path", ""))))
            if refused is not None:
                warnings.append(refused)
                continue
            distribution = read_distribution(found)
            if distribution is not None and distribution.name not in distributions:
                distributions[distribution.name] = distribution  # the first on the path wins
        owners: dict[str, set[str]] = {}
        for distribution in distributions.values():
            for module in _module_names(distribution):
                owners.setdefault(module, set()).add(distribution.name)
        return cls(
            interpreter=interpreter,
            target=target or Target(interpreter.version[:2], patch=interpreter.version[2]),
            distributions=distributions,
            owners={m: tuple(sorted(names)) for m, names in owners.items()},
            warnings=tuple(warnings),
        )

    def is_stdlib(self, module: str) -> bool:
        """Whether `module` belongs to the interpreter's standard library."""
        return module.split(".", 1)[0] in self.interpreter.stdlib

    def owner_of(self, candidates: Iterable[str]) -> Distribution | None:
        """The distribution that owns the longest prefix of the first candidate it knows.

        `google.protobuf` belongs to protobuf even though `google` is shared by many.
        """
        for module in candidates:
            parts = module.split(".")
            for end in range(len(parts), 0, -1):
                names = self.owners.get(".".join(parts[:end]))
                if names and len(names) == 1:
                    return self.distributions[names[0]]
                if names:
                    break  # a namespace shared by several: only a longer name can decide
        return None

    def owners_of(self, module: str, names: tuple[str, ...] = ()) -> list[Distribution]:
        """Every distribution an import needs: `from google.cloud import storage, pubsub`
        takes one for each name that is a module of its own."""
        found: list[Distribution] = []
        wanted: list[str | None] = [n for n in names if n != "*"]
        for name in wanted or [None]:
            candidates = (f"{module}.{name}", module) if name else (module,)
            owner = self.owner_of(candidates)
            if owner is not None and owner not in found:
                found.append(owner)
        return found

    def top_level_modules(self) -> frozenset[str]:
        """The top-level module names the installed distributions provide."""
        return frozenset(m for m in self.owners if "." not in m)


# The files of a `.dist-info` (or `.egg-info`) that reading a distribution opens
METADATA_FILES = (
    "METADATA",
    "PKG-INFO",
    "RECORD",
    "WHEEL",
    "direct_url.json",
    "entry_points.txt",
    "top_level.txt",
    "requires.txt",
    "installed-files.txt",
)


def _unsafe_metadata(location: Path) -> Problem | None:
    """Why a distribution's metadata must not be read, or None.

    Reading a FIFO blocks forever and a link can point anywhere (/proc/self/environ), so
    each metadata file must be a regular file inside its site-packages folder.
    """
    site = os.path.realpath(location.parent)
    paths = [location] if location.is_file() else [location / n for n in METADATA_FILES]
    for path in paths:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            continue
        except OSError as error:
            what = f"cannot be read: {error.strerror}"
        else:
            inside = os.path.realpath(path).startswith(site + os.sep)
            if stat.S_ISREG(info.st_mode) and inside:
                continue
            what = "is not a regular file" if inside else "links outside its site-packages"
        return Problem(
            f"this distribution's metadata {what}, so the distribution is left out",
            file=path,
            hint="reinstall the distribution (pip install --force-reinstall NAME)",
            severity="warning",
        )
    return None


def read_distribution(found: Distribution_) -> Distribution | None:
    """A distribution as the bundler sees it: shipped files, requirements, editable roots."""
    meta = found.metadata  # parsed once: re-reading METADATA per file costs seconds
    name = meta["Name"] if meta else None
    location = Path(str(getattr(found, "_path", "")))
    if not name:
        return None
    records = found.files
    site = location.parent
    files: list[DistFile] = []
    if records is None:
        files = [
            DistFile(f"{location.name}/{p.name}", p)
            for p in sorted(location.iterdir())
            if p.is_file()
        ]
    else:
        for record in records:
            arcname = record.as_posix()
            if _shipped(arcname):
                files.append(DistFile(arcname, site / arcname))
    editable = editable_sources(found, site) if is_editable(found) else ()
    return Distribution(
        name=canonicalize_name(name),
        display_name=name,
        version=meta["Version"] or "0",
        location=location,
        files=tuple(sorted(files, key=lambda f: f.arcname)),
        requires_text=tuple(found.requires or ()),
        extras=tuple(meta.get_all("Provides-Extra") or ()),
        has_record=records is not None,
        editable_sources=editable,
    )


def _shipped(arcname: str) -> bool:
    """Whether a RECORD entry belongs in a zip: never bytecode, scripts, `.pth` hooks."""
    parts = arcname.split("/")
    if ".." in parts or arcname.startswith("/") or "__pycache__" in parts:
        return False
    if arcname.endswith((".pyc", ".pyo")):
        return False
    if len(parts) == 1 and (arcname.endswith(".pth") or arcname.startswith("__editable__")):
        return False
    return parts[-1] not in _NEVER_SHIPPED_NAMES


def _module_names(distribution: Distribution) -> set[str]:
    """Every importable dotted name the distribution's files provide."""
    names: set[str] = set()
    for file in distribution.files:
        parts = file.arcname.split("/")
        *packages, last = parts
        if not packages and "." not in last:
            continue
        if not all(p.isidentifier() for p in packages):
            continue  # *.dist-info, *.libs, *.data
        for end in range(1, len(packages) + 1):
            names.add(".".join(packages[:end]))
        if last.endswith(".py") or last.endswith(_EXTENSION_SUFFIXES):
            stem = last.split(".", 1)[0]
            if stem.isidentifier() and stem != "__init__":
                names.add(".".join([*packages, stem]))
    for module, _source in distribution.editable_sources:
        names.add(module)
    return names
