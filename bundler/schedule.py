"""Schedules of scheduled functions: five-field cron expressions and `@hourly`-style names."""

from __future__ import annotations

import re

NAMED_SCHEDULES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (field name, lowest, highest, names starting at `lowest`)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_STEP = re.compile(r"^(?P<range>[^/]+)(?:/(?P<step>\d+))?$")


def schedule_error(schedule: str) -> str | None:
    """Why `schedule` is not a valid schedule, or None when it is."""
    text = schedule.strip()
    if text.startswith("@"):
        if text.lower() in NAMED_SCHEDULES:
            return None
        return f"unknown schedule {schedule!r}; use one of {', '.join(NAMED_SCHEDULES)}"
    fields = text.split()
    if len(fields) != len(_FIELDS):
        return (
            f"schedule {schedule!r} has {len(fields)} fields, a cron expression has 5 "
            "(minute hour day-of-month month day-of-week)"
        )
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in value.split(","):
            problem = _part_error(part, name, low, high, names)
            if problem:
                return f"schedule {schedule!r}: {problem}"
    return None


def _part_error(part: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    match = _STEP.match(part)
    if not match:
        return f"cannot read {part!r} in the {name} field"
    step = match.group("step")
    if step is not None and int(step) == 0:
        return f"step 0 in the {name} field"
    span = match.group("range")
    if span == "*":
        return None
    bounds = span.split("-")
    if len(bounds) > 2:
        return f"cannot read {part!r} in the {name} field"
    numbers: list[int] = []
    for bound in bounds:
        number = _number(bound, low, names)
        if number is None or not low <= number <= high:
            return f"{bound!r} is out of range for the {name} field ({low}-{high})"
        numbers.append(number)
    if len(numbers) == 2 and numbers[0] > numbers[1]:
        return f"range {span!r} runs backwards in the {name} field"
    return None


def _number(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text)
    upper = text.upper()
    if upper in names:
        return names.index(upper) + low
    return None
