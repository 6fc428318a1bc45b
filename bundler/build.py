"""The conductor: discover -> scan -> resolve -> check -> pack -> manifest."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.analysis.resolve import Resolution
from bundler.analysis.session import Analysis, Progress, Site, Step, analyse_function
from bundler.cache.entries import BuildCache, CachedBuild
from bundler.cache.index import FunctionIndex
from bundler.errors import BundlerError, Problem, UsageError
from bundler.manifest.document import MANIFEST_NAME
from bundler.manifest.reader import read_manifest
from bundler.manifest.writer import write_manifest
from bundler.pack.contents import Contents, DistributionEntries, collect_contents
from bundler.pack.destinations import (
    check_output_folder,
    claim_output_folder,
    function_fault,
    output_problem,
)
from bundler.pack.first_party import first_party_files
from bundler.pack.fit import Fitter
from bundler.pack.limits import check_unzipped, check_zipped
from bundler.pack.packer import Packer
from bundler.pack.pipeline import Packing, pack_all
from bundler.project.declarations_read import no_declarations
from bundler.project.discover import Function
from bundler.results import BuildOptions, BuildResult, FunctionBuild
from bundler.store.folder import CacheFolder


def build(
    site: Path,
    functions_dir: Path | None = None,
    out: Path | None = None,
    python: Path | None = None,
    progress: Progress | None = None,
    step: Step | None = None,
    options: BuildOptions | None = None,
) -> BuildResult:
    """Build every function of `site`; a failing function never stops the others.

    `progress(message)` hears what is going on; `step(done, total)` after each function.
    """
    say = progress or (lambda _message: None)
    options = options or BuildOptions()
    root = site.resolve()
    out = (root / (out or Path("dist", "functions"))).resolve()
    check_output_folder(out)  # before any work: nothing indexed yet, nothing created
    cache_dir = (options.cache_dir or root / ".bundle-cache") if options.use_cache else None
    opened = Site.open(
        root, functions_dir, python, progress, options.runtime, options.arch, cache_dir=cache_dir
    )
    _check_out(out, root, opened.functions_dir.resolve())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError.of(
            f"cannot create the output folder {out}: {error.strerror}",
            hint="choose a folder that can be created, e.g. --out dist/functions",
        ) from None
    with claim_output_folder(out):  # and sweep what killed builds left there
        return _build_into(out, root, opened, say, step, options, cache_dir)


def _build_into(
    out: Path,
    root: Path,
    opened: Site,
    say: Progress,
    step: Step | None,
    options: BuildOptions,
    cache_dir: Path | None,
) -> BuildResult:
    """The rest of `build`, holding `out`: every function, then the manifest."""
    previous, notes = _previous_names(out)
    folder = CacheFolder.open(cache_dir) if cache_dir else None  # never raises
    cache = BuildCache(folder, options.fingerprint()) if folder else None
    index = FunctionIndex(cache, opened) if cache else None
    fitter = Fitter(
        opened.target,
        fetch_wheels=not options.offline,
        cache=folder,
        compile_with=opened.environment.interpreter.executable if options.compile else None,
    )

    functions = [f for f in opened.discovery.functions if in_shard(f.name, options.shard)]
    failures = {n: p for n, p in opened.discovery.failures.items() if in_shard(n, options.shard)}
    builds: list[FunctionBuild] = [FunctionBuild(name=n, problems=p) for n, p in failures.items()]
    if step:
        step(0, len(functions))
    packer = Packer(folder)
    opened.use_cache(folder)
    memo: dict[Path, DistributionEntries] = {}  # each distribution's files, once
    jobs = options.jobs or os.cpu_count() or 1
    try:
        for function in functions:
            say(f"building {function.name}")
        prepare = [
            functools.partial(_build_function, opened, f, out, cache, index, fitter, packer, memo)
            for f in functions
        ]
        for done, result in enumerate(pack_all(packer.store, prepare, jobs), start=1):
            builds.append(result)
            if step:
                step(done, len(functions))
    finally:
        packer.close()  # writes this run's new blobs: the zips are complete already
        opened.close(folder)  # what it read from libraries and the site's files, kept
        if index is not None:
            index.close(f.name for f in opened.discovery.functions)
        fitter.close()
        if folder is not None:
            folder.close()
    cache_problems = folder.warnings if folder else ()  # one, if the cache was given up
    builds.sort(key=lambda b: b.name)
    built = {b.name for b in builds if b.ok}
    mine = {n for n in previous if in_shard(n, options.shard)}
    errors = _remove_stale_zips(out, (mine | {b.name for b in builds}) - built)
    manifest: Path | None = out / MANIFEST_NAME
    try:
        write_manifest(out, builds, opened.environment, root)
    except OSError as error:  # the zips are built: say so, never lose the report
        errors.append(output_problem(error, out / MANIFEST_NAME))
        manifest = None
    return BuildResult(
        site=root,
        functions_dir=opened.functions_dir,
        out=out,
        environment=opened.environment,
        builds=tuple(builds),
        warnings=opened.warnings
        + _unused_declarations(opened, builds, options.shard)
        + _undeclared_site(opened, builds)
        + cache_problems
        + tuple(notes),
        manifest=manifest,
        errors=tuple(errors),
        python_reason=opened.choice.reason if opened.choice else "",
        declaration_sources=opened.config.declarations.sources,
    )


def in_shard(name: str, shard: tuple[int, int] | None) -> bool:
    """Whether function `name` belongs to shard K of N: a stable hash of the name, so a
    function stays on its shard when others are added."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % count == index - 1


