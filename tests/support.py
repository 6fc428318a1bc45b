"""Test support: tiny real wheels, throwaway virtualenvs, and running bundles like Lambda.

Wheels are written with `zipfile` (as pypa/installer's tests do) and installed by the
real pip; bundles are unzipped and their handlers called in `python -I -S` with only the
bundle on `sys.path`, the way Lambda's /var/task works.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import threading
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
from packaging.utils import canonicalize_name

from bundler.inspection.verify import api_event as verify_event

FileData = str | bytes

# The checkout, whatever folder of tests/ a module sits in.
REPO = Path(__file__).resolve().parent.parent
SAMPLE_SITE = REPO / "sample_site"
FIXTURES = REPO / "tests" / "fixtures"


def write_tree(root: Path, files: Mapping[str, FileData], *, dedent: bool = False) -> Path:
    """Write `files` (relative path -> content) under `root`; returns `root`.

    With `dedent`, text is dedented first (sources written inline in a test)."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content) if dedent else content, encoding="utf-8")
    return root


def build_wheel(
    wheelhouse: Path,
    name: str,
    version: str = "1.0",
    files: Mapping[str, FileData] | None = None,
    *,
    requires: Sequence[str] = (),
    extras: Sequence[str] = (),
    tag: str = "py3-none-any",
    top_level: Sequence[str] | None = None,
) -> Path:
    """Write a real, installable wheel of `name` holding `files` (path -> content)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    dist = canonicalize_name(name).replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Provides-Extra: {e}" for e in extras]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    contents: dict[str, bytes] = {
        path: data.encode() if isinstance(data, str) else data
        for path, data in (files or {}).items()
    }
    contents[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    contents[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: bundler-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    if top_level is not None:
        contents[f"{info}/top_level.txt"] = ("\n".join(top_level) + "\n").encode()
    record = []
    for path, data in sorted(contents.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = wheelhouse / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in sorted(contents.items()):
            archive.writestr(path, data)
    return wheel


def make_venv(path: Path) -> Path:
    """A virtualenv without pip (fast); returns its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def pip_install(python: Path, *arguments: str) -> None:
    """Install into the virtualenv of `python` with this interpreter's pip."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *arguments,
        ],
        check=True,
    )


def api_event(
    path: str = "/", method: str = "GET", body: str | None = None, **extra: Any
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as Netlify and Lambda send it (the one
    `bundle verify` sends), with a body and any other keys set."""
    event = verify_event(path, method)
    event.update(body=body, **extra)
    return event


def pinned_names(requirements: Path) -> set[str]:
    """Canonical names pinned in a pip-compile output file (the tests' own oracle)."""
    names = set()
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonicalize_name(re.split(r"[\s\[=<>!~;]", line, maxsplit=1)[0]))
    return names


_RUNNER = textwrap.dedent(
    """
    import importlib, json, sys, types
    bundle, module, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    sys.path[:0] = [bundle]
    context = types.SimpleNamespace(
        function_name=module, aws_request_id="test", memory_limit_in_mb=128,
        get_remaining_time_in_millis=lambda: 30000,
    )
    handler = importlib.import_module(module).handler
    result = handler(event, context)
    print("\\n@@RESULT@@" + json.dumps(result, default=str))
    """
)


