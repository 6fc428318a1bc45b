"""Read a function's imports without running it, following its first-party modules."""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bundler.analysis.file_scans import FileScans
from bundler.analysis.imports import ImportSite as ImportSite  # where resolve and why find it
from bundler.analysis.loaded_by_name import NameUse
from bundler.errors import BundlerError, Problem, display_path
from bundler.project.shippable import walk_files, within_site
from bundler.project.source import SourceMemo


@dataclass(frozen=True)
class Module:
    """A first-party module: where it is, and where it goes in the zip."""

    path: Path
    arcname: str


@dataclass(frozen=True)
class NamedFirstParty:
    """First-party code that a `NameUse` loads: the module followed, and the package
    folder shipped whole when the name is a package's (a Django app, a resources anchor)."""

    use: NameUse
    module: str
    package: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Scan:
    """What a function's own code imports, and what it loads by name."""

    modules: tuple[Module, ...]
    imports: tuple[ImportSite, ...]
    skipped: tuple[ImportSite, ...]
    warnings: tuple[Problem, ...]
    loads: tuple[NameUse, ...] = ()  # names that are not first-party: resolve decides
    named: tuple[NamedFirstParty, ...] = ()


def scan_function(
    main_file: Path, roots: Sequence[Path], memo: FileScans | SourceMemo | None = None
) -> Scan:
    """Scan `main_file` and every module it imports from `roots` (first match wins).

    `roots` are the function's folder (`sys.path[0]` on Lambda) and the site root; `memo`
    holds the main file's tree when discovery parsed it already.
    Raises BundlerError with every unreadable or broken module found.
    """
    if not isinstance(memo, FileScans):
        memo = FileScans(roots[-1], memo or SourceMemo())
    scanner = _Scanner(tuple(roots), memo)
    scanner.add(main_file, main_file.name)
    scanner.run()
    if scanner.errors:
        raise BundlerError(*scanner.errors)
    modules = tuple(sorted(scanner.modules.values(), key=lambda m: m.arcname))
    return Scan(
        modules=modules,
        imports=tuple(scanner.imports),
        skipped=tuple(scanner.skipped),
        warnings=tuple(scanner.warnings),
        loads=tuple(scanner.loads),
        named=tuple(scanner.named),
    )


