"""Make what a function ships fit its Lambda runtime: check every distribution's binaries,
swap in the target's wheel of the same version where the installed one does not fit (unless
`--offline`), and add bytecode (`--compile`).

One `Fitter` serves a whole build: each distribution is checked (and fetched) once, however
many functions ship it, and each file is compiled once. It is safe to call from the
build's worker threads.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from packaging.utils import parse_wheel_filename

from bundler.analysis.resolve import Resolution
from bundler.environment.distributions import Distribution, Environment
from bundler.environment.targets import Target
from bundler.errors import BundlerError, Problem
from bundler.pack.binaries import check_distribution
from bundler.pack.compile import compile_bytecode
from bundler.pack.contents import Contents, Entry
from bundler.pack.fetch import (
    FetchedWheel,
    FetchError,
    NoWheelError,
    fetch_wheel,
    newest_version_with_wheel,
)
from bundler.store.folder import CacheFolder, ScratchFolder

_NEEDS = re.compile(r"it needs (glibc \d+\.\d+)")


class Fitter:
    """Checks, fetches and compiles for one target, remembering what it has done.

    Fetched wheels go to the cache folder while it can be used, else to a temporary
    folder of the fitter's own, removed by `close()`.
    """

    def __init__(
        self,
        target: Target,
        *,
        fetch_wheels: bool = True,
        cache: CacheFolder | None = None,
        compile_with: Path | None = None,
    ) -> None:
        self.target = target
        self.fetch_wheels = fetch_wheels  # False: --offline, never a request to the index
        self.cache = cache
        self.compile_with = compile_with
        self._scratch = ScratchFolder("bundler-wheels-")
        self._lock = threading.Lock()
        self._fitted: dict[str, tuple[Distribution, tuple[Problem, ...]]] = {}
        self._bytecode: dict[tuple[str, Path], bytes | None] = {}

    def fit(
        self, environment: Environment, resolution: Resolution
    ) -> tuple[Environment, tuple[Problem, ...]]:
        """`environment` with every shipped distribution replaced by one that fits the
        target, and the warnings and notes (one per wheel swapped); raises BundlerError
        naming each one that does not fit (and cannot be fetched)."""
        replaced: dict[str, Distribution] = {}
        problems: list[Problem] = []
        for resolved in resolution.distributions:
            installed = environment.distributions[resolved.name]
            with self._lock:  # one check and one download per distribution per build
                found = self._fitted.get(resolved.name)
                if found is None:
                    found = self._fit_one(installed)
                    self._fitted[resolved.name] = found
            distribution, own = found
            problems += own
            if distribution is not installed:
                replaced[resolved.name] = distribution
        if any(p.severity == "error" for p in problems):
            raise BundlerError(*problems)
        if not replaced:
            return environment, tuple(problems)
        fitted = {**environment.distributions, **replaced}
        return dataclasses.replace(environment, distributions=fitted), tuple(problems)

    def _fit_one(self, installed: Distribution) -> tuple[Distribution, tuple[Problem, ...]]:
        """The installed distribution when it fits; else the same version's wheel for the
        target, with a note saying so; else why neither can ship."""
        problems = check_distribution(installed, self.target)
        if not any(p.severity == "error" for p in problems):
            return installed, tuple(problems)
        if not self.fetch_wheels:  # offline: today's error, and nothing asked of the index
            return installed, tuple(problems)
        try:
            fetched = self._fetch(installed)
        except NoWheelError:  # no such wheel: only another version can fit
            return installed, tuple(self._with_a_version(installed, p) for p in problems)
        except FetchError as error:  # the index cannot be reached, or refused
            reason = error.problems[0].message
            return installed, tuple(
                dataclasses.replace(p, message=f"{p.message} (the target's wheel could not be "
                                    f"fetched: {reason})")
                if p.severity == "error" else p
                for p in problems
            )  # fmt: skip
        own = check_distribution(fetched.distribution, self.target)
        if not any(p.severity == "error" for p in own):
            own.append(_swap_note(installed, fetched, problems))
        return fetched.distribution, tuple(own)

    def close(self) -> None:
        """Remove the temporary folder of fetched wheels, if there is one."""
        self._scratch.remove()

    def _fetch(self, installed: Distribution) -> FetchedWheel:
        """The target's wheel, through the cache while it works, else a temporary folder."""
        name, version = installed.name, installed.version
        if self.cache is not None and self.cache.usable:
            try:
                return fetch_wheel(name, version, self.target, self.cache.path)
            except OSError as error:
                self.cache.fail(error, self.cache.path)
        try:
            return fetch_wheel(name, version, self.target, self._scratch.path())
        except OSError as error:
            raise FetchError.of(
                f"cannot keep the fetched wheel of {installed.display_name}: "
                f"{error.strerror or error}",
                file=Path(tempfile.gettempdir()),
                hint="free some space in the temporary folder (TMPDIR)",
            ) from None

    def _with_a_version(self, installed: Distribution, problem: Problem) -> Problem:
        """Name the newest version that has a wheel for the target (one index request)."""
        if problem.severity != "error":
            return problem
        newest = newest_version_with_wheel(installed.name, self.target)
        if newest is None or newest == installed.version:
            return problem
        hint = (
            f"{installed.display_name} {newest} is the newest version with a wheel for "
            f"{self.target.runtime} on {self.target.arch}: pin {installed.name}=={newest}"
        )
        return dataclasses.replace(problem, hint=hint)

    def add_bytecode(self, contents: Contents) -> tuple[Contents, tuple[Problem, ...]]:
        """`contents` with a `__pycache__/*.pyc` beside each `.py` (when compiling)."""
        if self.compile_with is None:
            return contents, ()
        sources = [(e.arcname, e.source) for e in contents.entries if e.arcname.endswith(".py")]
        with self._lock:
            missing = [s for s in sources if s not in self._bytecode]
            if missing:
                done = compile_bytecode(missing, self.compile_with, self.target.python)
                compiled = dict(done.entries)
                for arcname, source in missing:
                    self._bytecode[(arcname, source)] = compiled.get(_pyc_name(arcname, self))
                notes = done.skipped
            else:
                notes = ()
            found = {s: self._bytecode[s] for s in sources}
        owners: Mapping[str, str] = {e.arcname: e.owner for e in contents.entries}
        added = [
            Entry(
                arcname=_pyc_name(arcname, self),
                source=source,
                owner=owners[arcname],
                size=len(data),
                executable=False,
                data=data,
            )
            for (arcname, source), data in found.items()
            if data is not None
        ]
        entries = sorted((*contents.entries, *added), key=lambda e: e.arcname)
        return Contents(tuple(entries), contents.warnings), tuple(notes)


