"""When a scheduled function runs next: cron expressions and `@daily`-style names, in UTC.

Netlify runs scheduled functions on UTC; the body it sends says when the next run is
(`{"next_run": "2024-06-02T00:00:00.000Z"}`). The fields follow cron: when both the day of
the month and the day of the week are restricted, a day matching either one runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bundler.project.schedule import _FIELDS, _STEP, _number, schedule_error

NAMED = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SEARCH_DAYS = 366 * 8  # a 29 February on a given weekday comes round within 8 years


@dataclass(frozen=True, kw_only=True)
class Cron:
    """A schedule as the sets of minutes, hours, days, months and weekdays it runs on."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 is Sunday
    any_day: bool  # the day-of-month field is `*`
    any_weekday: bool

    @classmethod
    def parse(cls, schedule: str) -> Cron:
        """ValueError (with schedule.py's message) when `schedule` is not valid."""
        problem = schedule_error(schedule)
        if problem:
            raise ValueError(problem)
        text = schedule.strip()
        fields = NAMED.get(text.lower(), text).split()
        sets = [_expand(value, *spec[1:]) for value, spec in zip(fields, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return Cron(
            text=text,
            minutes=sets[0],
            hours=sets[1],
            days=sets[2],
            months=sets[3],
            weekdays=weekdays,
            any_day=fields[2].startswith("*"),
            any_weekday=fields[4].startswith("*"),
        )

    def runs_on(self, day: datetime) -> bool:
        """Whether the schedule runs at some time on `day`'s date."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_runs(self, after: datetime, count: int = 1) -> list[datetime]:
        """The next `count` run times strictly after `after` (UTC; fewer if it never runs)."""
        start = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        found: list[datetime] = []
        day = start.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if self.runs_on(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        moment = day.replace(hour=hour, minute=minute)
                        if moment >= start:
                            found.append(moment)
                            if len(found) == count:
                                return found
            day += timedelta(days=1)
        return found


def next_runs(schedule: str, after: datetime, count: int = 1) -> list[datetime]:
    """The next `count` runs of `schedule` after `after`, in UTC."""
    return Cron.parse(schedule).next_runs(after, count)


def netlify_time(moment: datetime) -> str:
    """`2024-06-02T00:00:00.000Z`: how Netlify writes `next_run`."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _expand(value: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    chosen: set[int] = set()
    for part in value.split(","):
        match = _STEP.match(part)
        assert match is not None  # schedule_error accepted it
        step = int(match.group("step") or 1)
        span = match.group("range")
        if span == "*":
            first, last = low, high
        else:
            bounds = [_number(b, low, names) for b in span.split("-")]
            first = bounds[0] or 0
            # `5/15` runs from 5 to the end of the range; `5` alone only at 5
            alone = high if match.group("step") else first
            last = (bounds[1] or 0) if len(bounds) == 2 else alone
        chosen.update(range(first, last + 1, step))
    return frozenset(chosen)
