"""Editable installs: where their modules really live (a finder's MAPPING or `.pth` folders)."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importlib.metadata costs 30 ms at start: imported where used
    from importlib.metadata import Distribution as Distribution_


def is_editable(found: Distribution_) -> bool:
    """Whether the distribution's direct_url.json says it was installed editable."""
    text = found.read_text("direct_url.json")
    if not text:
        return False
    try:
        info = json.loads(text)
    except ValueError:
        return False
    return bool(info.get("dir_info", {}).get("editable"))


def editable_sources(found: Distribution_, site: Path) -> tuple[tuple[str, Path], ...]:
    """(module, source path) of an editable install: a finder's MAPPING or `.pth` folders."""
    sources: dict[str, Path] = {}
    top_level = set((found.read_text("top_level.txt") or "").split())
    for record in found.files or ():
        arcname = record.as_posix()
        if "/" in arcname or not arcname.endswith(".pth"):
            continue
        try:
            lines = (site / arcname).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("import "):
                finder = line.split()[1].rstrip(";")
                sources.update(_finder_mapping(site / f"{finder}.py"))
            else:
                folder = Path(line) if os.path.isabs(line) else site / line
                sources.update(_folder_modules(folder, top_level))
    return tuple(sorted(sources.items()))


def _finder_mapping(path: Path) -> dict[str, Path]:
    """setuptools' editable finder keeps `MAPPING = {module: path}` as a literal."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]  # setuptools 70+: `MAPPING: dict[str, str] = {...}`
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "MAPPING" for t in targets):
            try:
                mapping = ast.literal_eval(node.value)  # type: ignore[arg-type]
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                return {}
            return (
                {str(k): Path(v) for k, v in mapping.items()} if isinstance(mapping, dict) else {}
            )
    return {}


def _folder_modules(folder: Path, top_level: set[str]) -> dict[str, Path]:
    """Top-level modules in a folder that an editable `.pth` puts on `sys.path`."""
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        name = entry.stem if entry.suffix == ".py" else entry.name
        if not name.isidentifier() or (top_level and name not in top_level):
            continue
        is_module = entry.suffix == ".py" and entry.is_file()
        if is_module or (entry / "__init__.py").is_file():
            found[name] = entry
    return found
