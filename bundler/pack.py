"""Write deterministic zips: sorted entries, fixed times and modes, atomic renames."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bundler.contents import Contents

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_END = (2107, 12, 31, 23, 59, 58)  # the last time a zip's DOS date can hold
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Bundle:
    """A written zip: where it is, its bytes and its hash."""

    path: Path
    sha256: str
    zipped: int
    unzipped: int
    files: int


def zip_timestamp() -> tuple[int, int, int, int, int, int]:
    """1980-01-01, or SOURCE_DATE_EPOCH when set (reproducible-builds.org), within zip's range."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch or not epoch.strip().isdigit():
        return ZIP_EPOCH
    moment = time.gmtime(int(epoch))
    stamp = (
        moment.tm_year,
        moment.tm_mon,
        moment.tm_mday,
        moment.tm_hour,
        moment.tm_min,
        moment.tm_sec,
    )
    return min(max(stamp, ZIP_EPOCH), ZIP_END)


def write_zip(
    contents: Contents,
    destination: Path,
    *,
    check: Callable[[int], object] | None = None,
) -> Bundle:
    """Write `contents` to `destination` through a temporary file renamed into place.

    `check(zipped_size)` runs before the rename; if it raises, nothing is left behind.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    stamp = zip_timestamp()
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for entry in contents.entries:
                info = zipfile.ZipInfo(entry.arcname, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, so that the modes below are honoured
                mode = 0o755 if entry.executable else 0o644
                info.external_attr = (0o100000 | mode) << 16
                info.file_size = entry.size  # lets zipfile choose zip64 up front
                with archive.open(info, "w") as target:
                    if entry.data is not None:
                        target.write(entry.data)
                    else:
                        with entry.source.open("rb") as source:
                            shutil.copyfileobj(source, target, _CHUNK)
        zipped = os.path.getsize(temporary)
        if check is not None:
            check(zipped)
        digest = _sha256(Path(temporary))
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Bundle(destination, digest, zipped, contents.unzipped, len(contents.entries))


def write_text_atomically(destination: Path, text: str) -> None:
    """Write a text file through a temporary name renamed into place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()
