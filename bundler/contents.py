"""What goes in a function's zip: its own code, its included files, whole distributions."""

from __future__ import annotations

import csv
import dataclasses
import errno
import functools
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bundler.digests import record_hash
from bundler.discover import Function
from bundler.environment import Distribution, Environment
from bundler.errors import BundlerError, Problem, display_path
from bundler.resolve import Resolution
from bundler.scan import Scan

FIRST_PARTY = ""
_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".venv", "node_modules", ".mypy_cache"})


@dataclass(frozen=True)
class Entry:
    """One file of a zip: where it goes, where it comes from, who it belongs to."""

    arcname: str
    source: Path
    owner: str
    size: int
    executable: bool
    data: bytes | None = None  # written instead of `source` (a rewritten RECORD)


@dataclass(frozen=True)
class Contents:
    """Every file of one function's zip, sorted by name."""

    entries: tuple[Entry, ...]
    warnings: tuple[Problem, ...] = ()

    @property
    def unzipped(self) -> int:
        return sum(e.size for e in self.entries)

    def bytes_by_owner(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for entry in self.entries:
            sizes[entry.owner] = sizes.get(entry.owner, 0) + entry.size
        return sizes


DistributionEntries = tuple[tuple["Entry", ...], tuple[Problem, ...]]


def collect_contents(
    function: Function,
    scan: Scan,
    resolution: Resolution,
    environment: Environment,
    site_root: Path,
    memo: dict[Path, DistributionEntries] | None = None,
) -> Contents:
    """The files of `function`'s zip; raises with every clash and unreadable file.

    `memo`, shared by the functions of one build, keeps each distribution's entries so
    its files are looked at once per build, not once per function that ships it.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    claimed: dict[str, Entry] = {}

    def claim(entry: Entry | None) -> None:
        if entry is None:
            return
        previous = claimed.get(entry.arcname)
        if previous is None:
            claimed[entry.arcname] = entry
        elif previous.source != entry.source:
            problems.append(_clash(previous, entry, function.name, site_root))

    for arcname, path in first_party_files(function, scan, site_root, problems, warnings):
        claim(_entry(arcname, path, FIRST_PARTY, problems, function.name))
    for resolved in resolution.distributions:
        distribution = environment.distributions[resolved.name]
        found = memo.get(distribution.location) if memo is not None else None
        if found is None:
            found = distribution_entries(distribution)
            if memo is not None:
                memo[distribution.location] = found  # a path hashes once; a dataclass each time
        entries, own = found
        problems += [dataclasses.replace(p, function=function.name) for p in own]
        for entry in entries:
            claim(entry)
    if problems:
        raise BundlerError(*problems)
    return Contents(tuple(claimed[name] for name in sorted(claimed)), tuple(warnings))


def distribution_entries(distribution: Distribution) -> DistributionEntries:
    """The entries a distribution adds to any zip (its RECORD rewritten), and its problems."""
    problems: list[Problem] = []
    if not distribution.has_record:
        problem = Problem(
            f"{distribution.display_name} has no RECORD file, so its files are unknown "
            "(installed by something other than pip?)",
            file=distribution.location,
            hint=f"reinstall it with pip: pip install --force-reinstall "
            f"{distribution.display_name}",
        )
        return (), (problem,)
    record = f"{distribution.location.name}/RECORD"
    entries: list[Entry] = []
    for arcname, source in distribution_files(distribution):
        if arcname == record:
            data = shipped_record(distribution)
            entries.append(Entry(arcname, source, distribution.name, len(data), False, data))
        else:
            entry = _entry(arcname, source, distribution.name, problems, "")
            if entry is not None:
                entries.append(entry)
    return tuple(entries), tuple(problems)


@functools.lru_cache(maxsize=1024)
def shipped_record(distribution: Distribution) -> bytes:
    """RECORD listing exactly what ships: the installed one names scripts in `bin/` whose
    shebangs hold the virtualenv's path (zips would differ from one venv to another), and
    an editable install's names its hooks rather than the source files that ship."""
    info = distribution.location.name
    shipped = {f.arcname for f in distribution.files} - {f"{info}/RECORD"}
    with (distribution.location / "RECORD").open(encoding="utf-8", newline="") as stream:
        rows = sorted(row for row in csv.reader(stream) if row and row[0] in shipped)
    if distribution.editable:
        listed = {row[0] for row in rows}
        for arcname, source in distribution_files(distribution):
            if arcname not in listed and arcname != f"{info}/RECORD":
                data = source.read_bytes()
                rows.append([arcname, record_hash(data), str(len(data))])
        rows.sort()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([*rows, [f"{info}/RECORD", "", ""]])
    return buffer.getvalue().encode("utf-8")


def first_party_files(
    function: Function,
    scan: Scan,
    site_root: Path,
    problems: list[Problem],
    warnings: list[Problem],
) -> Iterator[tuple[str, Path]]:
    """(arcname, source) of the function's own files: the modules it imports, the data
    files of its folder, and what `include` names."""
    for module in scan.modules:
        yield module.arcname, module.path
    if function.layout == "directory":
        for path in _walk(function.folder):
            if path.suffix not in {".py", ".pyc"}:
                yield path.relative_to(function.folder).as_posix(), path
    for pattern in function.settings.included_patterns(site_root):
        for path in _included(pattern, site_root, function, problems, warnings):
            base = function.folder if path.is_relative_to(function.folder) else site_root
            if function.layout == "file" and base == function.folder:
                base = site_root
            yield path.relative_to(base).as_posix(), path


def distribution_files(distribution: Distribution) -> Iterator[tuple[str, Path]]:
    """(arcname, source) of every file a distribution ships; editable ones from their source."""
    if not distribution.editable:
        for file in distribution.files:
            yield file.arcname, file.source
        return
    info = distribution.location.name + "/"
    for file in distribution.files:
        if file.arcname.startswith(info):
            yield file.arcname, file.source
    for module, source in distribution.editable_sources:
        prefix = module.replace(".", "/")
        if source.is_file():
            yield f"{prefix}{source.suffix}", source
            continue
        for path in _walk(source):
            if path.suffix != ".pyc":
                yield f"{prefix}/{path.relative_to(source).as_posix()}", path


def _skipped(relative: Path) -> bool:
    """Bytecode, caches and hidden files never ship, however they are named."""
    if relative.suffix in {".pyc", ".pyo"}:
        return True
    return any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative.parts)


