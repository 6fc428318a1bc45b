"""A function's own files: the modules it imports, the data files of its folder, and what
its `include` patterns name, each admitted only if it stays inside the site."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from bundler.analysis.scan import Scan
from bundler.errors import Problem
from bundler.project.discover import Function
from bundler.project.patterns import FilePattern, parse_pattern, unmatched
from bundler.project.shippable import admit, search, walk_files, within_site


def first_party_files(
    function: Function,
    scan: Scan,
    site_root: Path,
    problems: list[Problem],
    warnings: list[Problem],
) -> Iterator[tuple[str, Path]]:
    """(arcname, real path) of the function's own files that may ship: the modules it
    imports, the data files of its folder, and what `include` names. What may not (it
    cannot be read, or a link takes it out of the site) is added to `problems`."""
    for arcname, real, _info in first_party_entries(function, scan, site_root, problems, warnings):
        yield arcname, real


def first_party_entries(
    function: Function,
    scan: Scan,
    site_root: Path,
    problems: list[Problem],
    warnings: list[Problem],
) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(arcname, real path, stat) of the function's own files that may ship: the modules
    it imports, the data files of its folder, and what `include` names (less what its
    exclusions drop); what may not is added to `problems`, unmatched patterns to `warnings`."""
    name = function.name
    root = within_site(site_root)
    patterns: list[FilePattern] = []
    for entry in function.settings.included_patterns(site_root):
        parsed = parse_pattern(entry)
        if isinstance(parsed, Problem):
            problems.append(parsed.for_function(name))
        else:
            patterns.append(parsed)
    exclusions = [p for p in patterns if p.excludes]
    used: set[FilePattern] = set()

    def kept(path: Path) -> bool:
        if not path.is_relative_to(site_root):
            return True
        names = path.relative_to(site_root).parts
        removed = [p for p in exclusions if p.excludes_path(names)]
        used.update(removed)
        return not removed

    def admitted(arcname: str, path: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
        found = admit(path, root, "", name, problems)
        if found is not None:
            yield arcname, *found

    for module in scan.modules:
        yield from admitted(module.arcname, module.path)
    if function.layout == "directory":
        for path in walk_files(function.folder, root, problems, name):
            if path.suffix != ".py" and kept(path):
                yield from admitted(path.relative_to(function.folder).as_posix(), path)
    for pattern in patterns:
        if pattern.excludes:
            continue
        matched = False
        for path in search(pattern, site_root, root, problems, name):
            matched = True
            if kept(path):
                base = function.folder if path.is_relative_to(function.folder) else site_root
                if function.layout == "file" and base == function.folder:
                    base = site_root
                yield from admitted(path.relative_to(base).as_posix(), path)
        if not matched:
            warnings.append(unmatched(pattern, name))
    warnings += [unmatched(p, name) for p in exclusions if p not in used]
