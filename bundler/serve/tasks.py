"""What is served is what will deploy: every function built by `bundle build`'s own build
(same cache), into serve's own folder, each zip unzipped into a task root of its own.

A task root is named by the zip's sha256, so an unchanged function keeps its folder (and a
changed one gets a new folder while the old one still serves the requests in flight). Its
files are made read-only, as on Lambda; the workers' mount namespace makes the whole
folder read-only even for root.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bundler.analysis.session import Progress
from bundler.build import build
from bundler.errors import Problem
from bundler.files import build_folder_atomically
from bundler.project.discover import Function
from bundler.results import BuildOptions, BuildResult, FunctionBuild

SERVE_FOLDER = Path("serve")


@dataclass(frozen=True, kw_only=True)
class Served:
    """One function as it is served: its task root, or the problems that stopped its build."""

    name: str
    function: Function | None
    task_root: Path | None
    sha256: str | None
    problems: tuple[Problem, ...]
    excluded: tuple[str, ...] = ()  # distributions its settings leave out of the zip
    sources: tuple[Path, ...] = ()  # the site's files its zip holds (for the watcher)

    @property
    def ok(self) -> bool:
        """Whether the function has a task root to run from."""
        return self.task_root is not None

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity error."""
        return tuple(p for p in self.problems if p.severity == "error")


@dataclass(frozen=True)
class SiteBuild:
    """One build of the whole site, ready to serve."""

    result: BuildResult
    functions: Mapping[str, Served]


def build_site(
    root: Path,
    functions_dir: Path | None,
    python: Path | None,
    cache: Path,
    progress: Progress | None = None,
) -> SiteBuild:
    """Build every function (unchanged ones come from the cache) and unzip the new zips.

    Raises what `build` raises for the site as a whole (a bad --python, bad settings)."""
    out = cache / SERVE_FOLDER / "dist"
    result = build(
        root, functions_dir, out, python, progress=progress, options=BuildOptions(cache_dir=cache)
    )
    served = {b.name: _served(b, root, cache) for b in result.builds}
    return SiteBuild(result, served)


def _served(built: FunctionBuild, root: Path, cache: Path) -> Served:
    function, bundle = built.function, built.bundle
    if function is None or bundle is None:
        return Served(
            name=built.name, function=function, task_root=None, sha256=None, problems=built.problems
        )
    task_root = unzip_task_root(cache, built.name, bundle.path, bundle.sha256)
    left_out = built.resolution.left_out if built.resolution else {}
    excluded = tuple(sorted(n for n, why in left_out.items() if why.startswith("excluded")))
    with zipfile.ZipFile(bundle.path) as archive:
        members = [m for m in archive.namelist() if not m.endswith("/")]
    sources = []
    for member in members:
        for candidate in (function.folder / member, root / member):
            if candidate.is_file():
                sources.append(candidate)
                break
    return Served(
        name=built.name,
        function=function,
        task_root=task_root,
        sha256=bundle.sha256,
        problems=built.problems,
        excluded=excluded,
        sources=tuple(sources),
    )


def unzip_task_root(cache: Path, name: str, zip_path: Path, sha256: str) -> Path:
    """The task root of this zip, unzipped when it does not exist yet."""
    folder = cache / SERVE_FOLDER / "tasks" / f"{name}-{sha256[:16]}"
    if folder.is_dir():
        return folder
    # the task root is read-only: what is left of it is removed with remove_tree
    with build_folder_atomically(folder, f".{folder.name}.", remove=remove_tree) as pending:
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                target = Path(archive.extract(info, pending.path))
                mode = (info.external_attr >> 16) & 0o777
                if not info.is_dir():
                    executable = mode & 0o111
                    target.chmod(0o555 if executable else 0o444)
        for directory, _dirs, _files in os.walk(pending.path):
            Path(directory).chmod(0o555)
    return folder


def remove_tree(path: Path) -> None:
    """Remove a task root (its folders are read-only: make them writable first)."""
    if not path.exists():
        return
    for directory, _dirs, _files in os.walk(path):
        Path(directory).chmod(stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=True)