def unzip(bundle: Path, destination: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(destination)
    return destination


def invoke(
    bundle: Path,
    module: str,
    event: Mapping[str, Any],
    workdir: Path,
    *,
    python: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Unzip `bundle` and call `module.handler(event, context)` in a clean interpreter.

    `python -I -S`: no site-packages, no user site, no PYTHON* variables; only the
    unzipped bundle on `sys.path`. Raises AssertionError with the child's stderr on failure.
    """
    root = unzip(bundle, workdir / bundle.stem)
    done = subprocess.run(
        [
            str(python or sys.executable),
            "-I",
            "-S",
            "-c",
            _RUNNER,
            str(root),
            module,
            json.dumps(event),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        env=dict(env or {}),
        timeout=120,
        check=False,
    )
    if done.returncode != 0 or "@@RESULT@@" not in done.stdout:
        raise AssertionError(f"handler {module} failed:\n{done.stderr}\n{done.stdout}")
    return json.loads(done.stdout.rsplit("@@RESULT@@", 1)[1])


def zip_names(bundle: Path) -> list[str]:
    with zipfile.ZipFile(bundle) as archive:
        return archive.namelist()


def zip_distributions(bundle: Path) -> set[str]:
    """Canonical names of the distributions whose .dist-info is in the zip."""
    names = set()
    for name in zip_names(bundle):
        top = name.split("/", 1)[0]
        if top.endswith(".dist-info"):
            names.add(canonicalize_name(top[: -len(".dist-info")].rsplit("-", 1)[0]))
    return names


# Running the bundler as an unprivileged user: root ignores file modes, so a test of an
# unreadable or read-only folder runs `bundle` as `nobody` (as CI's machines run as root).
# This checkout's interpreter lives under /root, which nobody cannot enter; Debian's
# /usr/bin/python3 runs the bundler from this checkout instead (click and packaging are
# pure Python, read from the dev virtualenv).
SYSTEM_PYTHON = Path("/usr/bin/python3")
UNPRIVILEGED_USER = "nobody"


def can_run_unprivileged() -> tuple[bool, str]:
    """Whether `run_unprivileged` works here, and why not when it does not."""
    import os
    import shutil

    if os.geteuid() != 0:
        return False, "not root: the tests' own user already meets file modes"
    if shutil.which("runuser") is None:
        if tools_required():
            missing("runuser", "apt-get install util-linux")
        return False, "runuser is not installed"
    if not SYSTEM_PYTHON.exists():
        if tools_required():
            missing(str(SYSTEM_PYTHON), "apt-get install python3")
        return False, f"{SYSTEM_PYTHON} is not installed (Debian's python3)"
    return True, ""


def unprivileged_folder(prefix: str = "bundler-nobody-") -> Path:
    """A fresh folder under /tmp that `nobody` owns and can write (the caller removes it)."""
    import os
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(folder, 0o755)
    shutil.chown(folder, UNPRIVILEGED_USER)
    return folder


def give_to_nobody(path: Path) -> None:
    """`chown -R nobody` of `path`, so `nobody` can write what the test wrote as root."""
    subprocess.run(["chown", "-R", UNPRIVILEGED_USER, str(path)], check=True)


def run_unprivileged(
    arguments: Sequence[str], cwd: Path, *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`bundle ARGUMENTS` in `cwd` as `nobody`, with Debian's Python running this checkout.

    Pass `--python /usr/bin/python3` (or another interpreter nobody can run) for sites
    that need no installed distributions.
    """
    import shutil
    import sysconfig

    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    packages = sysconfig.get_paths()["purelib"]  # click and packaging of the dev venv
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
        "PYTHONPATH": f"{REPO}:{packages}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [
            runuser,
            "-u",
            UNPRIVILEGED_USER,
            "--",
            str(SYSTEM_PYTHON),
            "-m",
            "bundler",
            *arguments,
        ],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


T = TypeVar("T")


def bounded(action: Callable[[], T], seconds: float = 120) -> T:
    """`action()`, failing the test instead of hanging (a FIFO opened for reading)."""
    done: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(action())
        except BaseException as error:  # handed to the test's thread
            failed.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if failed:
        raise failed[0]
    assert done, f"still running after {seconds} s"
    return done[0]


# Debian's Chromium headless, as the env notes give it for these machines: without the
# background-networking flags it keeps trying hosts the closed network refuses
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def png_colours(path: Path) -> int:
    """Distinct colours of an 8-bit RGB or RGBA PNG, decoded with zlib (no Pillow)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunk = data[offset + 8 : offset + 8 + length]
        header = chunk if kind == b"IHDR" else header
        idat += chunk if kind == b"IDAT" else b""
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6)
    step = 4 if colour_type == 6 else 3
    raw, stride = zlib.decompress(idat), width * step
    previous, colours = bytearray(stride), set()
    for row in range(height):
        kind, line = (
            raw[row * (stride + 1)],
            bytearray(raw[row * (stride + 1) + 1 : (row + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (
                    line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 255
        if row % 4 == 0:
            colours.update(bytes(line[i : i + step]) for i in range(0, stride, step * 4))
        previous = line
    return len(colours)


def tools_required() -> bool:
    """Whether this run promised every tool and service (`make test`, or CI)."""
    return os.environ.get("BUNDLER_TEST_TOOLS") == "required" or os.environ.get("CI") == "true"


def missing(what: str, install: str) -> NoReturn:
    """A tool or service a test needs is not here: fail where it must be (`make test` sets
    BUNDLER_TEST_TOOLS=required after installing and starting everything, and CI sets
    CI=true), skip elsewhere saying how to get it."""
    if tools_required():
        pytest.fail(f"{what} is missing: `make test` must install it ({install})")
    pytest.skip(f"{what} is missing: `make test` installs it ({install})")


def require_sample_venv() -> None:
    """sample_site/.venv, which `make test` creates."""
    if not (SAMPLE_SITE / ".venv" / "bin" / "python").exists():
        missing("sample_site/.venv", "make test creates it")
