"""Scheduled functions run on their schedule while the server runs, in UTC.

One thread sleeps until the earliest next run, then starts the run in a thread of its own
(a long run never delays another function's schedule) with Netlify's body: `next_run` is
the run after this one. Runs missed while the machine slept are skipped, as a cron daemon
skips them. Replacing the schedules (after a rebuild) wakes the thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bundler.serve.cron import Cron, netlify_time

Run = Callable[[str, str], None]  # (function name, next_run in Netlify's format)
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Runs `run(name, next_run)` for every function of `schedules` at its times."""

    def __init__(self, run: Run, clock: Clock = _utc_now) -> None:
        self.run = run
        self.clock = clock
        self._schedules: dict[str, Cron] = {}
        self._due: dict[str, datetime] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        """Start the thread that runs scheduled functions when due."""
        self._thread.start()

    def replace(self, schedules: Mapping[str, str]) -> None:
        """New schedules (function name -> cron); a kept schedule keeps its next time."""
        parsed = {name: Cron.parse(text) for name, text in schedules.items()}
        with self._wake:
            now = self.clock()
            for name, cron in parsed.items():
                if name not in self._due or self._schedules.get(name) != cron:
                    runs = cron.next_runs(now, 1)
                    if runs:
                        self._due[name] = runs[0]
            for name in set(self._due) - set(parsed):
                del self._due[name]
            self._schedules = parsed
            self._wake.notify_all()

    def stop(self) -> None:
        """Stop the scheduler's thread."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(5)

    def _loop(self) -> None:
        with self._wake:
            while not self._stopped:
                now = self.clock()
                due = [name for name, moment in self._due.items() if moment <= now]
                for name in sorted(due):
                    moment = self._due[name]
                    following = self._schedules[name].next_runs(max(moment, now), 1)
                    if following:
                        self._due[name] = following[0]
                    else:
                        del self._due[name]
                    if now - moment < timedelta(minutes=1):  # else missed: skipped
                        when = netlify_time(following[0]) if following else ""
                        threading.Thread(
                            target=self.run, args=(name, when), name=f"run-{name}", daemon=True
                        ).start()
                wait = min(self._due.values(), default=None)
                timeout = 60.0 if wait is None else (wait - self.clock()).total_seconds()
                self._wake.wait(min(max(timeout, 0.01), 60.0))
