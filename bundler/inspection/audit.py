"""What each built zip weighs and why, read from the zips themselves (never the manifest alone).

Every member of a zip belongs to the distribution whose `*.dist-info/RECORD` lists it (the
dist-info folder belongs to it too); the rest is first-party code. Sizes come from the zip's
central directory: `file_size` (unzipped), `compress_size`, and each member's footprint in
the file (local header, data, descriptor and central directory entry), so that the parts
add up to the zip's own numbers byte for byte.
"""

from __future__ import annotations

import difflib
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from bundler.environment.runtime import RUNTIME_PROVIDED
from bundler.errors import Problem, UsageError
from bundler.files import file_sha256
from bundler.inspection.integrity import DAMAGED, zip_records
from bundler.manifest.document import MANIFEST_NAME, DroppedFiles, ManifestFunction
from bundler.manifest.reader import read_manifest
from bundler.pack.contents import FIRST_PARTY
from bundler.pack.limits import UNZIPPED_LIMIT, ZIPPED_LIMIT

Kind = Literal["native", "source", "data", "metadata"]
KINDS: tuple[Kind, ...] = ("native", "source", "data", "metadata")
LARGEST_COUNT = 10
_NATIVE = re.compile(r"\.(so(\.\d+)*|pyd|dylib)$")
_TESTS = frozenset({"tests", "test"})


@dataclass(frozen=True, kw_only=True)
class Member:
    """One file of a zip: its unzipped, compressed and on-disk (`zipped`) bytes."""

    name: str
    owner: str  # canonical distribution name, or FIRST_PARTY
    kind: Kind
    size: int
    compressed: int
    zipped: int


@dataclass(frozen=True)
class Weight:
    """Bytes of a group of members: how many, unzipped, compressed and on disk."""

    files: int
    size: int
    compressed: int
    zipped: int

    @classmethod
    def of(cls, members: Iterable[Member]) -> Weight:
        """The weight of `members` taken together."""
        chosen = list(members)
        return cls(
            len(chosen),
            sum(m.size for m in chosen),
            sum(m.compressed for m in chosen),
            sum(m.zipped for m in chosen),
        )


@dataclass(frozen=True, kw_only=True)
class DistributionShare:
    """One distribution in one zip: its weight, its share of the zip, who else ships it."""

    name: str
    version: str
    weight: Weight
    share: float  # of the function's unzipped bytes
    shipped_by: int  # functions of the manifest whose zip holds it


@dataclass(frozen=True)
class Saving:
    """A measured way to make a zip smaller; `action` is None when no setting does it."""

    title: str
    weight: Weight
    distributions: tuple[str, ...]
    action: str | None


@dataclass(frozen=True, kw_only=True)
class FunctionAudit:
    """Everything the audit knows about one function's zip."""

    name: str
    path: Path
    zipped: int  # the zip file's size
    members: tuple[Member, ...]  # sorted by size, biggest first
    distributions: tuple[DistributionShare, ...]  # sorted by size, biggest first
    savings: tuple[Saving, ...]
    dropped: tuple[DroppedFiles, ...] = ()  # what `exclude` file patterns kept out

    @property
    def unzipped(self) -> int:
        """The bytes of every member once unzipped."""
        return sum(m.size for m in self.members)

    @property
    def first_party(self) -> tuple[Member, ...]:
        """The members that are the site's own files."""
        return tuple(m for m in self.members if m.owner == FIRST_PARTY)

    @property
    def largest(self) -> tuple[Member, ...]:
        """The largest members, biggest first."""
        return self.members[:LARGEST_COUNT]

    def kinds(self) -> dict[Kind, Weight]:
        """The members' weight by kind: native, source, data, metadata."""
        return {k: Weight.of(m for m in self.members if m.kind == k) for k in KINDS}

    def shares(self) -> dict[str, float]:
        """Share of each Lambda limit: `zipped` of 50 MiB, `unzipped` of 250 MiB."""
        return {"zipped": self.zipped / ZIPPED_LIMIT, "unzipped": self.unzipped / UNZIPPED_LIMIT}


