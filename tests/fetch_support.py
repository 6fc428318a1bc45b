"""`--fetch-wheels` without a network: tiny 2.0 with a native module, installed for x86_64
and served for arm64 from a local folder that pip reads as its only index; damaged copies
of a wheel."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
from build_support import make_site
from support import build_wheel, make_venv, pip_install

from bundler.environment.targets import Target

ARM311 = Target.from_names("python3.11", "arm64")
ARM_TAG = "cp311-cp311-manylinux_2_17_aarch64"
ARM_WHEEL = f"tiny-2.0-{ARM_TAG}.whl"
PAYLOAD = random.Random(3).randbytes(300_000)  # incompressible, larger than a small tmpfs
DAMAGED = "the index served a damaged wheel: build again, and tell its maintainers if it stays so"


def elf(machine: int) -> bytes:
    """The first bytes of a 64-bit little-endian ELF shared object for `machine`."""
    header = b"\x7fELF\x02\x01\x01" + bytes(9) + (3).to_bytes(2, "little")
    return header + machine.to_bytes(2, "little") + (1).to_bytes(4, "little") + bytes(40)


def tiny_files(machine: int, arch: str) -> dict[str, str | bytes]:
    """tiny 2.0's files, its native module built for ELF `machine` and wheel `arch`."""
    return {
        "tiny/__init__.py": "X = 1\n",
        f"tiny/_speed.cpython-311-{arch}-linux-gnu.so": elf(machine),
        "tiny/payload.bin": PAYLOAD,
    }


def make_house(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local index holding the arm64 wheel of tiny 2.0, the only one pip may use."""
    build_wheel(folder, "tiny", "2.0", tiny_files(183, "aarch64"), tag=ARM_TAG)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def make_arm_site(root: Path) -> tuple[Path, Path]:
    """A site whose environment holds tiny 2.0 built for x86_64, to build for arm64."""
    x86 = build_wheel(
        root / "installed",
        "tiny",
        "2.0",
        tiny_files(62, "x86_64"),
        tag="cp311-cp311-manylinux_2_17_x86_64",
    )
    python = make_venv(root / "venv")
    pip_install(python, "--no-index", "--no-deps", str(x86))
    site = make_site(
        root / "site",
        {"uses.py": "import tiny\n\n\ndef handler(event, context):\n    return tiny.X\n"},
        pyproject='[project]\nname = "s"\nversion = "1"\ndependencies = ["tiny"]\n',
    )
    return site, python


def rewrite(wheel: Path, change: dict[str, bytes]) -> Path:
    """A copy of `wheel` with members replaced or added."""
    copy = wheel.with_name("changed-" + wheel.name)
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(copy, "w") as target:
        for info in source.infolist():
            target.writestr(info, change.pop(info.filename, source.read(info)))
        for name, data in change.items():
            target.writestr(name, data)
    return copy
