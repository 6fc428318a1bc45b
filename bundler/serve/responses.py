"""From what a handler returned to the HTTP response, refusing what Netlify refuses.

A handler returns `{"statusCode", "headers", "multiValueHeaders", "body",
"isBase64Encoded"}`; Netlify requires a numeric status code and a string body, sets
`headers` then `multiValueHeaders`, and decodes a base64 body. A handler error answers 500
with the error's type, message and trace: a page when the client accepts HTML, text
otherwise.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Set by the server from the body it sends, never taken from the handler.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass(frozen=True)
class HttpResponse:
    """What goes back to the client."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class InvalidResponse(Exception):
    """A handler returned something Netlify would refuse; the message is Netlify's."""


def text_response(status: int, text: str, headers: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    """A plain-text response (UTF-8)."""
    head = (("Content-Type", "text/plain; charset=utf-8"), *headers)
    return HttpResponse(status, head, text.encode())


def from_lambda(payload: bytes, function: str) -> HttpResponse:
    """The HTTP response a handler's result (the JSON the runtime posted) stands for."""
    try:
        result = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: [[[[...]]]]
        shown = payload[:200].decode("utf-8", errors="replace")
        raise InvalidResponse(
            f"Your function response must have a numerical statusCode. You gave: {shown}"
        ) from None
    if result is None:
        raise InvalidResponse(
            "no lambda response. check your function code again: the handler returned None"
        )
    if not isinstance(result, dict):
        raise InvalidResponse(
            "Your function response must have a numerical statusCode. You gave: "
            f"{_shown(result)} (the handler returned a {type(result).__name__}, not a dict)"
        )
    status = _status(result.get("statusCode"))
    body = result.get("body")
    if body and not isinstance(body, str):
        raise InvalidResponse(
            f"Your function response must have a string or a stream body. You gave: {_shown(body)}"
        )
    headers = _headers(result.get("headers"), result.get("multiValueHeaders"), function)
    data = (body or "").encode()
    if body and result.get("isBase64Encoded"):
        data = _lenient_base64(body)
    return HttpResponse(status, headers, data)


def _status(value: Any) -> int:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if not number:  # as Netlify: Number(statusCode) must be a non-zero number
        raise InvalidResponse(
            f"Your function response must have a numerical statusCode. You gave: {_shown(value)}"
        )
    if number != int(number) or not 100 <= number <= 999:
        raise InvalidResponse(f"Invalid status code: {_shown(value)}")
    return int(number)


def _headers(single: Any, multi: Any, function: str) -> tuple[tuple[str, str], ...]:
    """`headers` then `multiValueHeaders`: a name set by both keeps the multi-value lines."""
    found: dict[str, list[tuple[str, str]]] = {}
    for table, many in ((single, False), (multi, True)):
        if table is None:
            continue
        if not isinstance(table, dict):
            key = "multiValueHeaders" if many else "headers"
            raise InvalidResponse(
                f"Failed to set header in function {function}: `{key}` must be an object, "
                f"not {_shown(table)}"
            )
        for name, value in table.items():
            values = value if many and isinstance(value, list) else [value]
            lines = [(name, _header_value(name, v, function)) for v in values]
            if name.lower() not in _HOP_BY_HOP:
                found[name.lower()] = lines
    return tuple(line for lines in found.values() for line in lines)


def _header_value(name: str, value: Any, function: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | str):
        text = str(value)
    else:
        raise InvalidResponse(
            f'Failed to set header in function {function}: Invalid value "{_shown(value)}" '
            f'for header "{name}"'
        )
    if "\r" in text or "\n" in text or not name or any(c in name for c in " :\r\n"):
        raise InvalidResponse(
            f"Failed to set header in function {function}: Invalid character in header "
            f'content ["{name}"]'
        )
    return text


def _lenient_base64(text: str) -> bytes:
    """Decode the way Node's Buffer.from(body, "base64") does: ignore what is not base64."""
    kept = "".join(c for c in text if c.isalnum() or c in "+/-_")
    kept = kept.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(kept + "=" * (-len(kept) % 4))
    except binascii.Error:
        return base64.b64decode(kept[: len(kept) - len(kept) % 4])


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 200 else text[:197] + "..."


def function_error(
    error: Mapping[str, Any], accepts_html: bool, headers: Sequence[tuple[str, str]] = ()
) -> HttpResponse:
    """500 for a handler error (`errorType`, `errorMessage`, `stackTrace`)."""
    kind = str(error.get("errorType") or "Error")
    message = str(error.get("errorMessage") or "")
    trace = [str(line) for line in error.get("stackTrace") or []]
    lines = "".join(line if line.endswith("\n") else line + "\n" for line in trace)
    if accepts_html:
        return page(500, f"{kind}: {message}", "", lines, headers)
    return text_response(500, f"{kind}: {message}\n{lines}", headers)


def problems_response(
    function: str,
    problems: Iterable[str],
    accepts_html: bool,
    headers: Sequence[tuple[str, str]] = (),
) -> HttpResponse:
    """500 for a function that did not build: its build problems, one a line."""
    listed = "\n".join(problems)
    title = f"function {function} failed to build"
    if accepts_html:
        return page(500, title, "Fix these and save: the server rebuilds it.", listed, headers)
    return text_response(500, f"{title}:\n{listed}\n", headers)


def page(
    status: int,
    title: str,
    note: str,
    details: str,
    headers: Sequence[tuple[str, str]] = (),
) -> HttpResponse:
    """A small self-contained HTML page (no external assets)."""
    text = (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}"
        "pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head>\n<body>"
        f"<h1>{html.escape(title)}</h1>"
        + (f"<p>{html.escape(note)}</p>" if note else "")
        + (f"<pre>{html.escape(details)}</pre>" if details else "")
        + "</body></html>\n"
    )
    head = (("Content-Type", "text/html; charset=utf-8"), *headers)
    return HttpResponse(status, head, text.encode())