@dataclass(frozen=True, kw_only=True)
class SiteAudit:
    """The audited functions (biggest first), every function's distributions, problems."""

    out: Path
    functions: tuple[FunctionAudit, ...]
    names: tuple[str, ...]  # every function of the manifest, audited or not
    shipped_by: dict[str, tuple[str, ...]]  # distribution -> functions shipping it (all)
    problems: tuple[Problem, ...]


def audit_site(out: Path, names: Sequence[str] = ()) -> SiteAudit:
    """Audit the zips of `out/manifest.json`, or only the functions in `names`."""
    if not out.is_dir():
        raise UsageError.of(
            f"no output folder {out}",
            hint="run `bundle build` first (or pass --out with the folder it wrote)",
        )
    entries = read_manifest(out / MANIFEST_NAME).functions
    known = [e.name for e in entries]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            maybe = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError.of(
                f"no function named {name!r} in {out / MANIFEST_NAME}",
                hint=f"{maybe}known functions: {', '.join(sorted(known))}",
            )
    problems: list[Problem] = []
    read: dict[str, tuple[ManifestFunction, list[Member], dict[str, str]] | None] = {}
    for entry in entries:
        name = entry.name  # the name rule holds (read_manifest): a file name, never a path
        try:
            members, versions = read_members(out / entry.path)
        except (OSError, *DAMAGED) as error:
            read[name] = None
            if not names or name in names:
                reason = getattr(error, "strerror", None) or str(error)
                problems.append(
                    Problem(
                        f"cannot read the zip of function {name}: {reason}",
                        file=out / entry.path,
                        function=name,
                        hint="run `bundle build` again",
                    )
                )
            continue
        read[name] = (entry, members, versions)
    shipped_by: dict[str, list[str]] = {}
    for name, found in sorted(read.items()):
        owners = {m.owner for m in found[1]} if found else set()  # counts zips that hold it
        for owner in sorted(owners - {FIRST_PARTY}):
            shipped_by.setdefault(owner, []).append(name)
    audits = []
    for name, found in read.items():
        if found is None or (names and name not in names):
            continue
        entry, members, versions = found
        path = out / entry.path
        problems += _compare(entry, path, members)
        audits.append(_audit_function(name, path, entry, members, versions, shipped_by))
    audits.sort(key=lambda a: (-a.unzipped, a.name))
    shared = {k: tuple(v) for k, v in sorted(shipped_by.items())}
    return SiteAudit(
        out=out,
        functions=tuple(audits),
        names=tuple(sorted(known)),
        shipped_by=shared,
        problems=tuple(problems),
    )


def read_members(path: Path) -> tuple[list[Member], dict[str, str]]:
    """Members of the zip at `path` with their owners; and each distribution's version."""
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        owners, versions = _owners(archive, infos)
        footprints = _footprints(archive, archive.infolist())
    members = [
        Member(
            name=info.filename,
            owner=owners.get(info.filename, FIRST_PARTY),
            kind=kind_of(info.filename),
            size=info.file_size,
            compressed=info.compress_size,
            zipped=footprints[info.filename],
        )
        for info in infos
    ]
    members.sort(key=lambda m: (-m.size, m.name))
    return members, versions


def kind_of(name: str) -> Kind:
    """native (.so, .so.N, .pyd, .dylib), source (.py), metadata (in a .dist-info), data."""
    parts = name.split("/")
    if any(part.endswith(".dist-info") for part in parts[:-1]):
        return "metadata"
    if _NATIVE.search(parts[-1]):
        return "native"
    return "source" if parts[-1].endswith(".py") else "data"