def _build_function(
    site: Site,
    function: Function,
    out: Path,
    cache: BuildCache | None,
    index: FunctionIndex | None,
    fitter: Fitter,
    packer: Packer,
    memo: dict[Path, DistributionEntries],
) -> FunctionBuild | Packing[FunctionBuild]:
    """Everything before the zip: the cached build, a failure, or what `_write` needs once
    the function's files are deflated (`pack_all` deflates them with other functions')."""
    warnings: list[Problem] = []
    destination = out / f"{function.name}.zip"
    if index is not None:  # nothing it read has changed: no need to read it again
        quick = index.lookup(function, destination)
        if quick is not None:
            return _from_cache(function, *quick)
    try:
        analysis = analyse_function(site, function)
        warnings += analysis.warnings
        resolution = analysis.resolution
        key = None
        sources: list[Path] = []
        if cache is not None:
            refused: list[Problem] = []  # a file that may not ship: no cache, collect says why
            sources = [
                p for _a, p in first_party_files(function, analysis.scan, site.root, refused, [])
            ]
            key = None if refused else cache.key(site, analysis, sources)
            found = None if key is None else cache.lookup(key, destination)
            if found is not None:
                if index is not None and key is not None:
                    index.record(function, analysis, key, sources, found[1])
                return _from_cache(function, found[0], resolution, tuple(warnings))
        environment, fitted = fitter.fit(site.environment, resolution)
        contents = collect_contents(
            function, analysis.scan, resolution, environment, site.root, memo
        )
        contents, notes = fitter.add_bytecode(contents)
        late = [*fitted, *contents.warnings, *notes]
        late += check_unzipped(contents, function.name, function.main_file)
    except (BundlerError, OSError) as error:
        return _failed(function, destination, warnings, error)
    pending = _Pending(function, destination, analysis, key, sources, contents, warnings, late)
    return Packing(contents, functools.partial(_write, pending, cache, index, packer))


@dataclasses.dataclass(frozen=True)
class _Pending:
    """A function analysed and listed, whose zip is still to write."""

    function: Function
    destination: Path
    analysis: Analysis
    key: str | None
    sources: list[Path]
    contents: Contents
    warnings: list[Problem]
    late: list[Problem]


def _write(
    pending: _Pending, cache: BuildCache | None, index: FunctionIndex | None, packer: Packer
) -> FunctionBuild:
    """Write the zip of a function whose files are deflated; store it in the cache."""
    function, contents, late = pending.function, pending.contents, pending.late

    def check(zipped: int) -> None:
        late.extend(check_zipped(zipped, contents, function.name, function.main_file))

    try:
        bundle = packer.write_zip(contents, pending.destination, check=check)
        sizes = contents.bytes_by_owner()
        dropped = contents.dropped_by_pattern()
        if cache is not None and pending.key is not None:
            entry = cache.store(pending.key, bundle, sizes, late, dropped)
            if index is not None:
                index.record(function, pending.analysis, pending.key, pending.sources, entry)
    except (BundlerError, OSError) as error:
        return _failed(function, pending.destination, pending.warnings, error)
    return FunctionBuild(
        name=function.name,
        function=function,
        bundle=bundle,
        resolution=pending.analysis.resolution,
        contents=contents,
        problems=tuple(p.for_function(function.name) for p in (*pending.warnings, *late)),
        sizes=sizes,
        dropped=dropped,
    )


