"""Next run times of scheduled functions (UTC), and the scheduler that fires them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundler.serve.cron import Cron, netlify_time, next_runs
from bundler.serve.scheduler import Scheduler

AT = datetime(2024, 6, 1, 12, 30, 15, tzinfo=UTC)  # a Saturday


def times(schedule: str, count: int = 3, after: datetime = AT) -> list[str]:
    return [netlify_time(t) for t in next_runs(schedule, after, count)]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("* * * * *", ["2024-06-01T12:31:00.000Z", "2024-06-01T12:32:00.000Z"]),
        ("@hourly", ["2024-06-01T13:00:00.000Z", "2024-06-01T14:00:00.000Z"]),
        ("@daily", ["2024-06-02T00:00:00.000Z", "2024-06-03T00:00:00.000Z"]),
        ("@weekly", ["2024-06-02T00:00:00.000Z", "2024-06-09T00:00:00.000Z"]),
        ("@monthly", ["2024-07-01T00:00:00.000Z", "2024-08-01T00:00:00.000Z"]),
        ("@yearly", ["2025-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]),
        ("*/15 9-17 * * MON-FRI", ["2024-06-03T09:00:00.000Z", "2024-06-03T09:15:00.000Z"]),
        ("30 12 * * *", ["2024-06-02T12:30:00.000Z", "2024-06-03T12:30:00.000Z"]),
        ("0 0 29 2 *", ["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"]),
        ("5/20 * * * *", ["2024-06-01T12:45:00.000Z", "2024-06-01T13:05:00.000Z"]),
        ("0 8 * * 7", ["2024-06-02T08:00:00.000Z", "2024-06-09T08:00:00.000Z"]),
    ],
)
def test_next_runs(schedule: str, expected: list[str]) -> None:
    assert times(schedule, 2) == expected


def test_day_of_month_or_day_of_week_when_both_are_set() -> None:
    # the 1st of the month, or any Monday (cron's rule)
    assert times("0 0 1 * MON", 3) == [
        "2024-06-03T00:00:00.000Z",
        "2024-06-10T00:00:00.000Z",
        "2024-06-17T00:00:00.000Z",
    ]
    assert times("0 0 1 * MON", 1, datetime(2024, 6, 25, tzinfo=UTC)) == [
        "2024-07-01T00:00:00.000Z"
    ]


def test_a_schedule_that_never_runs() -> None:
    assert next_runs("0 0 31 2 *", AT, 1) == []


def test_an_invalid_schedule_raises_schedule_py_message() -> None:
    with pytest.raises(ValueError, match="has 4 fields, a cron expression has 5"):
        Cron.parse("* * * *")


@given(
    st.sampled_from(["* * * * *", "@hourly", "*/7 * * * *", "0 */3 * * 1-5", "15 6 1,15 * *"]),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
)
def test_runs_are_later_ordered_and_match(schedule: str, after: datetime) -> None:
    cron = Cron.parse(schedule)
    runs = cron.next_runs(after, 3)
    assert runs == sorted(runs) and len(set(runs)) == 3
    assert runs[0] > after and runs[0] - after <= timedelta(days=31)
    for run in runs:
        assert run.second == 0 and run.minute in cron.minutes and run.hour in cron.hours
        assert cron.runs_on(run)


def test_the_scheduler_fires_with_the_following_run() -> None:
    now = [datetime(2024, 6, 1, 12, 29, 59, 950000, tzinfo=UTC)]
    fired: list[tuple[str, str]] = []
    done = threading.Event()

    def run(name: str, next_run: str) -> None:
        fired.append((name, next_run))
        done.set()

    scheduler = Scheduler(run, clock=lambda: now[0])
    scheduler.replace({"every-minute": "* * * * *", "daily": "@daily"})
    scheduler.start()
    try:
        now[0] = datetime(2024, 6, 1, 12, 30, 0, 10000, tzinfo=UTC)
        assert done.wait(5)
    finally:
        scheduler.stop()
    assert fired == [("every-minute", "2024-06-01T12:31:00.000Z")]


def test_a_run_missed_by_more_than_a_minute_is_skipped() -> None:
    now = [datetime(2024, 6, 1, 12, 29, 30, tzinfo=UTC)]
    fired: list[str] = []
    scheduler = Scheduler(lambda name, when: fired.append(when), clock=lambda: now[0])
    scheduler.replace({"f": "30 12 * * *"})
    now[0] = datetime(2024, 6, 1, 12, 45, tzinfo=UTC)  # the machine slept through 12:30
    scheduler.start()
    try:
        threading.Event().wait(0.3)
    finally:
        scheduler.stop()
    assert fired == []
