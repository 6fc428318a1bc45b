"""`--fetch-wheels`: the target's wheel of the same version, checked and unpacked."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fetch_support import ARM311, DAMAGED, rewrite
from support import build_wheel

from bundler.environment.targets import Target
from bundler.files import record_hash
from bundler.pack.binaries import check_distribution
from bundler.pack.fetch import FetchError, fetch_wheel, read_unpacked, unpack_wheel

PY311 = Target.from_names("python3.11", "x86_64")
WHEEL = "tiny-2.0-py3-none-any.whl"


def test_unpack_lays_out_a_site_packages(tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path,
        "tiny",
        "2.0",
        {
            "tiny/__init__.py": "X = 1\n",
            "tiny-2.0.data/platlib/tiny_ext.py": "Y = 2\n",
            "tiny-2.0.data/scripts/tiny-run": "#!python\n",
        },
    )
    unpack_wheel(wheel, tmp_path / "site")
    dist = read_unpacked(tmp_path / "site")
    assert (dist.name, dist.version) == ("tiny", "2.0")
    assert [f.arcname for f in dist.files] == [
        "tiny-2.0.dist-info/METADATA",
        "tiny-2.0.dist-info/RECORD",
        "tiny-2.0.dist-info/WHEEL",
        "tiny/__init__.py",
        "tiny_ext.py",
    ]
    assert not list(tmp_path.glob(".unpack-*"))
    # the written RECORD is a real one: it verifies against the files it lists
    for line in (tmp_path / "site" / "tiny-2.0.dist-info" / "RECORD").read_text().splitlines():
        name, digest, size = line.split(",")
        if digest:
            data = (tmp_path / "site" / name).read_bytes()
            assert (digest, int(size)) == (record_hash(data), len(data)), line


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"../evil.py": b"x"}, f"{WHEEL} holds a path outside its folder: ../evil.py"),
        ({"/abs.py": b"x"}, f"{WHEEL} holds a path outside its folder: /abs.py"),
        ({"extra.py": b"x"}, f"{WHEEL} holds files its RECORD does not list: extra.py"),
        (
            {"tiny/__init__.py": b"X = 666\n"},
            f"{WHEEL}: tiny/__init__.py does not match its RECORD hash; {DAMAGED}",
        ),
    ],
)  # fmt: skip
def test_unpack_refuses_bad_wheels(tmp_path: Path, change: dict[str, bytes], message: str) -> None:
    wheel = build_wheel(tmp_path, "tiny", "2.0", {"tiny/__init__.py": "X = 1\n"})
    bad = rewrite(wheel, change)
    bad = bad.rename(wheel)
    with pytest.raises(FetchError) as raised:
        unpack_wheel(bad, tmp_path / "site")
    assert str(raised.value) == message
    assert not (tmp_path / "site").exists()


@pytest.mark.slow
def test_fetch_markupsafe_for_arm64(tmp_path: Path) -> None:
    start = time.perf_counter()
    fetched = fetch_wheel("markupsafe", "3.0.2", ARM311, tmp_path)
    cold = time.perf_counter() - start
    assert fetched.wheel.name == (
        "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    )
    assert fetched.distribution.location == (
        tmp_path
        / "targets"
        / "python3.11-arm64"
        / "markupsafe-3.0.2"
        / "MarkupSafe-3.0.2.dist-info"
    )
    arcnames = [f.arcname for f in fetched.distribution.files]
    assert "markupsafe/_speedups.cpython-311-aarch64-linux-gnu.so" in arcnames
    assert check_distribution(fetched.distribution, ARM311) == []
    # the second time, from the cache: pip is never run
    start = time.perf_counter()
    again = fetch_wheel("markupsafe", "3.0.2", ARM311, tmp_path, pip=("false",))
    assert again == fetched
    assert time.perf_counter() - start < cold


@pytest.mark.slow
def test_no_wheel_names_the_newest_that_has_one(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as raised:
        fetch_wheel("numpy", "2.4.6", PY311, tmp_path)
    assert str(raised.value) == (
        "numpy 2.4.6 has no wheel for python3.11 on x86_64 (Amazon Linux 2, glibc 2.26) on "
        "the package index; the newest version with one is 2.2.6: pin numpy==2.2.6"
    )
