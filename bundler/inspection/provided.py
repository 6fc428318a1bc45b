"""The packages Lambda's Python runtime provides (boto3, botocore and what they require),
taken from the site's environment: only those distributions, in a folder of their own that
comes after the task root on `sys.path`, as on Lambda (a zip's own copy wins).

The folder is named by the hash of what it holds, filled once (hard links where the file
system allows, else copies), byte-compiled by the site's interpreter and renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from bundler.analysis.requirements import requirement_closure
from bundler.environment.distributions import Environment
from bundler.environment.interpreter import compile_folder
from bundler.environment.runtime import RUNTIME_PROVIDED
from bundler.files import build_folder_atomically
from bundler.pack.contents import distribution_files


@dataclass(frozen=True)
class ProvidedPackages:
    """The folder (None when the environment has none of them) and what it holds."""

    folder: Path | None
    distributions: tuple[tuple[str, str], ...]  # (display name, version)

    def describe(self) -> str:
        """One line for the terminal: which runtime packages are provided, or none."""
        if not self.distributions:
            return (
                "runtime packages: none of boto3 and its dependencies is installed in the site's "
                "environment; a function that leaves them out of its zip cannot import them"
            )
        listed = ", ".join(f"{name} {version}" for name, version in self.distributions)
        return f"runtime packages (provided as on Lambda, from the site's environment): {listed}"


def provided_names(environment: Environment) -> frozenset[str]:
    """RUNTIME_PROVIDED and everything they require, as installed in `environment`."""
    requirements = [Requirement(name) for name in RUNTIME_PROVIDED]
    return frozenset(requirement_closure(environment, requirements))


def prepare_provided(cache: Path, environment: Environment) -> ProvidedPackages:
    """The folder of the runtime-provided distributions, created when missing."""
    names = sorted(provided_names(environment))
    if not names:
        return ProvidedPackages(None, ())
    distributions = [environment.distributions[name] for name in names]
    digest = hashlib.sha256()
    for distribution in distributions:
        digest.update(f"{distribution.name}=={distribution.version}\0".encode())
        for arcname, source in distribution_files(distribution):
            try:
                stat = source.stat()
            except OSError:
                continue
            digest.update(f"{arcname}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    listed = tuple((d.display_name, d.version) for d in distributions)
    folder = cache / "serve" / "provided" / digest.hexdigest()[:16]
    if folder.is_dir():
        return ProvidedPackages(folder, listed)
    with build_folder_atomically(folder, ".provided.") as pending:
        temporary = pending.path
        for distribution in distributions:
            for arcname, source in distribution_files(distribution):
                destination = temporary / arcname
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, destination)
                except OSError:
                    if source.is_file():  # RECORD may list a file that was removed
                        shutil.copy2(source, destination)
        compile_folder(environment.interpreter.executable, temporary, timeout=600)
    return ProvidedPackages(folder, listed)
