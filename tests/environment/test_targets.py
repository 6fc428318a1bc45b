"""The Lambda runtime table: versions, glibc, machines and the wheel tags each accepts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from packaging.tags import Tag, parse_tag

from bundler.environment.targets import RUNTIMES, Target, normalise_arch
from bundler.errors import UsageError


def test_python311_on_x86_64() -> None:
    target = Target.from_names("python3.11", "x86_64")
    assert (target.python, target.glibc, target.machine, target.os) == (
        (3, 11),
        (2, 26),
        "x86_64",
        "Amazon Linux 2",
    )
    assert target.platforms[:3] == (
        "manylinux_2_26_x86_64",
        "manylinux_2_25_x86_64",
        "manylinux_2_24_x86_64",
    )
    assert target.platforms[-3:] == (
        "manylinux_2_6_x86_64",
        "manylinux_2_5_x86_64",
        "manylinux1_x86_64",
    )
    assert "manylinux2014_x86_64" in target.platforms
    assert "manylinux2010_x86_64" in target.platforms
    assert str(target.tags[0]) == "cp311-cp311-manylinux_2_26_x86_64"
    assert str(target.tags[-1]) == "py30-none-any"
    assert target.describe() == "python3.11 on x86_64 (Amazon Linux 2, glibc 2.26)"


def test_python312_on_arm64() -> None:
    target = Target.from_names("python3.12", "aarch64")
    assert (target.arch, target.machine, target.glibc) == ("arm64", "aarch64", (2, 34))
    assert target.platforms[0] == "manylinux_2_34_aarch64"
    assert target.platforms[-2:] == ("manylinux_2_17_aarch64", "manylinux2014_aarch64")
    assert all(p.endswith("_aarch64") for p in target.platforms)


@pytest.mark.parametrize(
    ("runtime", "arch", "tag", "accepted"),
    [
        ("python3.11", "x86_64", "cp311-cp311-manylinux_2_17_x86_64", True),
        ("python3.11", "x86_64", "cp311-cp311-manylinux2014_x86_64", True),
        ("python3.11", "x86_64", "cp311-cp311-manylinux_2_26_x86_64", True),
        ("python3.11", "x86_64", "cp311-cp311-manylinux_2_28_x86_64", False),
        ("python3.12", "x86_64", "cp312-cp312-manylinux_2_28_x86_64", True),
        ("python3.12", "x86_64", "cp312-cp312-manylinux_2_35_x86_64", False),
        ("python3.11", "x86_64", "cp311-cp311-manylinux_2_17_aarch64", False),
        ("python3.11", "arm64", "cp311-cp311-manylinux_2_17_aarch64", True),
        ("python3.11", "x86_64", "cp310-cp310-manylinux_2_17_x86_64", False),
        ("python3.12", "x86_64", "cp38-abi3-manylinux1_x86_64", True),
        ("python3.11", "x86_64", "cp311-cp311-musllinux_1_2_x86_64", False),
        ("python3.11", "x86_64", "cp311-cp311-macosx_11_0_arm64", False),
        ("python3.11", "x86_64", "cp311-cp311-linux_x86_64", False),
        ("python3.8", "arm64", "py3-none-any", True),
        ("python3.8", "arm64", "py2.py3-none-any", True),
        ("python3.14", "x86_64", "cp314-none-any", True),
    ],
)
def test_accepts(runtime: str, arch: str, tag: str, accepted: bool) -> None:
    target = Target.from_names(runtime, arch)
    assert any(target.accepts(t) for t in parse_tag(tag)) is accepted


def test_tags_never_come_from_the_host() -> None:
    for runtime in RUNTIMES:
        target = Target.from_names(runtime, "arm64")
        assert all(t.platform == "any" or t.platform.endswith("_aarch64") for t in target.tags)
        assert Tag("py3", "none", "any") in target.tags


def test_unknown_runtime_lists_the_supported_ones() -> None:
    with pytest.raises(UsageError) as raised:
        Target.from_names("python3.7")
    assert str(raised.value) == (
        "unknown Lambda runtime 'python3.7'; use one of python3.8, python3.9, python3.10, "
        "python3.11, python3.12, python3.13, python3.14"
    )


def test_unknown_arch() -> None:
    with pytest.raises(UsageError) as raised:
        Target.from_names("python3.11", "ppc64le")
    assert str(raised.value) == (
        "unknown architecture 'ppc64le'; use --arch x86_64 or --arch arm64 "
        "(also accepted: amd64, aarch64)"
    )


@pytest.mark.parametrize(
    ("name", "arch"),
    [("x86_64", "x86_64"), ("AMD64", "x86_64"), ("arm64", "arm64"), ("aarch64", "arm64"),
     ("sparc", None)],
)  # fmt: skip
def test_normalise_arch(name: str, arch: str | None) -> None:
    assert normalise_arch(name) == arch


def test_for_python() -> None:
    assert Target.for_python((3, 11, 7), "arm64").runtime == "python3.11"
    with pytest.raises(UsageError) as raised:
        Target.for_python((3, 15, 0))
    assert str(raised.value) == (
        "Python 3.15 is not a Lambda runtime; use an interpreter of one of python3.8, "
        "python3.9, python3.10, python3.11, python3.12, python3.13, python3.14, or pass --runtime"
    )


def test_marker_environment() -> None:
    target = Target.from_names("python3.12", "arm64")
    assert replace(target, patch=3).marker_environment() == {
        "implementation_name": "cpython",
        "implementation_version": "3.12.3",
        "os_name": "posix",
        "platform_machine": "aarch64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": "3.12.3",
        "python_version": "3.12",
        "sys_platform": "linux",
    }
    assert target.runtime == "python3.12"
