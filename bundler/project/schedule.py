"""A function's in-source settings (`config = {...}`, read without running the file) and
its schedule: five-field cron expressions and `@hourly`-style names."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from bundler.errors import BundlerError, Problem
from bundler.project.bindings import Binding
from bundler.project.config import FunctionSettings
from bundler.project.source import TOO_DEEP, TOO_DEEP_HINT

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
# the keys of Netlify's in-source function config, and the per-function settings the
# bundler reads (`[tool.bundler.functions.NAME]`)
NETLIFY_KEYS = frozenset(
    {"schedule", "path", "excludedPath", "method", "preferStatic", "rateLimit"}
    | {"include", "included_files", "exclude"}
)
CONFIG_HINT = 'write it as config = {"schedule": "@hourly"}'
CRON_HINT = 'write five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1"'
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


def read_config(
    bound: list[Binding], path: Path
) -> tuple[dict[str, Any], int | None, list[Problem]]:
    """The literal `config = {...}` among the top-level bindings of `config`, its line, and
    warnings. The last binding counts, as in Python; one that is not a literal is an error.

    `config` is the function's settings only when one top-level binding is a dict display
    with one of Netlify's keys (`{"schedule": ...}`, `{"path": ...}`); any other `config`
    (a call, a dict of the code's own keys, `import config`) is the code's own variable.
    """
    top = [b for b in bound if not b.nested and b.kind != "star import"]
    if not any(_is_netlify_config(b) for b in top):
        return {}, None, []
    values = [b for b in top if b.kind != "annotation"]  # `config: dict` binds nothing
    last = values[-1]
    if last.kind not in ("assignment", "annotated assignment"):
        raise BundlerError.of(
            f"`config` is bound by {_article(last.kind)} {last.kind}: the bundler reads a "
            "function's settings only from a literal `config = {...}`",
            file=path,
            line=last.line,
            hint="rename it if it is not the function's settings (e.g. `import config as "
            'settings`), else write config = {"schedule": "@hourly"}',
        )
    value = last.statement.value  # type: ignore[attr-defined]
    try:
        literal = ast.literal_eval(value)
    except (RecursionError, MemoryError):
        raise BundlerError.of(TOO_DEEP, file=path, line=last.line, hint=TOO_DEEP_HINT) from None
    except (ValueError, TypeError, SyntaxError):
        raise BundlerError.of(
            "`config` must be a literal dict: the bundler reads it without running your code",
            file=path,
            line=last.line,
            hint=CONFIG_HINT,
        ) from None
    if not isinstance(literal, dict):
        raise BundlerError.of(
            f"`config` must be a dict, not {type(literal).__name__}",
            file=path,
            line=last.line,
            hint=CONFIG_HINT,
        )
    warnings = []
    if len(values) > 1:
        lines = [str(b.line) for b in values]
        warnings.append(
            Problem(
                f"`config` is bound more than once (lines {', '.join(lines[:-1])} and "
                f"{lines[-1]}): Python keeps the last one, and so does the bundler",
                file=path,
                line=last.line,
                hint="remove the earlier ones",
                severity="warning",
            )
        )
    return literal, last.line, warnings


def _is_netlify_config(binding: Binding) -> bool:
    """Whether `binding` assigns a dict display with one of Netlify's keys."""
    value = getattr(binding.statement, "value", None)
    if binding.kind not in ("assignment", "annotated assignment") or not isinstance(
        value, ast.Dict
    ):
        return False
    return any(isinstance(key, ast.Constant) and key.value in NETLIFY_KEYS for key in value.keys)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def choose_schedule(
    in_source: dict[str, Any], line: int | None, settings: FunctionSettings, path: Path
) -> str | None:
    """The function's schedule: from its `config` (at `line`) or its settings, checked."""
    schedule = in_source.get("schedule")
    if schedule is not None and not isinstance(schedule, str):
        raise BundlerError.of(
            "`config['schedule']` must be a string",
            file=path,
            line=line,
            hint=CONFIG_HINT,
        )
    if schedule and settings.schedule and schedule != settings.schedule:
        raise BundlerError.of(
            f"two schedules: {schedule!r} in the source and {settings.schedule!r} in "
            f"{settings.source.name if settings.source else 'the configuration'}",
            file=path,
            line=line,
            hint="keep one of them",
        )
    chosen = schedule or settings.schedule
    if chosen:
        problem = schedule_error(chosen)
        if problem:
            where = path if schedule else settings.source
            raise BundlerError.of(
                problem,
                file=where,
                line=line if schedule else None,
                hint=CRON_HINT,
            )
    return chosen