def _walk(folder: Path) -> Iterator[Path]:
    """Files under `folder` in sorted order, without caches, hidden files or virtualenvs.

    Linked folders are followed (a shared templates folder linked into a function ships),
    each real folder once, so a link loop ends.
    """
    seen: set[str] = set()
    for directory, subdirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:
            subdirs[:] = []
            continue
        seen.add(real)
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and not name.endswith((".pyc", ".pyo")):
                yield Path(directory, name)


def _included(
    pattern: str,
    site_root: Path,
    function: Function,
    problems: list[Problem],
    warnings: list[Problem],
) -> Iterator[Path]:
    source = function.settings.source
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        problems.append(
            Problem(
                f"include pattern {pattern!r} leaves the site root",
                file=source,
                function=function.name,
                hint="use a path relative to the site root, inside it",
            )
        )
        return
    matches = sorted(site_root.glob(pattern))
    if not matches:
        warnings.append(
            Problem(
                f"include pattern {pattern!r} matches no file",
                file=source,
                function=function.name,
                hint="fix the pattern or remove it",
                severity="warning",
            )
        )
    root = site_root.resolve()
    for match in matches:
        if not match.resolve().is_relative_to(root):
            problems.append(
                Problem(
                    f"include pattern {pattern!r} reaches {match}, outside the site root "
                    "through a link",
                    file=source,
                    function=function.name,
                    hint="copy the file into the site instead",
                )
            )
        elif match.is_dir():
            yield from _walk(match)
        elif match.is_file() and not _skipped(match.relative_to(site_root)):
            yield match


def _entry(
    arcname: str, source: Path, owner: str, problems: list[Problem], function: str
) -> Entry | None:
    try:
        info = source.stat()
    except OSError as error:
        what = f"distribution {owner}" if owner else "the function"
        problems.append(
            Problem(
                f"cannot read a file of {what}: {error.strerror}",
                file=source,
                function=function,
                hint=_unreadable_hint(error, owner),
            )
        )
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.append(
            Problem(
                "not a regular file (a pipe, socket or device cannot ship in a zip)",
                file=source,
                function=function,
                hint="remove it from the function's folder or the include patterns",
            )
        )
        return None
    if not os.access(source, os.R_OK):
        problems.append(
            Problem(
                "cannot read this file: permission denied",
                file=source,
                function=function,
                hint="make it readable (chmod a+r)",
            )
        )
        return None
    executable = bool(info.st_mode & stat.S_IXUSR)
    return Entry(arcname, source, owner, info.st_size, executable)


def _unreadable_hint(error: OSError, owner: str) -> str:
    if error.errno == errno.ELOOP or (error.errno == errno.ENOENT and not owner):
        return "remove or fix the link, or the file"
    return "reinstall the distribution" if owner else "check the file's permissions"


def _clash(first: Entry, second: Entry, function: str, site_root: Path) -> Problem:
    def who(entry: Entry) -> str:
        if entry.owner:
            return f"distribution {entry.owner}"
        return f"first-party {display_path(entry.source, site_root)}"

    return Problem(
        f"two files want the same place {first.arcname!r} in the zip: {who(first)} and "
        f"{who(second)}",
        file=second.source if not second.owner else first.source,
        function=function,
        hint="rename the first-party module so it does not shadow the distribution",
    )
