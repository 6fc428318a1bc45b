"""Native code for the right runtime: WHEEL tags, ELF machines, other OSes' binaries."""

from __future__ import annotations

import platform
import sysconfig
import time
from importlib import metadata
from pathlib import Path

import pytest
from fetch_support import elf
from support import SAMPLE_SITE, build_wheel

from bundler.environment.distributions import Distribution, read_distribution
from bundler.environment.targets import Target
from bundler.errors import Problem
from bundler.pack.binaries import check_distribution, native_kind, wheel_tags
from bundler.pack.fetch import read_unpacked, unpack_wheel

PY311 = Target.from_names("python3.11", "x86_64")
PY312 = Target.from_names("python3.12", "x86_64")
ARM311 = Target.from_names("python3.11", "arm64")
NEEDS_PY311 = (
    "the runtime needs a cp311, abi3 or py3 wheel for manylinux_2_26_x86_64 or older, "
    "or a pure-Python one"
)
FIX_ARM = (
    "install the wheel built for python3.11 on arm64 "
    "(bundle build --runtime python3.11 --arch arm64 fetches it, unless --offline)"
)
SAMPLE_LIB = SAMPLE_SITE / ".venv" / "lib" / "python3.11"


@pytest.fixture(scope="module")
def real_extension() -> bytes:
    """A real x86_64 extension module, copied from a package of the tool's virtualenv."""
    if platform.machine() != "x86_64":
        pytest.skip("needs an x86_64 host")
    found = Path(sysconfig.get_paths()["platlib"]).glob("*/*.cpython-311-x86_64-linux-gnu.so")
    return min(found, key=lambda p: p.stat().st_size).read_bytes()


def installed(tmp_path: Path, name: str, files: dict[str, bytes | str], tag: str) -> Distribution:
    """A distribution as a wheel with `tag` unpacks into a site-packages folder."""
    wheel = build_wheel(tmp_path / "wheels", name, "1.0", files, tag=tag)
    unpack_wheel(wheel, tmp_path / "site" / name)
    return read_unpacked(tmp_path / "site" / name)


def messages(problems: list[Problem]) -> list[str]:
    return [f"{p.severity}: {p.message}; {p.hint}" for p in problems]


def test_manylinux_2_28_is_refused_by_python311(tmp_path: Path, real_extension: bytes) -> None:
    dist = installed(
        tmp_path,
        "fastnum",
        {"fastnum/_core.cpython-311-x86_64-linux-gnu.so": real_extension},
        "cp311-cp311-manylinux_2_28_x86_64",
    )
    assert messages(check_distribution(dist, PY311)) == [
        "error: fastnum 1.0 has no wheel for python3.11 on x86_64 (Amazon Linux 2, glibc "
        "2.26): its tags are cp311-cp311-manylinux_2_28_x86_64 (it needs glibc 2.28, the "
        f"runtime has 2.26); {NEEDS_PY311}; install a version that has wheels for python3.11 "
        "on x86_64, or build without --offline to fetch them"
    ]
    assert check_distribution(dist, PY311)[0].file == dist.location


def test_manylinux_2_28_is_accepted_by_python312(tmp_path: Path, real_extension: bytes) -> None:
    # cp311-abi3: the stable ABI is the only way one build loads on both 3.11 and 3.12
    dist = installed(
        tmp_path,
        "fastnum",
        {"fastnum/_core.abi3.so": real_extension},
        "cp311-abi3-manylinux_2_28_x86_64",
    )
    assert check_distribution(dist, PY312) == []
    assert [p.message.split(":")[1] for p in check_distribution(dist, PY311)] == [
        " its tags are cp311-abi3-manylinux_2_28_x86_64 (it needs glibc 2.28, the runtime has 2.26); the runtime needs a cp311, abi3 or py3 wheel for manylinux_2_26_x86_64 or older, or a pure-Python one"  # noqa: E501
    ]


def test_cp311_wheel_for_python312(tmp_path: Path) -> None:
    dist = installed(tmp_path, "fastnum", {}, "cp311-cp311-manylinux_2_28_x86_64")
    (problem,) = check_distribution(dist, PY312)
    assert "(built for CPython 3.11)" in problem.message


