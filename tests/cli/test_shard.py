"""`--shard K/N` and `--shard auto` from the CI services' parallelism variables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.cli.shard import CI_SERVICES, parse_shard

CI_VARIABLES = [name for _s, index, total, _f in CI_SERVICES for name in (index, total)]


@pytest.mark.parametrize(
    ("environ", "shard"),
    [
        ({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "4"}, (1, 4)),  # GitLab counts from 1
        ({"CI_NODE_INDEX": "4", "CI_NODE_TOTAL": "4"}, (4, 4)),
        ({"CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "3"}, (1, 3)),  # CircleCI from 0
        ({"CIRCLE_NODE_INDEX": "2", "CIRCLE_NODE_TOTAL": "3"}, (3, 3)),
        ({"BUILDKITE_PARALLEL_JOB": "0", "BUILDKITE_PARALLEL_JOB_COUNT": "2"}, (1, 2)),
        ({"BUILDKITE_PARALLEL_JOB": "1", "BUILDKITE_PARALLEL_JOB_COUNT": "2"}, (2, 2)),
        ({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "1", "PATH": "/bin"}, (1, 1)),
    ],
    ids=[
        "gitlab first",
        "gitlab last",
        "circle first",
        "circle last",
        "bk first",
        "bk last",
        "one machine",
    ],
)
def test_auto_reads_each_ci_service_and_counts_from_one(
    environ: dict[str, str], shard: tuple[int, int]
) -> None:
    assert parse_shard("auto", environ) == shard


def test_every_machine_of_a_parallel_job_gets_its_own_shard() -> None:
    first_machine = {"CI_NODE_INDEX": 1, "CIRCLE_NODE_INDEX": 0, "BUILDKITE_PARALLEL_JOB": 0}
    assert [index for _s, index, _t, _f in CI_SERVICES] == list(first_machine)
    for _service, index, total, _first in CI_SERVICES:
        first = first_machine[index]  # as each service documents it, not the table under test
        shards = [parse_shard("auto", {index: str(k), total: "5"}) for k in range(first, first + 5)]
        assert shards == [(k, 5) for k in range(1, 6)]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {},
            "auto: no CI parallelism variables are set (GitLab CI: CI_NODE_INDEX and "
            "CI_NODE_TOTAL; CircleCI: CIRCLE_NODE_INDEX and CIRCLE_NODE_TOTAL; Buildkite: "
            "BUILDKITE_PARALLEL_JOB and BUILDKITE_PARALLEL_JOB_COUNT); pass --shard K/N (on "
            "GitHub Actions, from a matrix: --shard ${{ matrix.shard }}/N)",
        ),
        (
            {"CI_NODE_TOTAL": "3"},
            "auto: GitLab CI's CI_NODE_INDEX is not set, only CI_NODE_TOTAL; run in a "
            "parallel job, or pass --shard K/N",
        ),
        (
            {"CIRCLE_NODE_INDEX": "3", "CIRCLE_NODE_TOTAL": "3"},  # 0-based: 3 is a 4th
            "auto: CircleCI's CIRCLE_NODE_INDEX='3' and CIRCLE_NODE_TOTAL='3' are not a "
            "machine's index (from 0) and a count of machines; pass --shard K/N",
        ),
        (
            {"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "3"},  # GitLab is 1-based
            "auto: GitLab CI's CI_NODE_INDEX='0' and CI_NODE_TOTAL='3' are not a "
            "machine's index (from 1) and a count of machines; pass --shard K/N",
        ),
        (
            {"BUILDKITE_PARALLEL_JOB": "x", "BUILDKITE_PARALLEL_JOB_COUNT": "2"},
            "auto: Buildkite's BUILDKITE_PARALLEL_JOB='x' and BUILDKITE_PARALLEL_JOB_COUNT='2' "
            "are not a machine's index (from 0) and a count of machines; pass --shard K/N",
        ),
        (
            {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "0"},
            "auto: GitLab CI's CI_NODE_INDEX='1' and CI_NODE_TOTAL='0' are not a "
            "machine's index (from 1) and a count of machines; pass --shard K/N",
        ),
    ],
    ids=["none", "half", "past the end", "gitlab zero", "not a number", "no machines"],
)
def test_auto_refuses_what_is_not_a_parallel_job(environ: dict[str, str], message: str) -> None:
    with pytest.raises(click.BadParameter) as raised:
        parse_shard("auto", environ)
    assert raised.value.message == message


def test_auto_without_ci_is_a_usage_error_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no site here: the option is refused before it is looked at
    result = CliRunner().invoke(main, ["build", "--shard", "auto"])
    assert result.exit_code == 2
    assert "Invalid value for '--shard': auto: no CI parallelism variables are set" in (
        result.stderr
    )
    assert result.stdout == ""
    document = CliRunner().invoke(main, ["build", "--shard", "auto", "--json"])
    assert document.exit_code == 2
    report = json.loads(document.stdout)
    assert report["ok"] is False
    assert "no CI parallelism variables are set" in report["problems"][0]["message"]


def test_auto_in_a_ci_job_builds_that_machines_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    functions = tmp_path / "netlify" / "functions"
    functions.mkdir(parents=True)
    for index in range(8):
        (functions / f"fn{index}.py").write_text("def handler(event, context):\n    return 1\n")
    monkeypatch.chdir(tmp_path)
    built: list[set[str]] = []
    for machine in range(3):
        out = f"dist/machine-{machine}"
        result = CliRunner().invoke(
            main,
            ["build", "--shard", "auto", "--out", out, "--no-cache", "--python", sys.executable],
            env={"CIRCLE_NODE_INDEX": str(machine), "CIRCLE_NODE_TOTAL": "3"},
        )
        assert result.exit_code == 0, result.output
        manifest = json.loads((tmp_path / out / "manifest.json").read_text())
        built.append({f["name"] for f in manifest["functions"]})
    assert sorted(n for names in built for n in names) == sorted(f"fn{i}" for i in range(8))
    assert all(built)  # 8 functions over 3 machines: each machine has work
