"""Lambda's size limits, with a breakdown of what takes the space."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.errors import BundlerError
from bundler.pack.contents import Contents, Entry
from bundler.pack.limits import (
    UNZIPPED_LIMIT,
    ZIPPED_LIMIT,
    breakdown,
    check_unzipped,
    check_zipped,
    fixes,
    human_size,
)

MiB = 1024 * 1024
MAIN = Path("/site/netlify/functions/fn.py")


def contents(*entries: tuple[str, str, int]) -> Contents:
    """(arcname, owner, size) entries; sources are never read by the checks."""
    return Contents(
        tuple(
            Entry(
                arcname=name,
                source=Path("/nowhere", name),
                owner=owner,
                size=size,
                executable=False,
            )
            for name, owner, size in entries
        )
    )


def test_limits_are_lambdas() -> None:
    assert ZIPPED_LIMIT == 52_428_800
    assert UNZIPPED_LIMIT == 262_144_000


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (729 * 1024, "729.0 KiB"),
        (MiB, "1.0 MiB"),
        (ZIPPED_LIMIT, "50.0 MiB"),
        (UNZIPPED_LIMIT, "250.0 MiB"),
        (260 * MiB + 60 * 1024, "260.1 MiB"),
        (3 * 1024 * MiB, "3072.0 MiB"),  # limits are written in MiB: no GiB
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


BIG = contents(
    ("fn.py", "", 100),
    ("numpy/core.so", "numpy", 60 * MiB),
    ("numpy/linalg.so", "numpy", 20 * MiB),
    ("scipy/big.so", "scipy", 40 * MiB),
    ("pandas/a.so", "pandas", 30 * MiB),
    ("data/model.bin", "", 10 * MiB),
)


def test_breakdown_names_the_largest_distributions_and_files() -> None:
    assert breakdown(BIG) == (
        "largest distributions: numpy 80.0 MiB, scipy 40.0 MiB, pandas 30.0 MiB; "
        "largest files: numpy/core.so 60.0 MiB, scipy/big.so 40.0 MiB, pandas/a.so 30.0 MiB"
    )


def test_breakdown_ties_are_sorted_by_name() -> None:
    tied = contents(("b.txt", "", 5), ("a.txt", "", 5), ("z/x.py", "zed", 5))
    assert breakdown(tied, count=2) == (
        "largest distributions: first-party code 10 B, zed 5 B; largest files: a.txt 5 B, b.txt 5 B"
    )


def test_small_bundles_pass_silently() -> None:
    small = contents(("fn.py", "", 100))
    assert check_unzipped(small, "fn", MAIN) == []
    assert check_zipped(100, small, "fn", MAIN) == []


def test_exactly_at_the_limit_passes_with_a_warning() -> None:
    at_limit = contents(("blob", "", UNZIPPED_LIMIT))
    [warning] = check_unzipped(at_limit, "fn", MAIN)
    assert warning.severity == "warning"
    [warning] = check_zipped(ZIPPED_LIMIT, at_limit, "fn", MAIN)
    assert warning.severity == "warning"


def test_unzipped_over_the_limit_message() -> None:
    huge = contents(*((f"lib{i}/x.so", f"lib{i}", 60 * MiB) for i in range(5)), ("fn.py", "", 10))
    with pytest.raises(BundlerError) as raised:
        check_unzipped(huge, "fn", MAIN)
    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.function) == (MAIN, None, "fn")
    assert problem.format(Path("/site")) == (
        "netlify/functions/fn.py: the zip is 300.0 MiB unzipped, over Lambda's limit of "
        "250.0 MiB; largest distributions: lib0 60.0 MiB, lib1 60.0 MiB, lib2 60.0 MiB; "
        "largest files: lib0/x.so 60.0 MiB, lib1/x.so 60.0 MiB, lib2/x.so 60.0 MiB; "
        "move lib0 (60.0 MiB) to a Lambda layer or split the function"
    )


def test_zipped_over_the_limit_message() -> None:
    with pytest.raises(BundlerError) as raised:
        check_zipped(ZIPPED_LIMIT + 1, BIG, "fn", MAIN)
    [problem] = raised.value.problems
    assert problem.format(Path("/site")) == (
        "netlify/functions/fn.py: the zip is 50.0 MiB zipped, over Lambda's limit of 50.0 MiB; "
        "largest distributions: numpy 80.0 MiB, scipy 40.0 MiB, pandas 30.0 MiB; "
        "largest files: numpy/core.so 60.0 MiB, scipy/big.so 40.0 MiB, pandas/a.so 30.0 MiB; "
        "move numpy (80.0 MiB) to a Lambda layer or split the function"
    )


def test_the_fixes_that_apply_come_with_their_savings() -> None:
    sdk = contents(
        ("boto3/x.py", "boto3", 2 * MiB),
        ("botocore/data.json", "botocore", 90 * MiB),
        ("jmespath/x.py", "jmespath", 1 * MiB),
        ("pandas/a.so", "pandas", 60 * MiB),
        ("model.bin", "", 120 * MiB),
        ("fn.py", "", 10),
    )
    assert fixes(sdk) == (
        'exclude what the Lambda runtime provides ([tool.bundler] exclude = ["boto3", '
        '"botocore", "jmespath"] saves 93.0 MiB), move pandas (60.0 MiB) to a Lambda layer, '
        "keep model.bin (120.0 MiB) out of the zip and fetch it at run time (from S3, say) "
        "or split the function"
    )
    assert fixes(contents(("fn.py", "", 10))) == "split the function"


def test_warns_over_80_percent() -> None:
    heavier = Contents(BIG.entries + contents(("x.bin", "", 60 * MiB)).entries)
    [warning] = check_unzipped(heavier, "fn", MAIN)
    assert warning.severity == "warning"
    assert warning.hint is None
    assert warning.message.startswith(
        "the zip is 220.0 MiB unzipped, 88% of Lambda's limit of 250.0 MiB; largest "
        "distributions: numpy 80.0 MiB, first-party code 70.0 MiB, scipy 40.0 MiB"
    )
    [warning] = check_zipped(45 * MiB, BIG, "fn", MAIN)
    assert warning.message.startswith(
        "the zip is 45.0 MiB zipped, 90% of Lambda's limit of 50.0 MiB"
    )
    assert check_zipped(40 * MiB, BIG, "fn", MAIN) == []  # 80 % exactly: no warning
