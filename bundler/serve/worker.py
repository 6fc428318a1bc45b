"""One execution environment: a process of the site's interpreter running the real runtime
client (`python -S -m awslambdaric MODULE.handler`) in the function's task root, against a
Runtime API of its own.

Its `sys.path` is Lambda's: the task root (the working directory, through `-m`), then the
runtime's packages and the runtime client (PYTHONPATH); `-S` keeps the site's virtualenv
out. It runs in a process group of its own (so stopping it stops whatever it started) and
one invocation at a time. An invocation that runs out of time, or a worker over its memory,
ends the process: the pool starts a fresh one for the next request, as Lambda does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.serve.isolation import Isolation
from bundler.serve.logs import Log, OutputPump, start_line, timeout_line
from bundler.serve.runtime_api import Invocation, RuntimeEndpoint
from bundler.serve.variables import LambdaIdentity, worker_environment

INIT_LIMIT = 10.0  # seconds Lambda allows the init phase before it counts the timeout
_SLICE = 0.05  # seconds between looks at the process while an invocation runs


@dataclass(frozen=True, kw_only=True)
class WorkerSpec:
    """Everything needed to start an execution environment for one function."""

    function: str
    handler: str
    runtime: str  # e.g. python3.11
    task_root: Path
    runtime_dir: Path
    provided_dir: Path | None
    memory: int  # MB
    isolation: Isolation
    site_env: Mapping[str, str] = field(default_factory=dict)
    process_env: Mapping[str, str] = field(default_factory=dict)
    url: str = "http://localhost"
    scratch: Path = Path(tempfile.gettempdir())  # private TMPDIRs without isolation


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How one invocation ended."""

    request_id: str
    response: bytes | None
    error: Mapping[str, Any] | None
    duration_ms: float
    init_ms: float | None  # a cold start's Init Duration
    memory_used: int  # MB, the worker's peak resident memory
    worker_lost: bool = False  # the worker was stopped (timeout, memory, crash)
    note: str | None = None  # Lambda's log line for a lost worker


class Spawner:
    """Starts every worker from one long-lived thread: a worker asks to be killed when the
    thread that started it ends (PR_SET_PDEATHSIG), so that thread must outlive it."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")

    def spawn(self, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Start `argv` from the spawner's thread, which outlives every worker it starts."""
        future = self._pool.submit(
            subprocess.Popen,
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a process group of its own
        )
        return future.result()

    def close(self) -> None:
        """Wait for the spawner's thread to finish."""
        self._pool.shutdown(wait=True)