def _swap_note(installed: Distribution, fetched: FetchedWheel, refused: list[Problem]) -> Problem:
    """`pillow 12.2.0: using the manylinux2014 wheel; the installed one needs glibc 2.28`."""
    platforms = parse_wheel_filename(fetched.wheel.name)[3]
    names = sorted({tag.platform for tag in platforms})
    legacy = [n for n in names if n.startswith("manylinux") and "_2_" not in n]
    platform = (legacy or names or ["py3-none-any"])[0]
    for arch in ("_x86_64", "_aarch64"):
        platform = platform.removesuffix(arch)
    needs = next((m.group(1) for p in refused if (m := _NEEDS.search(p.message))), None)
    why = f"needs {needs}" if needs else "does not fit the runtime"
    return Problem(
        f"{installed.display_name} {installed.version}: using the {platform} wheel; the "
        f"installed one {why}",
        file=installed.location,
        severity="note",
    )


def _pyc_name(arcname: str, fitter: Fitter) -> str:
    """`a/b.py` -> `a/__pycache__/b.cpython-311.pyc`, as the target's importer looks."""
    folder, _, name = arcname.rpartition("/")
    tag = f"cpython-{fitter.target.python[0]}{fitter.target.python[1]}"
    pyc = f"__pycache__/{name[:-3]}.{tag}.pyc"
    return f"{folder}/{pyc}" if folder else pyc
