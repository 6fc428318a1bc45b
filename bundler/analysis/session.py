"""The analysis shared by `build`, `why` and `audit`: a site opened once, functions
scanned and resolved without writing anything."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bundler.analysis.file_scans import FileScans
from bundler.analysis.library_imports import LibraryIndex
from bundler.analysis.resolve import Declarations, Resolution, resolve_function
from bundler.analysis.roles import project_roots
from bundler.analysis.scan import Scan, scan_function
from bundler.environment.choice import PythonChoice, choose_python
from bundler.environment.distributions import Environment
from bundler.environment.interpreter import Interpreter
from bundler.environment.kept import KeptEnvironment, kept_file
from bundler.environment.targets import Target
from bundler.errors import BundlerError, Problem, UsageError, display_path
from bundler.project.config import DEFAULT_FUNCTIONS_DIR, SiteConfig
from bundler.project.discover import Discovery, Function, discover_functions
from bundler.project.source import SourceMemo
from bundler.store.folder import CacheFolder

Progress = Callable[[str], None]
Step = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class Site:
    """A site with its settings, its target environment (indexed once) and its functions."""

    root: Path
    config: SiteConfig
    functions_dir: Path
    environment: Environment
    declarations: Declarations
    discovery: Discovery
    target: Target
    choice: PythonChoice | None = None  # which interpreter, and why
    project_roots: tuple[Path, ...] = ()  # where the project's own package's source lives
    # main files parsed by discovery, until their scan takes them; what discovery read
    sources: SourceMemo = field(compare=False, repr=False)
    # the installed libraries' own imports, read once per build (issue 10)
    libraries: LibraryIndex = field(compare=False, repr=False)
    # each first-party file's imports, read once per build whichever functions reach it
    scans: FileScans = field(compare=False, repr=False)
    # the environment's index, kept in the cache while nothing it read has changed
    kept: KeptEnvironment = field(compare=False, repr=False)

    @classmethod
    def open(
        cls,
        root: Path,
        functions_dir: Path | None = None,
        python: Path | None = None,
        progress: Progress | None = None,
        runtime: str | None = None,
        arch: str | None = None,
        *,
        every_library_import: bool = False,
        cache_dir: Path | None = None,
    ) -> Site:
        """Read the site's settings, index the environment and discover the functions.

        `every_library_import`: read the guarded and lazy imports of libraries too (for
        `bundle why`); a build needs only their top-level ones. `cache_dir`: where what
        discovery read from each main file is kept between builds.

        Raises UsageError (bad layout or settings) or EnvironmentProblem (bad `--python`).
        """
        root = root.resolve()
        config = SiteConfig.from_root(root)
        directory = _functions_folder(root, config, functions_dir)
        choice = choose_python(root, python, config.python, config.declarations)
        interpreter = Interpreter.from_executable(choice.executable)
        if progress:
            version = ".".join(map(str, interpreter.version))
            shown = display_path(choice.executable, root)
            progress(f"environment: {shown} (Python {version}), {choice.reason}")
            progress(f"declarations: {'; '.join(config.declarations.sources) or 'none'}")
        from_settings = (runtime is None and config.runtime is not None) or (
            arch is None and config.arch is not None
        )
        arch = arch or config.arch or "x86_64"
        runtime = runtime or config.runtime
        try:
            if runtime:
                target = Target.from_names(runtime, arch)
            else:
                target = Target.for_python(interpreter.version, arch)
        except UsageError as error:
            if not from_settings:
                raise
            settings = root / "pyproject.toml"  # where [tool.bundler] runtime/arch live
            raise UsageError(*(replace(p, file=settings) for p in error.problems)) from None
        same_minor = interpreter.version[:2] == target.python
        patch = interpreter.version[2] if same_minor else 0
        kept = KeptEnvironment(kept_file(cache_dir, interpreter))
        environment = kept.environment(interpreter, replace(target, patch=patch))
        sources = SourceMemo(_discovery_file(cache_dir, directory))
        declarations = Declarations.from_config(config, environment)
        return cls(
            root=root,
            config=config,
            functions_dir=directory,
            environment=environment,
            declarations=declarations,
            discovery=discover_functions(directory, config, sources),
            target=target,
            choice=choice,
            project_roots=project_roots(root, declarations.project, environment),
            sources=sources,
            libraries=LibraryIndex(environment, complete=every_library_import),
            scans=FileScans(root, sources),
            kept=kept,
        )

    def use_cache(self, cache: CacheFolder | None) -> None:
        """Read what earlier builds kept in `cache` (libraries' imports, first-party
        scans); `close(cache)` writes this build's, with what discovery read."""
        self.libraries.use_cache(cache)
        self.scans.use_cache(cache)

    def close(self, cache: CacheFolder | None) -> None:
        """Write what this build read to `cache`, for the next build."""
        self.libraries.close()
        self.scans.close()
        if cache is not None:
            self.sources.save(cache)
        self.kept.save(cache)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The warnings found before any function is analysed."""
        return (
            self.config.warnings
            + self.declarations.warnings
            + self.environment.warnings
            + self.discovery.warnings
        )

    def function(self, name: str) -> Function | None:
        """The discovered function called `name`, or None."""
        return next((f for f in self.discovery.functions if f.name == name), None)


def _discovery_file(cache_dir: Path | None, functions: Path) -> Path | None:
    """Where what discovery read from the main files under `functions` is kept."""
    if cache_dir is None:
        return None
    name = hashlib.sha256(str(functions.absolute()).encode()).hexdigest()[:16]
    return cache_dir / "sources" / f"discovery-{name}.json"


def _functions_folder(root: Path, config: SiteConfig, argument: Path | None) -> Path:
    """The functions folder, which must be inside the site root: first-party code is found
    in a function's folder and the site root, and the zips and manifest name files by
    their place under it; a folder outside it has no such place."""
    chosen = argument or config.functions_dir or DEFAULT_FUNCTIONS_DIR
    directory = root / chosen  # an absolute `chosen` stays as it is
    try:
        real = directory.resolve()  # `..` and links resolved
    except (OSError, RuntimeError):  # a link loop: discovery says it does not exist
        return directory
    if real.is_relative_to(root):
        return directory
    source = None if argument else config.functions_dir_source
    where = f" ({source})" if source else ""
    raise UsageError.of(
        f"the functions folder {chosen}{where} is outside the site root {root}",
        hint="run bundle from a folder that holds both the site and its functions, or "
        "move the functions into the site",
    )


@dataclass(frozen=True)
class Analysis:
    """What one function imports and the distributions that follow, nothing written."""

    function: Function
    scan: Scan
    resolution: Resolution

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The warnings of the function's scan and resolution."""
        return self.scan.warnings + self.resolution.warnings


def analyse_function(site: Site, function: Function) -> Analysis:
    """Scan and resolve `function`; raises BundlerError with every problem found."""
    roots = [function.folder, site.root, *site.project_roots]
    scan = scan_function(function.main_file, roots, site.scans)
    try:
        resolution = resolve_function(
            scan,
            function.settings,
            site.environment,
            site.declarations,
            function.name,
            site.root,
            site.libraries,
        )
    except BundlerError as error:  # the scan's warnings still reach the user
        raise BundlerError(*scan.warnings, *error.problems) from None
    return Analysis(function, scan, resolution)
