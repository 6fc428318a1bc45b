"""The benchmark's inputs and baselines: real packages, generated sites, SAM-like and naive zips.

Everything slow to set up (the wheelhouse, the environment) is kept in the work folder and
reused by later runs; nothing here touches the network once the wheelhouse exists.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

LEVEL = 6  # zlib's default: what bundler and zipfile's ZIP_DEFLATED use

# import name -> requirement; botocore (~80 MB unzipped) and numpy weigh the most
PACKAGES = {
    "requests": "requests",
    "jinja2": "jinja2",
    "pydantic": "pydantic",
    "yaml": "PyYAML",
    "boto3": "boto3",
    "numpy": "numpy==2.2.6",
    "dateutil": "python-dateutil",
    "attrs": "attrs",
    "click": "click",
}
# how likely a function is to import each (most functions share the common ones)
WEIGHTS = {
    "requests": 0.6,
    "jinja2": 0.3,
    "pydantic": 0.5,
    "yaml": 0.4,
    "boto3": 0.35,
    "numpy": 0.25,
    "dateutil": 0.3,
    "attrs": 0.2,
    "click": 0.1,
}


@dataclass(frozen=True)
class Site:
    """A generated site: its root, per function the third-party import names it uses, and
    the first-party folders at its root (copied whole by the SAM-like and naive baselines)."""

    root: Path
    functions: dict[str, tuple[str, ...]]
    first_party: tuple[str, ...] = ()

    @property
    def functions_dir(self) -> Path:
        return self.root / "netlify" / "functions"


def run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def prepare_environment(work: Path) -> tuple[Path, Path]:
    """(wheelhouse, virtualenv): downloaded and installed once, then reused."""
    wheelhouse, env = work / "wheelhouse", work / "env"
    requirements = sorted(PACKAGES.values())
    if not (wheelhouse / ".done").exists():
        run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
             "-d", str(wheelhouse), *requirements])  # fmt: skip
        (wheelhouse / ".done").touch()
    if not (env / ".done").exists():
        shutil.rmtree(env, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(env)])
        run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
             "--find-links", str(wheelhouse), *requirements])  # fmt: skip
        (env / ".done").touch()
    return wheelhouse, env


def site_packages(env: Path) -> Path:
    [found] = env.glob("lib/python*/site-packages")
    return found


def new_site(work: Path, name: str) -> Path:
    """An empty site folder (its functions folder made) declaring every one of PACKAGES."""
    root = work / "sites" / name
    shutil.rmtree(root, ignore_errors=True)
    (root / "netlify" / "functions").mkdir(parents=True)
    deps = ",\n".join(f'    "{r}"' for r in sorted(PACKAGES.values()))
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "bench-site"\nversion = "0"\ndependencies = [\n{deps},\n]\n'
    )
    return root


def generate_site(work: Path, size: int, seed: int = 5) -> Site:
    """A site of `size` single-file functions importing seeded random subsets of PACKAGES."""
    root = new_site(work, f"site-{size}")
    folder = root / "netlify" / "functions"
    rng = random.Random(seed * 1000 + size)
    functions = {}
    for index in range(size):
        name = f"fn_{index:03d}"
        chosen = tuple(sorted(n for n, w in WEIGHTS.items() if rng.random() < w)) or ("requests",)
        functions[name] = chosen
        imports = "".join(f"import {module}\n" for module in chosen)
        (folder / f"{name}.py").write_text(
            f"{imports}\n\ndef handler(event, context):\n"
            f'    return {{"statusCode": 200, "body": "{name}"}}\n'
        )
    return Site(root, functions)


def touch_function(site: Site, name: str, round_: int) -> None:
    """Change one function's code (a new comment each round)."""
    path = site.functions_dir / f"{name}.py"
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("# change")]
    path.write_text("\n".join([*lines, f"# change {round_}"]) + "\n")


def zip_folder(folder: Path, destination: Path) -> None:
    """A plain zipfile zip of a folder, sorted, at LEVEL (what sam build and most do)."""
    with zipfile.ZipFile(
        destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=LEVEL
    ) as archive:
        for directory, subdirs, files in os.walk(folder):
            subdirs.sort()
            for name in sorted(files):
                path = Path(directory, name)
                archive.write(path, path.relative_to(folder).as_posix())


def sam_like(site: Site, name: str, *, wheelhouse: Path, scratch: Path) -> None:
    """`sam build`'s pip workflow for one function: install its requirements into a fresh
    folder from the local wheelhouse (no network), add the code, zip the folder."""
    folder = scratch / name
    shutil.rmtree(folder, ignore_errors=True)
    requirements = sorted({PACKAGES[m] for m in site.functions[name]})
    folder.mkdir(parents=True)
    if requirements:
        run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-compile",
             "--disable-pip-version-check", "--find-links", str(wheelhouse), "-t", str(folder),
             *requirements], stdout=subprocess.DEVNULL)  # fmt: skip
    shutil.copy2(site.functions_dir / f"{name}.py", folder / f"{name}.py")
    for package in site.first_party:  # SAM copies the code folder whole
        shutil.copytree(site.root / package, folder / package)
    zip_folder(folder, scratch / f"{name}.zip")
    shutil.rmtree(folder)


def naive(site: Site, name: str, *, env: Path, scratch: Path) -> None:
    """The whole site-packages plus the function, zipped for one function."""
    destination = scratch / f"{name}.zip"
    zip_folder(site_packages(env), destination)
    with zipfile.ZipFile(destination, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(site.functions_dir / f"{name}.py", f"{name}.py")
        for package in site.first_party:
            for path in sorted((site.root / package).rglob("*.py")):
                archive.write(path, path.relative_to(site.root).as_posix())


def union_files(site: Site, out: Path, env: Path) -> list[Path]:
    """One source path per distinct content shipped in any zip of `out` (the floor's input)."""
    roots = [site_packages(env), site.functions_dir, site.root]
    by_digest: dict[str, Path] = {}
    seen: set[str] = set()
    for bundle in sorted(out.glob("*.zip")):
        with zipfile.ZipFile(bundle) as archive:
            names = [n for n in archive.namelist() if n not in seen]
        seen.update(names)
        for arcname in names:
            source = next((r / arcname for r in roots if (r / arcname).is_file()), None)
            if source is not None:  # a rewritten RECORD has no source: tiny, left out
                digest = hashlib.sha256(source.read_bytes()).hexdigest()
                by_digest.setdefault(digest, source)
    return sorted(by_digest.values())


def floor(files: list[Path]) -> int:
    """Read and deflate every file once, one thread: the least any packer must do."""
    total = 0
    for path in files:
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        total += len(compressor.compress(path.read_bytes()) + compressor.flush())
    return total