class _Scanner:
    def __init__(self, roots: tuple[Path, ...], memo: FileScans) -> None:
        self.roots = roots
        self.memo = memo
        self.modules: dict[Path, Module] = {}
        self.required: set[Path] = set()
        self.queue: list[tuple[Path, bool]] = []
        self.imports: list[ImportSite] = []
        self.skipped: list[ImportSite] = []
        self.warnings: list[Problem] = []
        self.errors: list[Problem] = []
        self.loads: list[NameUse] = []
        self.named: list[NamedFirstParty] = []
        self.whole: set[Path] = set()  # package folders shipped whole

    def add(self, path: Path, arcname: str, optional: bool = False) -> None:
        """Ship `path`; scan it, again if it was reached only optionally before."""
        known = path in self.modules
        if known and (optional or path in self.required):
            return
        self.modules.setdefault(path, Module(path, arcname))
        if not optional:
            self.required.add(path)
        if path.suffix == ".py":
            self.queue.append((path, optional))

    def run(self) -> None:
        while self.queue:
            path, optional = self.queue.pop(0)
            found = self.memo.scan(path, _package_of(self.modules[path].arcname))
            if found.errors:
                if found.errors[0] not in self.errors:
                    self.errors.extend(found.errors)
                continue
            self.warnings.extend(found.warnings)
            for site in found.sites:
                if optional and not site.optional:
                    site = replace(site, optional=True)  # inside a module imported optionally
                try:
                    self._follow(site, path)
                except OSError as error:  # a folder on the way that cannot be searched
                    self.errors.append(self._unreadable(site, error))
            for use in found.uses:
                try:
                    if use.kind not in ("module", "resources") or not self._load(use):
                        self.loads.append(replace(use, optional=use.optional or optional))
                except OSError as error:
                    site = ImportSite(module=use.name, file=use.file, line=use.line)
                    self.errors.append(self._unreadable(site, error))

    def _module_files(self, root: Path, parts: list[str]) -> list[Path] | None:
        """`_module_files`, asked once per build for each root and name."""
        return self.memo.module_files(root, tuple(parts), lambda: _module_files(root, parts))

    def _load(self, use: NameUse) -> bool:
        """Follow a module or package that `use` names, when it is first-party (then True,
        also when the name is too loose to count: first-party code shadows the rest)."""
        parts = use.name.split(".")
        for root in self.roots:
            files = self._module_files(root, parts)
            if files is None:
                continue
            named = len(files)  # leading parts that are modules
            if not (
                use.kind == "resources"
                or named >= 2
                or (use.single and named >= 1)
                or (use.colon and named == len(parts))
            ):
                return True
            for file in files:
                self.add(file, file.relative_to(root).as_posix(), optional=True)
            package = self._package(use, root, parts, files)
            if package is not None and package not in self.whole:
                self.whole.add(package)
                walked: list[Problem] = []
                for file in walk_files(package, within_site(self.roots[-1]), walked, ""):
                    self.add(file, file.relative_to(root).as_posix(), optional=True)
                self.errors.extend(walked)
            module = ".".join(parts[: max(named, 1)])
            self.named.append(NamedFirstParty(use, module, package))
            return True
        return False

    @staticmethod
    def _package(use: NameUse, root: Path, parts: list[str], files: list[Path]) -> Path | None:
        """The package folder that ships whole: a Django app's (the one holding the module
        its entry names), a resources anchor's, or any package a string names exactly."""
        if not files:  # a namespace folder
            folder = root.joinpath(*parts)
            return folder if use.kind == "resources" and _is_dir(folder) else None
        last = files[-1]
        if last.name == "__init__.py" and len(files) == len(parts):
            return last.parent
        if use.app and _is_file(last.parent / "__init__.py"):
            return last.parent
        return None

    def _unreadable(self, site: ImportSite, error: OSError) -> Problem:
        where = Path(error.filename).parent if error.filename else None
        root = next((r for r in self.roots if where and where.is_relative_to(r)), None)
        shown = f" in {display_path(where, root)}/" if where and root else ""
        return Problem(
            f"cannot look for module {site.module!r}{shown}: {error.strerror or error}",
            file=site.file,
            line=site.line,
            hint="let the user running the build read and enter the site's folders",
        )

    def _follow(self, site: ImportSite, path: Path) -> None:
        if site.type_checking:
            self.skipped.append(site)  # neither shipped nor followed
            return
        base = self._absolute(site, path)
        if base is None:
            return
        if base == "":  # `from . import x` beside a top-level module
            found: list[tuple[Path, str]] | None = [
                f for n in site.names for f in self._first_party(n, ()) or ()
            ]
        else:
            found = self._first_party(base, site.names)
        if found is not None:
            for module_path, arcname in found:
                self.add(module_path, arcname, site.optional)
            for name in self._namespace_names(base, site.names):
                # `from ns import plugin`: a first-party namespace folder without
                # `plugin` in it; another portion of `ns` (a distribution) provides it
                self.imports.append(replace(site, module=f"{base}.{name}", names=()))
        elif base and base.split(".", 1)[0] != "__future__":
            self.imports.append(replace(site, module=base))

    def _namespace_names(self, module: str, names: tuple[str, ...]) -> list[str]:
        """`names` imported from first-party namespace folder `module` that it lacks."""
        if not module or not names:
            return []
        parts = module.split(".")
        for root in self.roots:
            if self._module_files(root, parts) is None:
                continue
            folder = root.joinpath(*parts)
            if not _is_dir(folder) or _is_file(folder / "__init__.py"):
                return []  # a regular package: its names are attributes
            return [n for n in names if n != "*" and self._module_files(folder, [n]) is None]
        return []

    def _absolute(self, site: ImportSite, path: Path) -> str | None:
        """The absolute name of a relative import, from the file's place under its root."""
        level = len(site.module) - len(site.module.lstrip("."))
        if level == 0:
            return site.module
        root = next((r for r in self.roots if path.is_relative_to(r)), path.parent)
        package = list(path.parent.relative_to(root).parts)
        if level - 1 > len(package):
            self.warnings.append(
                Problem(
                    "relative import goes above the function's folder",
                    file=path,
                    line=site.line,
                    severity="warning",
                )
            )
            return None
        if level > len(package):  # Lambda imports the zip's top level as top-level modules
            self.warnings.append(
                Problem(
                    "this relative import reaches above the top of the zip, so it fails on "
                    "Lambda (the modules there are top-level)",
                    file=path,
                    line=site.line,
                    hint=f"import it absolutely: {_absolute_form(site)}",
                    severity="warning",
                )
            )
        parts = package[: len(package) - (level - 1)]
        rest = site.module[level:]
        return ".".join([*parts, rest] if rest else parts)

    def _first_party(self, module: str, names: tuple[str, ...]) -> list[tuple[Path, str]] | None:
        """First-party files that importing `module` (and `names` from it) loads.

        None when `module` is not first-party; an empty list for a namespace folder.
        """
        parts = module.split(".")
        for root in self.roots:
            files = self._module_files(root, parts)
            if files is None:
                continue
            package = root.joinpath(*parts)
            for name in names:
                extra = self._module_files(package, [name]) if _is_dir(package) else None
                files += extra or []
            return [(f, f.relative_to(root).as_posix()) for f in files]
        return None


def _package_of(arcname: str) -> str:
    """The dotted package a file at `arcname` belongs to (`""` at the top)."""
    folder = arcname.rpartition("/")[0]
    return folder.replace("/", ".")


def _absolute_form(site: ImportSite) -> str:
    """`from .mod import y` -> `from mod import y`; `from . import x` -> `import x`."""
    rest, names = site.module.lstrip("."), ", ".join(site.names)
    return f"from {rest} import {names}" if rest else f"import {names}"


def _module_files(root: Path, parts: list[str]) -> list[Path] | None:
    """Files loaded by importing `parts` from `root`, or None when it is not there."""
    files: list[Path] = []
    here = root
    for index, part in enumerate(parts):
        package = here / part
        following = parts[index + 1] if index + 1 < len(parts) else None
        if _is_file(package / "__init__.py"):
            files.append(package / "__init__.py")
            here = package
        elif _is_file(here / f"{part}.py"):
            files.append(here / f"{part}.py")
            return files  # what follows a module is an attribute
        elif _is_dir(package) and _is_namespace(package, following):
            here = package
        else:
            return files or None
    return files


def _is_namespace(folder: Path, following: str | None) -> bool:
    """A folder without `__init__.py` that holds the next part, or Python files."""
    if following is not None:
        return _is_file(folder / f"{following}.py") or _is_dir(folder / following)
    return any(folder.glob("*.py")) or any(folder.glob("*/__init__.py"))


def _is_file(path: Path) -> bool:
    return _answer(path.is_file)


def _is_dir(path: Path) -> bool:
    return _answer(path.is_dir)


def _answer(question: Callable[[], bool]) -> bool:
    """A yes/no about a path: no for a name too long to exist (a module name may be longer
    than a file name can be); any other refusal of the OS is raised."""
    try:
        return question()
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            return False
        raise
