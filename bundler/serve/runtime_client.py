"""The real Lambda runtime client (PyPI `awslambdaric`), installed once per Python version
and machine into a folder the bundler manages: `CACHE/runtime/awslambdaric-4.2.2-cp311-x86_64/`.

pip installs the manylinux wheel for the site's interpreter (`--only-binary=:all:
--python-version --platform`, so the bundler's own Python may differ) into a temporary
folder that is renamed into place: a folder with the final name is always complete, and two
servers starting at once cannot break it. When it cannot be had (offline, no wheel for this
Python or machine), the error says so and gives the command that installs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bundler.environment.interpreter import compile_folder
from bundler.errors import EnvironmentProblem
from bundler.files import build_folder_atomically

# The newest release with wheels for each Python (awslambdaric 4 needs 3.10; 4.0.4 is the
# last for 3.9, 2.2.1 for 3.8).
VERSIONS = {(3, 8): "2.2.1", (3, 9): "4.0.4"}
LATEST = "4.2.2"
MACHINES = ("x86_64", "aarch64")


def client_version(python: tuple[int, ...]) -> str:
    """The awslambdaric version for a Python version (the latest for one not listed)."""
    return VERSIONS.get((python[0], python[1]), LATEST)


def client_folder(cache: Path, python: tuple[int, ...], machine: str) -> Path:
    """Where the runtime client for this Python and machine lives (installed or not)."""
    tag = f"cp{python[0]}{python[1]}"
    return cache / "runtime" / f"awslambdaric-{client_version(python)}-{tag}-{machine}"


def install_command(target: Path, python: tuple[int, ...], machine: str) -> list[str]:
    """pip's command line for `target` (also the hint when it fails)."""
    version = f"{python[0]}.{python[1]}"
    tag = f"cp{python[0]}{python[1]}"
    return [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
        "--only-binary=:all:",
        "--target",
        str(target),
        "--python-version",
        version,
        "--implementation",
        "cp",
        "--abi",
        tag,
        "--platform",
        f"manylinux2014_{machine}",
        "--platform",
        f"manylinux_2_17_{machine}",
        f"awslambdaric=={client_version(python)}",
    ]


def ensure_runtime_client(
    cache: Path, python: tuple[int, ...], machine: str, site_python: Path
) -> tuple[Path, bool]:
    """The runtime client's folder, installing it first when needed; (folder, installed now).

    Raises EnvironmentProblem when it cannot be installed."""
    folder = client_folder(cache, python, machine)
    if folder.is_dir():
        return folder, False
    hint_command = " ".join(["python3", *install_command(folder, python, machine)])
    if sys.platform != "linux" or machine not in MACHINES:
        raise EnvironmentProblem.of(
            f"the Lambda runtime client (awslambdaric) ships only for Linux on x86_64 and "
            f"aarch64; this is {sys.platform} on {machine}",
            hint="run bundle serve on Linux (a container or a VM) where Lambda's runtime can run",
        )
    with build_folder_atomically(folder, f".{folder.name}.") as pending:
        temporary = pending.path
        failure = _pip(temporary, python, machine, site_python)
        if failure is not None:
            raise EnvironmentProblem.of(
                f"cannot install the Lambda runtime client awslambdaric=={client_version(python)} "
                f"for Python {python[0]}.{python[1]} on {machine}: {failure}",
                file=folder,
                hint=f"connect to the package index once, or install it yourself: {hint_command}",
            )
        compile_folder(site_python, temporary, timeout=300)  # once, by the one that runs it
    return folder, pending.placed  # False: another server's install finished first


def _pip(target: Path, python: tuple[int, ...], machine: str, site_python: Path) -> str | None:
    """Run pip (the bundler's own, else the site's); the reason it failed, or None."""
    reason = "no pip in the bundler's interpreter or the site's"
    for interpreter in (Path(sys.executable), site_python):
        try:
            done = subprocess.run(
                [str(interpreter), *install_command(target, python, machine)],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            reason = str(error)
            continue
        if done.returncode == 0:
            return None
        lines = [
            line
            for line in done.stderr.splitlines()
            if line.startswith("ERROR:") or "No matching distribution" in line
        ]
        if "No module named pip" in done.stderr:
            continue
        return lines[-1].removeprefix("ERROR: ") if lines else f"pip exited {done.returncode}"
    return reason
