"""What goes in a function's zip: its own code, its included files, whole distributions."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bundler.analysis.resolve import Resolution
from bundler.analysis.scan import Scan
from bundler.environment.distributions import Distribution, Environment
from bundler.errors import BundlerError, Problem, display_path
from bundler.files import open_shipped, record_hash
from bundler.pack.first_party import first_party_entries
from bundler.project.discover import Function
from bundler.project.patterns import FilePattern, IncludeEntry, parse_pattern
from bundler.project.shippable import Root, admit, walk_files

FIRST_PARTY = ""


@dataclass(frozen=True, kw_only=True)
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
    dropped: tuple[tuple[str, Entry], ...] = ()  # (pattern, file) `exclude` left out

    def dropped_by_pattern(self) -> dict[str, tuple[int, int]]:
        """Files and bytes each `exclude` pattern kept out of the zip."""
        found: dict[str, tuple[int, int]] = {}
        for pattern, entry in self.dropped:
            files, size = found.get(pattern, (0, 0))
            found[pattern] = (files + 1, size + entry.size)
        return found

    @property
    def unzipped(self) -> int:
        """The bytes of every entry once unzipped."""
        return sum(e.size for e in self.entries)

    def bytes_by_owner(self) -> dict[str, int]:
        """Unzipped bytes per owner (a distribution, or FIRST_PARTY)."""
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
    """The files of `function`'s zip; raises with every clash, unreadable file and file
    that a link takes out of its root.

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

    for arcname, real, info in first_party_entries(function, scan, site_root, problems, warnings):
        claim(
            Entry(
                arcname=arcname,
                source=real,
                owner=FIRST_PARTY,
                size=info.st_size,
                executable=_executable(info),
            )
        )
    exclusions = file_exclusions(function.settings.excluded_files, function.settings.source)
    dropped: list[tuple[str, Entry]] = []
    for resolved in resolution.distributions:
        distribution = environment.distributions[resolved.name]
        found = memo.get(distribution.location) if memo is not None else None
        if found is None:
            found = distribution_entries(distribution)
            if memo is not None:
                memo[distribution.location] = found  # a path hashes once; a dataclass each time
        entries, own = found
        problems += [p.for_function(function.name) for p in own]
        if exclusions and entries:
            entries, gone = _drop_files(distribution, entries, exclusions, function.name, problems)
            dropped += gone
        for entry in entries:
            claim(entry)
    if problems:
        raise BundlerError(*problems)
    kept = tuple(claimed[name] for name in sorted(claimed))
    return Contents(kept, tuple(warnings), tuple(dropped))


def file_exclusions(patterns: Sequence[str], source: Path | None) -> list[FilePattern]:
    """`exclude` file patterns, matched against paths in site-packages; one without a `/`
    matches a name at any depth (`*.pyi`), as in `.gitignore`."""
    found = []
    for text in patterns:
        anywhere = text if "/" in text.rstrip("/") else f"**/{text}"
        parsed = parse_pattern(IncludeEntry(anywhere, source, "exclude"))
        if isinstance(parsed, FilePattern):
            found.append(dataclasses.replace(parsed, entry=IncludeEntry(text, source, "exclude")))
    return found


def _drop_files(
    distribution: Distribution,
    entries: tuple[Entry, ...],
    exclusions: Sequence[FilePattern],
    function: str,
    problems: list[Problem],
) -> tuple[tuple[Entry, ...], list[tuple[str, Entry]]]:
    """`entries` without the files `exclusions` match (never its `.dist-info`), with a
    RECORD that lists exactly what is left; and each dropped file with its pattern."""
    info = distribution.location.name + "/"
    kept: list[Entry] = []
    dropped: list[tuple[str, Entry]] = []
    for entry in entries:
        names = tuple(entry.arcname.split("/"))
        hit = (
            None
            if entry.arcname.startswith(info)
            else next((p for p in exclusions if p.matches(names)), None)
        )
        if hit is None:
            kept.append(entry)
        else:
            dropped.append((hit.text, entry))
    if not dropped:
        return entries, []
    if all(e.arcname.startswith(info) for e in kept):
        listed = ", ".join(f'"{p.text}"' for p in exclusions)
        problems.append(
            Problem(
                f"the exclude patterns {listed} drop every file of {distribution.display_name}, "
                "which a function needs",
                file=exclusions[0].entry.file,
                function=function,
                hint=f"exclude the distribution by name ({distribution.display_name}) if the "
                "runtime provides it, or narrow the pattern",
            )
        )
        return (), []
    record = f"{info}RECORD"
    if any(e.arcname == record for e in kept):
        kept = _with_shipped_record(distribution, kept, record)
    return tuple(kept), dropped


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
    for arcname, source, root in _distribution_sources(distribution, problems):
        admitted = admit(source, root, distribution.name, "", problems)
        if admitted is not None:
            real, info = admitted
            entries.append(
                Entry(
                    arcname=arcname,
                    source=real,
                    owner=distribution.name,
                    size=info.st_size,
                    executable=_executable(info),
                )
            )
    if problems:
        return (), tuple(problems)
    if not any(e.arcname == record for e in entries):
        return tuple(entries), ()  # a RECORD that does not list itself: nothing to rewrite
    return tuple(_with_shipped_record(distribution, entries, record)), ()


