"""Installed distributions written by hand: what pip leaves for `pip install -e`, plain
packages, and the contents the hard-case wheels of conftest.py carry (tests compare them)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from support import write_tree

PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
NATIVE_LIBRARY = b"\x7fELF\x02\x01\x01\x00not-really-a-library"


class EditableEnv(NamedTuple):
    """A virtualenv with two projects installed by `pip install -e`."""

    python: Path
    src_project: Path
    flat_project: Path


def write_editable(site: Path, name: str, project: Path, hooks: Mapping[str, str]) -> None:
    """A `.dist-info` as pip writes it for `pip install -e`, plus the hook files at the top.

    `hooks` maps file name -> text: the `.pth` file and, for setuptools' finder, its module.
    """
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "top_level.txt").write_text(f"{name}pkg\n")
    direct_url = {"url": project.as_uri(), "dir_info": {"editable": True}}
    (info / "direct_url.json").write_text(json.dumps(direct_url))
    for hook, text in hooks.items():
        (site / hook).write_text(text)
    record = [f"{name}-1.0.dist-info/{f}" for f in ("METADATA", "top_level.txt", "direct_url.json")]
    (info / "RECORD").write_text(
        "\n".join([*hooks, *record, f"{name}-1.0.dist-info/RECORD"]) + "\n"
    )


def write_package(root: Path, package: str) -> Path:
    """`root/package/` with an `__init__.py`, a data file and a cache to be skipped."""
    write_tree(
        root / package,
        {
            "__init__.py": "VALUE = 1\n",
            "data.txt": "data\n",
            "__pycache__/__init__.cpython-311.pyc": b"\x00cache",
            ".hidden": "secret\n",
        },
    )
    return root
