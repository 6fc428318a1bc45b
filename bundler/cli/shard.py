"""`--shard K/N` and `--shard auto`: which share of the functions this machine builds.

`auto` reads the parallelism variables CI services set on each machine of a parallel job,
so a pipeline needs no script to turn them into K/N. Each service counts differently
(GitLab from 1, CircleCI and Buildkite from 0); the result is always 1-based.
"""

from __future__ import annotations

from collections.abc import Mapping

import click

# (service, index variable, total variable, the index of the first machine)
CI_SERVICES = (
    ("GitLab CI", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1),
    ("CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),
    ("Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
)


def parse_shard(value: str | None, environ: Mapping[str, str]) -> tuple[int, int] | None:
    """(K, N) from `K/N` or, for `auto`, from the CI service's variables in `environ`;
    click.BadParameter saying what is wrong otherwise."""
    if value is None:
        return None
    if value == "auto":
        return _from_ci(environ)
    index, _, count = value.partition("/")
    if not (_digits(index) and _digits(count) and 1 <= int(index) <= int(count)):
        raise click.BadParameter(f"{value!r} is not K/N with 1 <= K <= N (e.g. 2/4)")
    return int(index), int(count)


def _from_ci(environ: Mapping[str, str]) -> tuple[int, int]:
    for service, index_name, total_name, first in CI_SERVICES:
        index, total = environ.get(index_name), environ.get(total_name)
        if index is None and total is None:
            continue
        if index is None or total is None:
            missing = index_name if index is None else total_name
            raise click.BadParameter(
                f"auto: {service}'s {missing} is not set, only "
                f"{total_name if index is None else index_name}; "
                "run in a parallel job, or pass --shard K/N"
            )
        last = int(total) - 1 + first if _digits(total) else None
        if last is None or int(total) < 1 or not _digits(index) or not first <= int(index) <= last:
            raise click.BadParameter(
                f"auto: {service}'s {index_name}={index!r} and {total_name}={total!r} are not "
                f"a machine's index (from {first}) and a count of machines; "
                "pass --shard K/N"
            )
        return int(index) - first + 1, int(total)
    names = "; ".join(f"{s}: {i} and {t}" for s, i, t, _f in CI_SERVICES)
    raise click.BadParameter(
        f"auto: no CI parallelism variables are set ({names}); "
        "pass --shard K/N (on GitHub Actions, from a matrix: --shard ${{ matrix.shard }}/N)"
    )


def _digits(text: str) -> bool:
    """ASCII digits only: "²".isdigit() is true, but int("²") fails."""
    return text.isascii() and text.isdigit()