def _failed(
    function: Function, destination: Path, warnings: list[Problem], error: Exception
) -> FunctionBuild:
    """The build of a function that failed: its warnings so far, then why."""
    if isinstance(error, BundlerError):
        problems = tuple(p.for_function(function.name) for p in error.problems)
        return FunctionBuild(
            name=function.name, function=function, problems=tuple(warnings) + problems
        )
    assert isinstance(error, OSError)  # disk full, read-only, a file gone: this function's
    problem = function_fault(error, destination).for_function(function.name)
    return FunctionBuild(name=function.name, function=function, problems=(*warnings, problem))


def _from_cache(
    function: Function,
    hit: CachedBuild,
    resolution: Resolution,
    warnings: tuple[Problem, ...],
) -> FunctionBuild:
    """The build of `function` that the cache holds, with the analysis's warnings."""
    return FunctionBuild(
        name=function.name,
        function=function,
        bundle=hit.bundle,
        resolution=resolution,
        problems=tuple(p.for_function(function.name) for p in (*warnings, *hit.warnings)),
        sizes=hit.sizes,
        cached=True,
        dropped=hit.dropped,
    )


def _unused_declarations(
    site: Site, builds: list[FunctionBuild], shard: tuple[int, int] | None
) -> tuple[Problem, ...]:
    """Direct runtime dependencies that no function ships (only when every function built)."""
    if shard is not None or not builds or not all(b.ok for b in builds):
        return ()
    shipped = {d.name for b in builds if b.resolution for d in b.resolution.distributions}
    found = []
    for declared in site.config.direct_runtime_requirements:
        name = canonicalize_name(declared.requirement.name)
        if name not in shipped and name in site.environment.distributions:
            found.append(
                Problem(
                    f"{declared.requirement.name} is a declared runtime dependency "
                    f"({declared.source}) that no function uses",
                    file=declared.file,
                    line=declared.line,
                    hint="remove it from the runtime dependencies, or move it to a dev group",
                    severity="warning",
                )
            )
    return tuple(found)


def _undeclared_site(site: Site, builds: list[FunctionBuild]) -> tuple[Problem, ...]:
    """Once per build: a site that declares nothing, when a function ships a distribution."""
    if site.config.declarations.sources:
        return ()
    if any(b.resolution and b.resolution.distributions for b in builds):
        return (no_declarations(site.root),)
    return ()


def _previous_names(out: Path) -> tuple[set[str], list[Problem]]:
    """The functions the last build into `out` listed: their zips are ours to replace."""
    path = out / MANIFEST_NAME
    if not os.path.lexists(path):
        return set(), []
    try:
        return set(read_manifest(path).names), []
    except BundlerError as error:
        hint = "delete the zips of functions that no longer exist: this build cannot tell them"
        return set(), [dataclasses.replace(error.problems[0], severity="warning", hint=hint)]


def _remove_stale_zips(out: Path, names: set[str]) -> list[Problem]:
    """Remove the zips of functions that failed or are gone: a deploy must not ship them."""
    problems = []
    for name in sorted(names):
        path = out / f"{name}.zip"
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            problems.append(
                Problem(
                    f"cannot remove the zip of {name}, which did not build: {error.strerror}",
                    file=path,
                    hint="delete it: a deploy must not ship a function that did not build",
                )
            )
    return problems


def _check_out(out: Path, site: Path, functions: Path) -> None:
    """Refuse an output folder that would swallow or overwrite the site's sources."""
    for what, folder in (("site root", site), ("functions folder", functions)):
        if out == folder or folder.is_relative_to(out):
            raise UsageError.of(
                f"the output folder {out} is or contains the {what}",
                hint="choose a folder of its own, e.g. --out dist/functions",
            )
    if out.is_relative_to(functions):
        raise UsageError.of(
            f"the output folder {out} is inside the functions folder",
            hint="choose a folder outside it, e.g. --out dist/functions",
        )
