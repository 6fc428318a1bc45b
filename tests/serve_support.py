"""Running a real `bundle serve` in a subprocess for the end-to-end tests, and talking to it
over HTTP on loopback. Every wait is bounded in time."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BUNDLE = Path(sys.executable).parent / "bundle"
START_LIMIT = 240.0  # seconds for a first build and the runtime client's install


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_site(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def side_folder() -> Path:
    """A folder for functions' side effects, outside /tmp (a worker has a /tmp of its own)."""
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path.home()
    return Path(tempfile.mkdtemp(prefix="bundler-serve-test-", dir=base))


class Response:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Serve:
    """`bundle serve` on a free port, its stderr in a file outside the site."""

    def __init__(
        self,
        site: Path,
        cache: Path,
        python: Path,
        *arguments: str,
        env: Mapping[str, str] | None = None,
        wait: bool = True,
    ) -> None:
        self.site = site
        self.port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix="serve-", suffix=".log")[1])
        self._log_file = self.log_path.open("wb")
        self._final_log: str | None = None
        command = [
            str(BUNDLE),
            "serve",
            "--port",
            str(self.port),
            "--cache-dir",
            str(cache),
            "--python",
            str(python),
            *arguments,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=site,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        if wait:
            self.wait_for("listening on ", START_LIMIT)

    def log(self) -> str:
        if self._final_log is not None:
            return self._final_log
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, limit: float, after: int = 0) -> str:
        """Wait until `text` is in the log (after offset `after`); the log from there."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            log = self.log()
            if text in log[after:]:
                return log[after:]
            if self.process.poll() is not None:
                raise AssertionError(f"bundle serve exited {self.process.returncode}:\n{log}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the log after {limit} s:\n{self.log()}")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body, dict(headers or {}))
            answer = connection.getresponse()
            return Response(answer.status, answer.getheaders(), answer.read())
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, headers=headers)

    def stop(self, signum: int = signal.SIGINT, limit: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(limit)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                message = f"bundle serve did not stop in {limit} s:\n{self.log()}"
                raise AssertionError(message) from None
        self._log_file.close()
        self._final_log = self.log()
        self.log_path.unlink(missing_ok=True)  # failures quote the log in their message
        return self.process.returncode


def install_runtime_client(cache: Path) -> Path:
    """The runtime client in `cache`, installed by the bundler's own code (once a session)."""
    from bundler.environment.interpreter import Interpreter
    from bundler.serve.runtime_client import ensure_runtime_client

    interpreter = Interpreter.from_executable(Path(sys.executable))
    folder, _installed = ensure_runtime_client(
        cache, interpreter.version, interpreter.machine, interpreter.executable
    )
    return folder


def runtime_processes(under: Path) -> list[int]:
    """Runtime-client processes whose working directory is under `under` (the process
    table, read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"awslambdaric" in command and cwd.startswith(str(under)):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` is a running process (not gone, not a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status
