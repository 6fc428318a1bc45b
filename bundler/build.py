"""The conductor: discover -> scan -> resolve -> check -> pack -> manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bundler.check import check_unzipped, check_zipped
from bundler.config import DEFAULT_FUNCTIONS_DIR, SiteConfig
from bundler.contents import Contents, collect_contents
from bundler.discover import Function, discover_functions
from bundler.environment import Environment, Interpreter, default_python, python_in
from bundler.errors import BundlerError, Problem, UsageError
from bundler.manifest import read_manifest_names, write_manifest
from bundler.pack import Bundle, write_zip
from bundler.resolve import Declarations, Resolution, resolve_function
from bundler.scan import scan_function

Progress = Callable[[str], None]


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
) -> BuildResult:
    """Build every function of `site`; a failing function never stops the others."""
    say = progress or (lambda _message: None)
    site = site.resolve()
    config = SiteConfig.from_root(site)
    directory = site / (functions_dir or config.functions_dir or DEFAULT_FUNCTIONS_DIR)
    out = (site / (out or Path("dist", "functions"))).resolve()
    _check_out(out, site, directory.resolve())
    interpreter = Interpreter.from_executable(python_in(python) if python else default_python(site))
    say(f"environment: {interpreter.executable} (Python {'.'.join(map(str, interpreter.version))})")
    environment = Environment.from_interpreter(interpreter)
    declarations = Declarations.from_config(config, environment)
    discovery = discover_functions(directory, config)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError.of(
            f"cannot create the output folder {out}: {error.strerror}",
            hint="choose a folder that can be created, e.g. --out dist/functions",
        ) from None
    previous = read_manifest_names(out)

    builds: list[FunctionBuild] = []
    for function in discovery.functions:
        say(f"building {function.name}")
        builds.append(_build_function(function, site, out, environment, declarations))
    builds += [
        FunctionBuild(name, problems=problems) for name, problems in discovery.failures.items()
    ]
    builds.sort(key=lambda b: b.name)
    built = {b.name for b in builds if b.ok}
    for stale in (previous | {b.name for b in builds}) - built:
        (out / f"{stale}.zip").unlink(missing_ok=True)  # failed or removed: no stale zip
    manifest = write_manifest(out, builds, environment, site)
    return BuildResult(
        site=site,
        functions_dir=directory,
        out=out,
        environment=environment,
        builds=tuple(builds),
        warnings=config.warnings + environment.warnings + discovery.warnings,
        manifest=manifest,
    )


def _build_function(
    function: Function,
    site: Path,
    out: Path,
    environment: Environment,
    declarations: Declarations,
) -> FunctionBuild:
    warnings: list[Problem] = []
    try:
        scan = scan_function(function.main_file, [function.folder, site])
        warnings += scan.warnings
        resolution = resolve_function(
            scan, function.settings, environment, declarations, function.name, site
        )
        warnings += resolution.warnings
        contents = collect_contents(function, scan, resolution, environment, site)
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
