"""The conductor: discover -> scan -> resolve -> check -> pack -> manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.analysis import Progress, Site, Step, analyse_function
from bundler.check import check_unzipped, check_zipped
from bundler.contents import Contents, collect_contents
from bundler.discover import Function
from bundler.environment import Environment
from bundler.errors import BundlerError, Problem, UsageError
from bundler.manifest import read_manifest_names, write_manifest
from bundler.pack import Bundle, write_zip
from bundler.resolve import Resolution


@dataclass(frozen=True)
class FunctionBuild:
    """The outcome for one function: a bundle, or the problems that stopped it."""

    name: str
    function: Function | None = None
    bundle: Bundle | None = None
    resolution: Resolution | None = None
    contents: Contents | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.bundle is not None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


@dataclass(frozen=True)
class BuildResult:
    """Everything a build produced, for the manifest, the summary and `--json`."""

    site: Path
    functions_dir: Path
    out: Path
    environment: Environment
    builds: tuple[FunctionBuild, ...]
    warnings: tuple[Problem, ...]
    manifest: Path

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.builds)


def build(
    site: Path,
    functions_dir: Path | None = None,
    out: Path | None = None,
    python: Path | None = None,
    progress: Progress | None = None,
    step: Step | None = None,
) -> BuildResult:
    """Build every function of `site`; a failing function never stops the others.

    `progress(message)` hears what is going on; `step(done, total)` after each function.
    """
    say = progress or (lambda _message: None)
    root = site.resolve()
    out = (root / (out or Path("dist", "functions"))).resolve()
    opened = Site.open(root, functions_dir, python, progress)
    _check_out(out, root, opened.functions_dir.resolve())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError.of(
            f"cannot create the output folder {out}: {error.strerror}",
            hint="choose a folder that can be created, e.g. --out dist/functions",
        ) from None
    previous = read_manifest_names(out)

    builds: list[FunctionBuild] = []
    functions = opened.discovery.functions
    if step:
        step(0, len(functions))
    for function in functions:
        say(f"building {function.name}")
        builds.append(_build_function(opened, function, out))
        if step:
            step(len(builds), len(functions))
    builds += [
        FunctionBuild(name, problems=problems)
        for name, problems in opened.discovery.failures.items()
    ]
    builds.sort(key=lambda b: b.name)
    built = {b.name for b in builds if b.ok}
    for stale in (previous | {b.name for b in builds}) - built:
        (out / f"{stale}.zip").unlink(missing_ok=True)  # failed or removed: no stale zip
    manifest = write_manifest(out, builds, opened.environment, root)
    return BuildResult(
        site=root,
        functions_dir=opened.functions_dir,
        out=out,
        environment=opened.environment,
        builds=tuple(builds),
        warnings=opened.warnings + _unused_declarations(opened, builds),
        manifest=manifest,
    )


def _build_function(site: Site, function: Function, out: Path) -> FunctionBuild:
    warnings: list[Problem] = []
    try:
        analysis = analyse_function(site, function)
        warnings += analysis.warnings
        resolution = analysis.resolution
        contents = collect_contents(
            function, analysis.scan, resolution, site.environment, site.root
        )
        warnings += contents.warnings
        warnings += check_unzipped(contents, function.name, function.main_file)

        def check(zipped: int) -> None:
            warnings.extend(check_zipped(zipped, contents, function.name, function.main_file))

        bundle = write_zip(contents, out / f"{function.name}.zip", check=check)
    except BundlerError as error:
        problems = tuple(_owned(p, function.name) for p in error.problems)
        return FunctionBuild(function.name, function, problems=tuple(warnings) + problems)
    return FunctionBuild(
        function.name,
        function,
        bundle,
        resolution,
        contents,
        tuple(_owned(p, function.name) for p in warnings),
    )


def _unused_declarations(site: Site, builds: list[FunctionBuild]) -> tuple[Problem, ...]:
    """Direct runtime dependencies that no function ships (only when every function built)."""
    if not builds or not all(b.ok for b in builds):
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


def _owned(problem: Problem, function: str) -> Problem:
    if problem.function:
        return problem
    return Problem(
        problem.message, problem.file, problem.line, function, problem.hint, problem.severity
    )


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
