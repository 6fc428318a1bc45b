"""Inspection: is a built zip the one its manifest entry and its shipped RECORDs describe?

`bundle verify` asks before it extracts or imports anything; `bundle audit` reads the same
RECORDs to know which distribution owns each member.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.files import file_sha256, record_hash
from bundler.manifest.document import MANIFEST_NAME, ManifestFunction

_RECORD = re.compile(r"[^/]+\.dist-info/RECORD")
# what reading a damaged zip raises: its directory, a member's deflate stream or its CRC
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError)


@dataclass(frozen=True)
class ShippedRecord:
    """One distribution's RECORD inside a zip: `(path, hash, size)` rows as written."""

    folder: str  # `name-version.dist-info`
    owner: str  # canonical distribution name
    version: str
    rows: tuple[tuple[str, str, str], ...]


def zip_records(archive: zipfile.ZipFile) -> list[ShippedRecord]:
    """The RECORD of every distribution in `archive`, sorted; BadZipFile when one is
    not a RECORD (not UTF-8, not CSV): a zip the bundler wrote never holds such a file."""
    records = []
    for name in sorted(n for n in archive.namelist() if _RECORD.fullmatch(n)):
        folder = name.split("/", 1)[0]
        project, _, version = folder[: -len(".dist-info")].rpartition("-")
        try:
            text = archive.read(name).decode("utf-8")
            rows = tuple((r[0], r[1], r[2]) for r in csv.reader(io.StringIO(text)) if r)
        except (UnicodeDecodeError, csv.Error, IndexError) as error:
            raise zipfile.BadZipFile(f"{name} is not a valid RECORD ({error})") from None
        owner = canonicalize_name(project or version)
        records.append(ShippedRecord(folder, owner, version if project else "", rows))
    return records


def zip_difference(path: Path, entry: ManifestFunction) -> str | None:
    """What differs between the zip at `path` and what was built, or None.

    The zip against its manifest entry (size, then sha256), then every member that a
    shipped RECORD lists against its hash there, so the answer names the file that
    differs: the zip itself, or `pkg/mod.py` in distribution X.
    """
    size = path.stat().st_size
    if size != entry.zipped_size:
        return (
            f"{path.name} is {size:,} bytes, and {MANIFEST_NAME} says {entry.zipped_size:,}: "
            "it changed after the build"
        )
    if file_sha256(path) != entry.sha256:
        return (
            f"{path.name} does not match its sha256 in {MANIFEST_NAME}: it changed after the build"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return _record_difference(archive, path.name)
    except DAMAGED as error:
        return f"{path.name} is not a readable zip: {error}"


def _record_difference(archive: zipfile.ZipFile, zip_name: str) -> str | None:
    names = set(archive.namelist())
    for record in zip_records(archive):
        where = f"distribution {record.owner}"
        for member, expected, _size in record.rows:
            if not expected:
                continue  # RECORD itself
            if member not in names:
                return f"{member} of {where} is listed in its RECORD but missing from {zip_name}"
            if record_hash(archive.read(member)) != expected:
                return f"{member} in {where} does not match its RECORD hash in {zip_name}"
    return None