class Worker:
    """A started execution environment (`start()` returns at once; init runs meanwhile)."""

    def __init__(self, spec: WorkerSpec, log: Log, spawner: Spawner) -> None:
        self.spec = spec
        self.log = log
        self.spawner = spawner
        self.endpoint = RuntimeEndpoint(on_start=self._started)
        self.process: subprocess.Popen[bytes] | None = None
        self.pump: OutputPump | None = None
        self.spawned_at = 0.0
        self.initialized = False
        self.lost = False
        self._tmpdir: Path | None = None
        self._peak_kb = 0

    @property
    def alive(self) -> bool:
        """Whether the worker's process is running and has not been given up."""
        return not self.lost and self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the worker's process: the Lambda runtime client and the function's task root."""
        spec = self.spec
        readonly = [p for p in (spec.task_root, spec.runtime_dir, spec.provided_dir) if p]
        if spec.isolation.mode == "none":
            spec.scratch.mkdir(parents=True, exist_ok=True)
            self._tmpdir = Path(tempfile.mkdtemp(prefix=f"{spec.function}-", dir=spec.scratch))
        identity = LambdaIdentity(
            function=spec.function,
            handler=spec.handler,
            runtime=spec.runtime,
            memory=spec.memory,
            runtime_api=self.endpoint.address,
            task_root=spec.task_root,
            runtime_dir=spec.runtime_dir,
            python_path=tuple(p for p in (spec.provided_dir, spec.runtime_dir) if p),
        )
        env = worker_environment(identity, spec.site_env, spec.process_env, spec.url, self._tmpdir)
        python = spec.isolation.executable
        argv = [str(python), "-S", "-m", "awslambdaric", spec.handler]
        keep = [*readonly, python.parent, spec.isolation.prefix]
        command = spec.isolation.launcher(spec.task_root, readonly, keep, argv)
        self.spawned_at = time.monotonic()
        self.process = self.spawner.spawn(command, env)
        assert self.process.stdout is not None and self.process.stderr is not None
        streams = [self.process.stdout, self.process.stderr]
        self.pump = OutputPump(f"[{spec.function}] ", self.log, streams)

    def _started(self, invocation: Invocation) -> None:
        self.log(f"[{self.spec.function}] {start_line(invocation.request_id)}")

    def invoke(
        self, event: bytes, timeout: float, request_id: str, client_context: str | None = None
    ) -> Outcome:
        """Run one invocation to its end: a result, an error, a timeout or a lost worker."""
        arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.spec.function}"
        invocation = Invocation(
            request_id=request_id,
            event=event,
            timeout=timeout,
            function_arn=arn,
            client_context=client_context,
        )
        cold = not self.initialized
        submitted = time.monotonic()
        self.endpoint.submit(invocation)
        lost: str | None = None
        while not invocation.finished.wait(_SLICE):
            now = time.monotonic()
            code = self.process.poll() if self.process else 0
            if code is not None:
                invocation.finished.wait(_SLICE)  # an init error posted just before exiting
                if not invocation.finished.is_set():
                    lost = _exit_reason(code)
                break
            started = invocation.delivered
            limit = timeout if started is not None else max(INIT_LIMIT, timeout)
            if now - (started if started is not None else submitted) > limit:
                lost = "timeout"
                break
            if self._memory_kb("VmRSS") > self.spec.memory * 1024:
                lost = "signal: killed"
                break
        finished = time.monotonic()
        self.initialized = True
        delivered = invocation.delivered or submitted
        init_ms = None
        if cold and self.endpoint.ready_at is not None:
            init_ms = (self.endpoint.ready_at - self.spawned_at) * 1000
        elif cold and lost is None and invocation.error is not None:
            init_ms = (finished - self.spawned_at) * 1000  # an init error
        used = self._memory_kb("VmHWM") // 1024
        if lost is not None or self.endpoint.init_error is not None:
            self.lost = True
        if lost is None:
            if self.pump is not None:
                self.pump.drain()
            return Outcome(
                request_id=request_id,
                response=invocation.response,
                error=invocation.error,
                duration_ms=(finished - delivered) * 1000,
                init_ms=init_ms,
                memory_used=used,
                worker_lost=self.lost,
            )
        self.stop()
        if lost == "timeout":
            message = f"Task timed out after {timeout:.2f} seconds"
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: {message}",
            }
            note = timeout_line(request_id, timeout)
        else:
            if lost == "signal: killed":
                used = self.spec.memory  # as Lambda reports it: the cgroup stops at the limit
            message = f"Runtime exited with error: {lost}"
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: {message}",
            }
            note = f"RequestId: {request_id} Error: {message}\nRuntime.ExitError"
        return Outcome(
            request_id=request_id,
            response=None,
            error=error,
            duration_ms=(finished - delivered) * 1000,
            init_ms=init_ms,
            memory_used=used,
            worker_lost=True,
            note=note,
        )

    def _memory_kb(self, field_name: str) -> int:
        """VmRSS (now) or VmHWM (peak) of the worker from /proc, in KiB."""
        if self.process is None:
            return self._peak_kb
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith(field_name + ":"):
                        value = int(line.split()[1])
                        self._peak_kb = max(self._peak_kb, value)
                        return value
        except (OSError, ValueError):
            pass
        return self._peak_kb

    def stop(self) -> None:
        """Kill the worker's whole process group and release its endpoint."""
        self.lost = True
        process = self.process
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.endpoint.close()
        if self.pump is not None:
            self.pump.join()
        if process is not None:
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)


def _exit_reason(code: int) -> str:
    """Lambda's words for how a runtime process ended."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        words = {"SIGKILL": "killed", "SIGSEGV": "segmentation fault", "SIGABRT": "aborted"}
        return f"signal: {words.get(name, name.lower().removeprefix('sig'))}"
    return f"exit status {code}"
