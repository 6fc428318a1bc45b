"""The HTTP front on the standard library's threading server (one thread per connection,
HTTP/1.1 keep-alive): it reads a request, hands it to the dispatcher and writes the answer.

A body over Lambda's 6 MB is refused with 413 before it is read.
"""

from __future__ import annotations

import re
import socket
import sys
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bundler import __version__
from bundler.serve.dispatch import too_large
from bundler.serve.events import MAX_PAYLOAD, HttpRequest
from bundler.serve.logs import Log
from bundler.serve.responses import HttpResponse, text_response

Handler = Callable[[HttpRequest], HttpResponse]
_DRAIN_LIMIT = 64 * 1024 * 1024  # a larger body is refused without reading it

_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")  # a chunk size (RFC 9112 7.1)


class FrontServer(ThreadingHTTPServer):
    """Bound at construction (so a port in use is found before any work), served later."""

    daemon_threads = True
    handler: Handler
    log: Log

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        """The port the server listens on (the one chosen when 0 was asked)."""
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away is not an error; anything else is a bug, logged."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            self.log("error: bundle serve failed on a connection:\n" + traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle's algorithm and the
        # peer's delayed ACK hold the second one for 40 ms on every keep-alive request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    server_version = f"bundle-serve/{__version__}"
    server: FrontServer

    def log_message(self, template: str, *args: Any) -> None:
        """Quiet: the dispatcher logs what matters."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _handle(self) -> None:
        body = self._read_body()
        if isinstance(body, HttpResponse):
            self.close_connection = True
            self._write(body)
            return
        url = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=url.path or "/",
            query=url.query,
            headers=tuple(self.headers.items()),
            body=body,
            client=self.client_address[0],
            host=self.headers.get("Host") or f"localhost:{self.server.port}",
        )
        try:
            response = self.server.handler(request)
        except Exception:  # a bug: the trace goes to the terminal, the client gets a 500
            self.server.log(
                "error: bundle serve failed on this request:\n" + traceback.format_exc()
            )
            response = text_response(500, "bundle serve failed on this request (see its log)\n")
        self._write(response)

    def _read_body(self) -> bytes | HttpResponse | None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        if length is None:
            return None
        if not (length.isascii() and length.isdigit()):  # not "-1", "+5", "1e3" or "²"
            return text_response(400, "Bad Content-Length\n")
        size = int(length)
        if size > MAX_PAYLOAD:
            if size <= _DRAIN_LIMIT:  # read it all, so the client can read the answer
                for _ in range(0, size, 65536):
                    self.rfile.read(min(65536, size))
                    size -= 65536
            return too_large(background=False)
        return self.rfile.read(size) if size > 0 else b""

    def _read_chunked(self) -> bytes | HttpResponse:
        data = bytearray()
        while True:
            line = self.rfile.readline(1024)
            digits = line.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(digits):  # int(..., 16) takes "-5", "+5" and "0x5"
                return text_response(400, "Bad chunked body\n")
            size = int(digits, 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(data)
            if len(data) + size > MAX_PAYLOAD:
                return too_large(background=False)
            data += self.rfile.read(size)
            self.rfile.readline(1024)

    def _write(self, response: HttpResponse) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
