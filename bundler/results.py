"""What a build produced and how it was asked to build: the values `build` hands to the
manifest, the cache, the report and `serve`, kept apart from `build` so that none of them
imports the conductor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bundler.analysis.resolve import Resolution
from bundler.environment.distributions import Environment
from bundler.errors import Problem
from bundler.pack.contents import Contents
from bundler.pack.packer import Bundle
from bundler.project.discover import Function


@dataclass(frozen=True, kw_only=True)
class FunctionBuild:
    """The outcome for one function: a bundle, or the problems that stopped it."""

    name: str
    function: Function | None = None
    bundle: Bundle | None = None
    resolution: Resolution | None = None
    contents: Contents | None = None  # None when the zip came from the cache
    problems: tuple[Problem, ...] = ()
    sizes: Mapping[str, int] = field(default_factory=dict)  # unzipped bytes by owner
    cached: bool = False
    dropped: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # by exclude pattern

    @property
    def ok(self) -> bool:
        """Whether the function's zip was written."""
        return self.bundle is not None

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity error."""
        return tuple(p for p in self.problems if p.severity == "error")


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    """Everything a build produced, for the manifest, the summary and `--json`."""

    site: Path
    functions_dir: Path
    out: Path
    environment: Environment
    builds: tuple[FunctionBuild, ...]
    warnings: tuple[Problem, ...]
    manifest: Path | None  # None when it could not be written
    errors: tuple[Problem, ...] = ()  # of the whole run, after the functions built
    python_reason: str = ""  # why this interpreter (`the site's .venv`)
    declaration_sources: tuple[str, ...] = ()  # what was read (`pyproject.toml [project]`)

    @property
    def ok(self) -> bool:
        """Whether every function built and the build itself had no error."""
        return all(b.ok for b in self.builds) and not self.errors


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How to build: parallelism, caching and sharding."""

    jobs: int | None = None  # None: every core
    cache_dir: Path | None = None  # None: SITE/.bundle-cache
    use_cache: bool = True
    shard: tuple[int, int] | None = None  # (K, N): the K-th of N shares, 1-based
    runtime: str | None = None  # None: [tool.bundler] runtime, else the --python's version
    arch: str | None = None  # None: [tool.bundler] arch, else x86_64
    offline: bool = False  # never fetch the target's wheel for what does not fit
    compile: bool = False  # ship unchecked-hash bytecode for the target

    def fingerprint(self) -> list[object]:
        """The options that change a zip's bytes (for the function-level cache)."""
        return [not self.offline, self.compile]


# Every BuildOptions field is in exactly one of these (a test holds it): a new option either
# changes a zip's bytes, and then goes into the cache key, or says here why it does not.
CACHE_KEY_OPTIONS = ("offline", "compile")  # in BuildOptions.fingerprint(), hence the key
NOT_IN_CACHE_KEY = {
    "jobs": "parallelism: the same bytes in any order",
    "cache_dir": "where the cache is, not what it holds",
    "use_cache": "whether to read it at all",
    "shard": "which functions build, not how",
    "runtime": "keyed through the environment's target (BuildCache.key)",
    "arch": "keyed through the environment's target (BuildCache.key)",
}
