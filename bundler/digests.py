"""The two hashes the bundler writes: a file's sha256 (manifest, cache) and a RECORD entry's."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

_CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def record_hash(data: bytes) -> str:
    """`sha256=<urlsafe base64, unpadded>`, as a wheel's RECORD writes it (PEP 376/427)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()