def test_elf_machine_tells_the_arches_apart(tmp_path: Path, real_extension: bytes) -> None:
    # a pure-looking tag, so only the files can tell
    files: dict[str, bytes | str] = {
        "mixed/__init__.py": "",
        "mixed/_x86.cpython-311-x86_64-linux-gnu.so": real_extension,
        "mixed.libs/libarm-1234.so.1": elf(183),
    }
    dist = installed(tmp_path, "mixed", files, "py3-none-any")
    assert messages(check_distribution(dist, ARM311)) == [
        "error: mixed 1.0 has 1 file of native code for x86_64: "
        "mixed/_x86.cpython-311-x86_64-linux-gnu.so; python3.11 on arm64 (Amazon Linux 2, "
        f"glibc 2.26) needs aarch64 Linux code for cp311; {FIX_ARM}"
    ]
    assert messages(check_distribution(dist, PY311))[0].startswith(
        "error: mixed 1.0 has 1 file of native code for aarch64: mixed.libs/libarm-1234.so.1;"
    )


def test_other_oses_and_pythons(tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {
        "other/_mac.cpython-311-darwin.so": b"\xcf\xfa\xed\xfe" + bytes(60),
        "other/_win.pyd": b"MZ" + bytes(58) + (64).to_bytes(4, "little") + b"PE\0\0",
        "other/launcher.exe": b"MZ" + bytes(58) + (64).to_bytes(4, "little") + b"PE\0\0",
        "other/_py312.cpython-312-x86_64-linux-gnu.so": elf(62),
        "other/Thing.class": b"\xca\xfe\xba\xbe\x00\x00\x00\x34",
        "other/data.bin": b"\x7fELF\x02\x01\x01\x00not-really-a-library",
    }
    dist = installed(tmp_path, "other", files, "py3-none-any")
    assert [p.message.split(";")[0] for p in check_distribution(dist, PY311)] == [
        "other 1.0 has 1 file of native code for macOS (Mach-O): other/_mac.cpython-311-darwin.so",
        "other 1.0 has 1 file built for CPython 3.12: other/_py312.cpython-312-x86_64-linux-gnu.so",
        "other 1.0 has 1 file of native code for Windows (PE): other/_win.pyd",
    ]


def test_local_build_is_a_warning(tmp_path: Path) -> None:
    dist = installed(tmp_path, "localbuild", {}, "cp311-cp311-linux_x86_64")
    assert messages(check_distribution(dist, PY311)) == [
        "warning: localbuild 1.0 was built on this machine (tags cp311-cp311-linux_x86_64): "
        "it may need a newer glibc than python3.11 on x86_64 (Amazon Linux 2, glibc 2.26) has; "
        "install a manylinux wheel, or build it in an image of the Lambda runtime"
    ]


def test_without_wheel_or_record(tmp_path: Path) -> None:
    dist = installed(tmp_path, "bare", {"bare/__init__.py": ""}, "py3-none-any")
    (dist.location / "WHEEL").unlink()
    (dist.location / "RECORD").unlink()
    bare = read_unpacked(tmp_path / "site" / "bare")
    assert wheel_tags(bare) is None
    assert messages(check_distribution(bare, PY311)) == [
        "warning: bare 1.0 cannot be checked for python3.11 on x86_64: it has no WHEEL or "
        "RECORD file; reinstall it from a wheel with pip"
    ]


def test_native_kind_reads_headers(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(elf(183))
    assert native_kind(path) is not None
    assert native_kind(path).machine == "aarch64"  # type: ignore[union-attr]
    path.write_bytes(b"import os\n")
    assert native_kind(path) is None


@pytest.mark.sample_site
def test_sample_site_is_fast_and_fits_python311() -> None:
    site = next(SAMPLE_LIB.glob("site-packages"))
    dists = [read_distribution(d) for d in metadata.distributions(path=[str(site)])]
    start = time.perf_counter()
    problems = [p for d in dists if d is not None for p in check_distribution(d, PY311)]
    elapsed = time.perf_counter() - start
    assert problems == []
    assert elapsed < 0.5  # 3 to 12 ms measured over 1,717 files


@pytest.mark.slow
def test_real_numpy_for_aarch64(tmp_path_factory: pytest.TempPathFactory) -> None:
    """numpy 2.2.6 for manylinux2014_aarch64 from PyPI: right for arm64, wrong for x86_64."""
    from bundler.pack.fetch import fetch_wheel

    cache = tmp_path_factory.getbasetemp() / "fetch-cache"
    fetched = fetch_wheel("numpy", "2.2.6", ARM311, cache)
    assert check_distribution(fetched.distribution, ARM311) == []
    (tags,) = [p.message for p in check_distribution(fetched.distribution, PY311)]
    assert "(built for aarch64)" in tags
    files = [(f.arcname, f.source) for f in fetched.distribution.files]
    from bundler.pack.binaries import check_files

    (problem,) = check_files(files, PY311, "numpy 2.2.6")
    assert problem.message.startswith("numpy 2.2.6 has ")
    assert " files of native code for aarch64: numpy.libs/" in problem.message
