"""Schedules: named ones and five-field cron expressions, with precise messages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundler.errors import BundlerError, Problem
from bundler.project.bindings import Binding
from bundler.project.schedule import NAMED_SCHEDULES, read_config, schedule_error
from bundler.project.source import TOO_DEEP, TOO_DEEP_HINT

FIVE = "(minute hour day-of-month month day-of-week)"


@pytest.mark.parametrize("schedule", [*NAMED_SCHEDULES, "@HOURLY", " @daily "])
def test_named_schedules_are_accepted(schedule: str) -> None:
    assert schedule_error(schedule) is None


@pytest.mark.parametrize(
    "schedule",
    [
        "* * * * *",
        "*/15 * * * *",
        "0 9 * * MON-FRI",
        "0 0 1 JAN *",
        "5,10 1-5/2 * * 0",
        "59 23 31 12 7",
        "0 0 1 1 0",
        "0 0 * jan-dec sun-sat",
        "0\t9  * *   1",
        "5/10 * * * *",
        "0 0 1-31/3 */2 1,3,5",
    ],
)
def test_valid_crons_are_accepted(schedule: str) -> None:
    assert schedule_error(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            "0 0 * * * *",
            f"schedule '0 0 * * * *' has 6 fields, a cron expression has 5 {FIVE}",
        ),
        ("* * * *", f"schedule '* * * *' has 4 fields, a cron expression has 5 {FIVE}"),
        ("", f"schedule '' has 0 fields, a cron expression has 5 {FIVE}"),
        (
            "60 * * * *",
            "schedule '60 * * * *': '60' is out of range for the minute field (0-59)",
        ),
        ("* 24 * * *", "schedule '* 24 * * *': '24' is out of range for the hour field (0-23)"),
        (
            "* * 0 * *",
            "schedule '* * 0 * *': '0' is out of range for the day of month field (1-31)",
        ),
        ("* * * 13 *", "schedule '* * * 13 *': '13' is out of range for the month field (1-12)"),
        (
            "* * * * 8",
            "schedule '* * * * 8': '8' is out of range for the day of week field (0-7)",
        ),
        ("*/0 * * * *", "schedule '*/0 * * * *': step 0 in the minute field"),
        ("5-1 * * * *", "schedule '5-1 * * * *': range '5-1' runs backwards in the minute field"),
        (
            "* * * * FRI-MON",
            "schedule '* * * * FRI-MON': range 'FRI-MON' runs backwards in the day of week field",
        ),
        ("1-2-3 * * * *", "schedule '1-2-3 * * * *': cannot read '1-2-3' in the minute field"),
        ("5,,10 * * * *", "schedule '5,,10 * * * *': cannot read '' in the minute field"),
        ("*/x * * * *", "schedule '*/x * * * *': cannot read '*/x' in the minute field"),
        (
            "0 0 * * MON-FRIDAY",
            "schedule '0 0 * * MON-FRIDAY': "
            "'FRIDAY' is out of range for the day of week field (0-7)",
        ),
        (
            "@every5m",
            "unknown schedule '@every5m'; use one of "
            "@yearly, @annually, @monthly, @weekly, @daily, @hourly",
        ),
    ],
)
def test_bad_schedules_are_rejected_with_a_precise_message(schedule: str, message: str) -> None:
    assert schedule_error(schedule) == message


def test_non_ascii_digits_are_rejected_not_a_crash() -> None:
    assert schedule_error("² * * * *") == (
        "schedule '² * * * *': '²' is out of range for the minute field (0-59)"
    )


# (name, lowest, highest, names starting at lowest)
FIELDS = [
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    ),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
]


@st.composite
def _value(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...]) -> str:
    number = draw(st.integers(low, high))
    index = number - low
    if index < len(names) and draw(st.booleans()):
        return draw(st.sampled_from([names[index], names[index].lower()]))
    return str(number)


@st.composite
def _part(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...]) -> str:
    kind = draw(st.sampled_from(["star", "value", "range"]))
    if kind == "star":
        span = "*"
    elif kind == "value":
        span = draw(_value(low, high, names))
    else:
        first = draw(st.integers(low, high))
        last = draw(st.integers(first, high))
        span = f"{first}-{last}"
    if draw(st.booleans()):
        span += f"/{draw(st.integers(1, 60))}"
    return span


@st.composite
def _field(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...]) -> str:
    return ",".join(draw(st.lists(_part(low, high, names), min_size=1, max_size=3)))


@st.composite
def _cron(draw: st.DrawFn) -> str:
    return " ".join(draw(_field(low, high, names)) for _, low, high, names in FIELDS)


@given(_cron())
def test_every_cron_of_in_range_parts_is_accepted(cron: str) -> None:
    assert schedule_error(cron) is None


@given(st.data())
def test_every_out_of_range_value_is_rejected(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(FIELDS) - 1))
    name, low, high, _names = FIELDS[position]
    bad = data.draw(
        st.integers(high + 1, 999) | (st.just(0) if low == 1 else st.integers(high + 1, 999))
    )
    fields = [data.draw(_field(lo, hi, ns)) for _, lo, hi, ns in FIELDS]
    fields[position] = data.draw(st.sampled_from([str(bad), f"{bad}/2", f"{low}-{bad}"]))
    cron = " ".join(fields)
    assert schedule_error(cron) == (
        f"schedule {cron!r}: '{bad}' is out of range for the {name} field ({low}-{high})"
    )


# --- the in-source `config` literal --------------------------------------------------------


def test_a_config_literal_too_deep_for_literal_eval_is_a_clear_error() -> None:
    # CPython's parser stops at 200 brackets, so this tree is built directly: the
    # guard is for a parser that allows more (literal_eval recurses once per level)
    value: ast.expr = ast.List(elts=[], ctx=ast.Load())
    for _ in range(5000):
        value = ast.List(elts=[value], ctx=ast.Load())
    settings = ast.Dict(keys=[ast.Constant("schedule")], values=[value])
    statement = ast.Assign(targets=[ast.Name("config", ast.Store())], value=settings, lineno=7)
    binding = Binding(name="config", kind="assignment", line=7, statement=statement, nested=False)
    with pytest.raises(BundlerError) as caught:
        read_config([binding], Path("cron.py"))
    assert caught.value.problems == (
        Problem(TOO_DEEP, file=Path("cron.py"), line=7, hint=TOO_DEEP_HINT),
    )
