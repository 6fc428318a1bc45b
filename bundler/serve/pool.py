"""The warm workers of one function: one invocation per worker at a time, more workers up
to the concurrency limit, a worker reused while it lives (its module state with it).

A worker lost to a timeout, its memory limit or a crash is not reused; the next
invocation starts a new one. Closing a pool (after a rebuild) stops its idle workers at
once and its busy ones when their invocation ends.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from bundler.serve.events import new_request_id
from bundler.serve.logs import Log, end_line, report_line
from bundler.serve.worker import Outcome, Spawner, Worker, WorkerSpec


class Throttled(Exception):
    """Every worker stayed busy for as long as the invocation could have run."""


class FunctionPool:
    """Workers of one build of one function."""

    def __init__(
        self, spec: WorkerSpec, timeout: float, concurrency: int, log: Log, spawner: Spawner
    ) -> None:
        self.spec = spec
        self.timeout = timeout
        self.concurrency = concurrency
        self.log = log
        self.spawner = spawner
        self._condition = threading.Condition()
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._count = 0  # idle, busy and starting
        self._closed = False

    @property
    def workers(self) -> int:
        """How many workers the pool has running now."""
        with self._condition:
            return self._count

    def invoke(
        self,
        event: Mapping[str, Any],
        request_id: str | None = None,
        client_context: str | None = None,
    ) -> Outcome:
        """Run `event` on a warm worker (or a new one); logs END and REPORT."""
        request_id = request_id or new_request_id()
        payload = json.dumps(event).encode()
        worker = self._acquire(time.monotonic() + self.timeout)
        outcome: Outcome | None = None
        try:
            outcome = worker.invoke(payload, self.timeout, request_id, client_context)
        finally:
            self._release(worker, outcome is None or outcome.worker_lost)
        prefix = f"[{self.spec.function}] "
        if outcome.note:
            for line in outcome.note.splitlines():
                self.log(prefix + line)
        self.log(prefix + end_line(request_id))
        self.log(
            prefix
            + report_line(
                request_id,
                outcome.duration_ms,
                self.spec.memory,
                outcome.memory_used,
                outcome.init_ms,
            )
        )
        return outcome

    def _acquire(self, deadline: float) -> Worker:
        with self._condition:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._count -= 1
                    self._all.discard(worker)
                    worker.stop()
                if self._count < self.concurrency:
                    self._count += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Throttled(
                        f"{self.spec.function}: all {self.concurrency} workers stayed busy"
                    )
                self._condition.wait(remaining)
        worker = Worker(self.spec, self.log, self.spawner)
        with self._condition:
            self._all.add(worker)
        try:
            worker.start()
        except BaseException:
            with self._condition:
                self._count -= 1
                self._all.discard(worker)
                self._condition.notify()
            worker.stop()
            raise
        return worker

    def _release(self, worker: Worker, lost: bool) -> None:
        with self._condition:
            keep = not lost and not self._closed and worker.alive
            if keep:
                self._idle.append(worker)
            else:
                self._count -= 1
                self._all.discard(worker)
            self._condition.notify()
        if not keep:
            worker.stop()

    def close(self) -> None:
        """Stop idle workers now; busy ones stop when their invocation ends."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._all.difference_update(idle)
            self._condition.notify_all()
        for worker in idle:
            worker.stop()

    def terminate(self) -> None:
        """Stop every worker now, busy or not (the server is stopping)."""
        self.close()
        with self._condition:
            workers = list(self._all)
        for worker in workers:
            worker.stop()