def _owners(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]
) -> tuple[dict[str, str], dict[str, str]]:
    names = {info.filename for info in infos}
    owners: dict[str, str] = {}
    versions: dict[str, str] = {}
    for record in zip_records(archive):
        versions.setdefault(record.owner, record.version)
        for path, _hash, _size in record.rows:
            if path in names:
                owners.setdefault(path, record.owner)
        for name in names:
            if name.startswith(record.folder + "/"):
                owners.setdefault(name, record.owner)
    return owners, versions


def _footprints(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> dict[str, int]:
    """Bytes each member takes in the file: its local record (up to the next one) plus its
    central directory entry. The rest of the file is the end-of-central-directory record."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    ends = [i.header_offset for i in ordered[1:]] + [archive.start_dir]
    sizes: dict[str, int] = {}
    for info, end in zip(ordered, ends, strict=True):
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        name = len(info.filename.encode(encoding, errors="replace"))
        central = 46 + name + len(info.extra) + len(info.comment)
        sizes[info.filename] = sizes.get(info.filename, 0) + end - info.header_offset + central
    return sizes


def _audit_function(
    name: str,
    path: Path,
    entry: ManifestFunction,
    members: list[Member],
    versions: dict[str, str],
    shipped_by: dict[str, list[str]],
) -> FunctionAudit:
    listed: dict[str, str] = {canonicalize_name(d.name): d.version for d in entry.distributions}
    total = sum(m.size for m in members) or 1
    shares = []
    for owner in sorted({m.owner for m in members} - {FIRST_PARTY}):
        weight = Weight.of(m for m in members if m.owner == owner)
        version = listed.get(owner, versions.get(owner, ""))
        shares.append(
            DistributionShare(
                name=owner,
                version=version,
                weight=weight,
                share=weight.size / total,
                shipped_by=len(shipped_by.get(owner, ())),
            )
        )
    shares.sort(key=lambda d: (-d.weight.size, d.name))
    return FunctionAudit(
        name=name,
        path=path,
        zipped=path.stat().st_size,
        members=tuple(members),
        distributions=tuple(shares),
        savings=_savings(members, total),
        dropped=entry.dropped_files,
    )


def _savings(members: list[Member], total: int) -> tuple[Saving, ...]:
    savings = []
    provided = sorted({m.owner for m in members} & set(RUNTIME_PROVIDED))
    if provided:
        listed = ", ".join(f'"{n}"' for n in provided)
        savings.append(
            Saving(
                f"exclude {', '.join(provided)}: the Lambda Python runtime provides them "
                "(its versions may be older than yours)",
                Weight.of(m for m in members if m.owner in provided),
                tuple(provided),
                f"[tool.bundler] exclude = [{listed}]",
            )
        )
    tests = [m for m in members if m.owner and _TESTS & set(m.name.split("/")[:-1])]
    if tests and sum(m.size for m in tests) >= total * 0.01:
        owners = tuple(sorted({m.owner for m in tests}))
        savings.append(
            Saving(
                f"tests/ folders inside {', '.join(owners)}: the bundler ships whole "
                "distributions, so only a slimmer build of those packages or a layer avoids them",
                Weight.of(tests),
                owners,
                None,
            )
        )
    savings.sort(key=lambda s: -s.weight.size)
    return tuple(savings)


def _compare(entry: ManifestFunction, path: Path, members: list[Member]) -> list[Problem]:
    """The manifest's numbers against the zip's: any difference means the zip changed."""
    differences = []
    if file_sha256(path) != entry.sha256:
        differences.append("its sha256 differs")
    for key, listed, actual in (
        ("zippedSize", entry.zipped_size, path.stat().st_size),
        ("unzippedSize", entry.unzipped_size, sum(m.size for m in members)),
        ("files", entry.files, len(members)),
    ):
        if listed != actual:
            differences.append(f"{key} {actual} (the manifest says {listed})")
    if not differences:
        return []
    return [
        Problem(
            f"the zip does not match {MANIFEST_NAME}: {'; '.join(differences)}; it was changed "
            "after the build",
            file=path,
            function=entry.name,
            hint="run `bundle build` again",
        )
    ]
