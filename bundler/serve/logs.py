"""What the terminal shows of each invocation: Lambda's START, END and REPORT lines, and
the function's own output, every line prefixed with the function's name.

A worker's stdout and stderr are pipes read by a pump thread each; the runtime client
writes its logs unbuffered, so everything a handler printed is in the pipe before its
result reaches the Runtime API. `drain()` waits (briefly) until the pipes are empty, so
END never comes before the output of the invocation it ends.
"""

from __future__ import annotations

import fcntl
import math
import os
import select
import struct
import termios
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

from bundler.serve.cron import netlify_time

Log = Callable[[str], None]
_DRAIN_LIMIT = 0.2  # seconds


def start_line(request_id: str) -> str:
    """The START line Lambda logs before an invocation."""
    return f"START RequestId: {request_id} Version: $LATEST"


def end_line(request_id: str) -> str:
    """The END line Lambda logs after an invocation."""
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str, duration_ms: float, memory: int, used: int, init_ms: float | None
) -> str:
    """Lambda's REPORT line (tab-separated), with Init Duration on a cold start."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {memory} MB",
        f"Max Memory Used: {used} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(fields)


def timeout_line(request_id: str, timeout: float) -> str:
    """What Lambda logs when an invocation runs out of time."""
    stamp = netlify_time(datetime.now(UTC))
    return f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds"


class OutputPump:
    """Reads one worker's stdout and stderr, line by line, into `log` with a prefix."""

    def __init__(self, prefix: str, log: Log, streams: list[IO[bytes]]) -> None:
        self.prefix = prefix
        self.log = log
        # held from reading a chunk until its lines are logged: a pipe with nothing
        # unread and this lock free means everything written so far has been logged
        self._lock = threading.Lock()
        self._fds = [stream.fileno() for stream in streams]
        self._threads = [
            threading.Thread(target=self._pump, args=(fd,), daemon=True) for fd in self._fds
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, fd: int) -> None:
        pending = b""
        while True:
            try:
                select.select([fd], [], [])
            except (OSError, ValueError):
                return
            with self._lock:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    if pending:
                        self._emit(pending)
                    return
                pending += data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._emit(line)

    def _emit(self, line: bytes) -> None:
        self.log(f"{self.prefix}{line.decode('utf-8', errors='replace').rstrip()}")

    def drain(self) -> None:
        """Wait until what the worker wrote so far has been logged (at most 0.2 s)."""
        limit = time.monotonic() + _DRAIN_LIMIT
        while time.monotonic() < limit:
            if all(_unread(fd) == 0 for fd in self._fds):
                with self._lock:
                    return
            time.sleep(0.001)

    def join(self, timeout: float = 1.0) -> None:
        """Wait up to `timeout` seconds for each reading thread to finish."""
        for thread in self._threads:
            thread.join(timeout)


def _unread(fd: int) -> int:
    """Bytes waiting in a pipe (FIONREAD)."""
    try:
        data = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", data)[0])