def _with_shipped_record(
    distribution: Distribution, entries: Sequence[Entry], record: str
) -> list[Entry]:
    """`entries` with the RECORD at `record` replaced by one listing exactly them."""
    data = shipped_record(distribution, entries)
    return [
        Entry(
            arcname=e.arcname,
            source=e.source,
            owner=e.owner,
            size=len(data),
            executable=False,
            data=data,
        )
        if e.arcname == record
        else e
        for e in entries
    ]


def shipped_record(distribution: Distribution, entries: Sequence[Entry]) -> bytes:
    """RECORD listing exactly what ships (`entries`, admitted): the installed one names
    scripts in `bin/` whose shebangs hold the virtualenv's path (zips would differ from one
    venv to another), and an editable install's names its hooks rather than the source
    files that ship."""
    info = distribution.location.name
    shipped = {e.arcname: e for e in entries}
    installed = shipped.pop(f"{info}/RECORD")
    if installed.data is not None:  # rewritten already: files are being dropped from it
        text = installed.data.decode("utf-8")
    else:
        with open_shipped(installed.source, installed.size) as stream:
            text = stream.read().decode("utf-8")
    rows = sorted(
        row for row in csv.reader(io.StringIO(text, newline="")) if row and row[0] in shipped
    )
    if distribution.editable:
        listed = {row[0] for row in rows}
        for arcname, entry in shipped.items():
            if arcname not in listed:
                with open_shipped(entry.source, entry.size) as stream:
                    data = stream.read()
                rows.append([arcname, record_hash(data), str(len(data))])
        rows.sort()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([*rows, [f"{info}/RECORD", "", ""]])
    return buffer.getvalue().encode("utf-8")


def distribution_files(distribution: Distribution) -> Iterator[tuple[str, Path]]:
    """(arcname, source) of every file a distribution ships; editable ones from their source.

    Unchecked: `distribution_entries` says which of them may ship.
    """
    for arcname, source, _root in _distribution_sources(distribution, []):
        yield arcname, source


def _distribution_sources(
    distribution: Distribution, problems: list[Problem]
) -> Iterator[tuple[str, Path, Root]]:
    """(arcname, source, the root it must stay in) of every file a distribution ships."""
    name = distribution.display_name
    site = Root(
        distribution.location.parent,
        f"the site-packages folder of {name}",
        f"reinstall {name} so that its files are copied into the environment, not linked "
        "(uv: UV_LINK_MODE=copy)",
    )
    info = distribution.location.name + "/"
    for file in distribution.files:
        if not distribution.editable or file.arcname.startswith(info):
            yield file.arcname, file.source, site
    for module, source in distribution.editable_sources:
        prefix = module.replace(".", "/")
        is_folder = os.path.isdir(source)
        root = Root(
            source if is_folder else source.parent,
            f"the source folder of editable {name} ({source if is_folder else source.parent})",
            "copy it into the project instead of linking to it",
        )
        if not is_folder:
            yield f"{prefix}{source.suffix}", source, root
            continue
        for path in walk_files(source, root, problems, ""):
            yield f"{prefix}/{path.relative_to(source).as_posix()}", path, root


def _executable(info: os.stat_result) -> bool:
    return bool(info.st_mode & stat.S_IXUSR)


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
