"""Lambda's Runtime API on loopback, one endpoint per worker (the runtime client sends no
identity of its own, so the port says which execution environment is calling).

    GET  /2018-06-01/runtime/invocation/next             long-polls; 200 with the event
    POST /2018-06-01/runtime/invocation/{id}/response    202; 413 over 6 MiB
    POST /2018-06-01/runtime/invocation/{id}/error       202
    POST /2018-06-01/runtime/init/error                  202; the runtime then exits
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE = 6 * 1024 * 1024 + 100  # Lambda's 6 MiB, plus its 100 bytes of slack
_RESULT = re.compile(rf"^{PREFIX}/invocation/([^/]+)/(response|error)$")
_POLL = 0.5  # seconds between looks at `closed` while a worker waits for work


@dataclass(kw_only=True)
class Invocation:
    """One event on its way to a worker and back; `finished` is set with the outcome."""

    request_id: str
    event: bytes
    timeout: float
    function_arn: str
    client_context: str | None = None
    delivered: float | None = None  # time.monotonic() when the runtime received it
    response: bytes | None = None
    error: dict[str, Any] | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def finish(self, response: bytes | None = None, error: dict[str, Any] | None = None) -> None:
        """Record the function's response or error, once, and wake whoever waits for it."""
        if not self.finished.is_set():
            self.response, self.error = response, error
            self.finished.set()


class RuntimeEndpoint:
    """The Runtime API of one worker, listening on an ephemeral loopback port."""

    def __init__(self, on_start: Any = None) -> None:
        self._condition = threading.Condition()
        self._pending: Invocation | None = None  # submitted, not yet taken by the runtime
        self._current: Invocation | None = None  # taken, not yet answered
        self._closed = False
        self.on_start = on_start  # called with each invocation the runtime takes
        self.ready_at: float | None = None  # when the runtime first asked for work (init done)
        self.init_error: dict[str, Any] | None = None
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.endpoint = self
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        """`host:port` for AWS_LAMBDA_RUNTIME_API."""
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def submit(self, invocation: Invocation) -> None:
        """Hand `invocation` to the runtime's next `/invocation/next`."""
        with self._condition:
            self._pending = invocation
            self._condition.notify_all()

    def close(self) -> None:
        """Stop listening; a runtime still waiting for work gets no answer."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # called by the handler threads

    def next_invocation(self) -> Invocation | None:
        """Wait for the next invocation for the runtime; None once the endpoint is closed."""
        with self._condition:
            if self.ready_at is None:
                self.ready_at = time.monotonic()
            while self._pending is None and not self._closed:
                self._condition.wait(_POLL)
            if self._closed or self._pending is None:
                return None
            invocation, self._pending = self._pending, None
            invocation.delivered = time.monotonic()
            self._current = invocation
        if self.on_start is not None:
            self.on_start(invocation)
        return invocation

    def finish(self, request_id: str, response: bytes | None, error: dict[str, Any] | None) -> bool:
        """Finish the current invocation if `request_id` is it; whether it was."""
        with self._condition:
            current = self._current
            if current is None or current.request_id != request_id:
                return False
            self._current = None
        current.finish(response, error)
        return True

    def fail_init(self, error: dict[str, Any]) -> None:
        """Record the runtime's init error and fail the invocation waiting on it."""
        with self._condition:
            self.init_error = error
            waiting = self._pending or self._current
            self._pending = self._current = None
        if waiting is not None:
            waiting.finish(error=error)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: RuntimeEndpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A worker killed mid-call drops its connection: not an error of the server."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle's algorithm and the
        # peer's delayed ACK hold the second one for 40 ms on every keep-alive request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    server: _Server

    def log_message(self, template: str, *args: Any) -> None:
        """Quiet: the server logs invocations, not Runtime API calls."""

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, b'{"errorMessage": "unknown path", "errorType": "NotFound"}')
            return
        invocation = self.server.endpoint.next_invocation()
        if invocation is None:
            self.close_connection = True
            return
        deadline = int((time.time() + invocation.timeout) * 1000)
        trace = f"Root=1-{int(time.time()):08x}-{invocation.request_id.replace('-', '')[:24]}"
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": f"{trace};Sampled=0",
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        self._reply(200, invocation.event, headers)

    def do_POST(self) -> None:
        endpoint = self.server.endpoint
        body = self._body()
        if self.path == f"{PREFIX}/init/error":
            error = _error(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            endpoint.fail_init(error)
            self._reply(202, b'{"status": "OK"}')
            return
        match = _RESULT.match(self.path)
        if match is None:
            self._reply(404, b'{"errorMessage": "unknown path", "errorType": "NotFound"}')
            return
        request_id, kind = match.groups()
        if kind == "response" and len(body) > MAX_RESPONSE:
            error = {
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE} bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            }
            endpoint.finish(request_id, None, error)
            self._reply(413, json.dumps(error).encode())
            return
        if kind == "response":
            known = endpoint.finish(request_id, body, None)
        else:
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
            known = endpoint.finish(request_id, None, _error(body, error_type))
        if not known:
            self._reply(
                400, b'{"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}'
            )
            return
        self._reply(202, b'{"status": "OK"}')


def _error(body: bytes, error_type: str | None) -> dict[str, Any]:
    """The runtime's error document; its header's type when the body has none."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        document = {"errorMessage": body.decode("utf-8", errors="replace")}
    document.setdefault("errorType", error_type or "Runtime.Unknown")
    document.setdefault("errorMessage", "")
    document.setdefault("stackTrace", [])
    return document
