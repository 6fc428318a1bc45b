"""From an HTTP request to the event a function receives, in Netlify's shape.

The event is Netlify's (`path`, `httpMethod`, `headers` joined with ", ",
`multiValueHeaders`, `queryStringParameters`, `multiValueQueryStringParameters`, `body`,
`isBase64Encoded`, `rawUrl`, `rawQuery`), plus API Gateway's `resource` and
`requestContext`, which adapters such as Mangum need to recognise a REST (v1) event.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's synchronous invocation payload, request and response
MAX_BACKGROUND_PAYLOAD = 256 * 1024  # an asynchronous invocation's event
CLOCKWORK = "Netlify Clockwork"
# Bodies that Netlify passes as text; everything else (no Content-Type too) is base64.
_TEXT_TYPES = frozenset(
    {
        "application/csp-report",
        "application/graphql",
        "application/json",
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/x-ndjson",
        "application/xml",
    }
)


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    """A request as it arrived: the raw path and query, every header line in order."""

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None  # None: the request had no body at all
    client: str = "127.0.0.1"
    host: str = "localhost"
    scheme: str = "http"
    received: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def accepts_html(self) -> bool:
        """Whether the client asks for HTML (a browser): errors then come as a page."""
        return "text/html" in (self.header("accept") or "")


def is_base64_body(content_type: str | None) -> bool:
    """Netlify's rule: text for text/*, *+json, *+xml and a few application types."""
    if not content_type:
        return True
    essence = content_type.split(";", 1)[0].strip().lower()
    if essence.startswith("text/") or essence.endswith(("+json", "+xml")):
        return False
    return essence not in _TEXT_TYPES


def http_event(request: HttpRequest, request_id: str | None = None) -> dict[str, Any]:
    """The event for `request`; `path` stays the path the client asked for (also after a
    rewrite), as on Netlify."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        multi_headers.setdefault(name.lower(), []).append(value)
    for name in ("client-ip", "x-nf-client-connection-ip"):
        multi_headers[name] = [request.client]
    multi_headers["x-nf-request-id"] = [request_id or new_request_id()]
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.query, keep_blank_values=True):
        multi_query.setdefault(key, []).append(value)
    body: str | None = None
    encoded = is_base64_body(request.header("content-type"))
    if request.body is not None:
        if encoded:
            body = base64.b64encode(request.body).decode("ascii")
        else:
            body = request.body.decode("utf-8", errors="replace")
    raw_url = f"{request.scheme}://{request.host}{request.path}"
    if request.query:
        raw_url += f"?{request.query}"
    return {
        "path": request.path,
        "httpMethod": request.method,
        "headers": {k: ", ".join(v) for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: ", ".join(v) for k, v in multi_query.items()},
        "multiValueQueryStringParameters": multi_query,
        "body": body,
        "isBase64Encoded": encoded,
        "rawUrl": raw_url,
        "rawQuery": request.query,
        "resource": "/{proxy+}",
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": _request_context(request, request_id),
    }


def scheduled_event(event: Mapping[str, Any], next_run: str) -> dict[str, Any]:
    """What Netlify sends a scheduled function: a POST whose body says when it runs next."""
    headers = {**event["headers"], "user-agent": CLOCKWORK, "x-nf-event": "schedule"}
    headers["content-type"] = "application/json"
    multi = {**event["multiValueHeaders"], **{k: [headers[k]] for k in _SCHEDULE_HEADERS}}
    return {
        **event,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": multi,
        "body": json.dumps({"next_run": next_run}),
        "isBase64Encoded": False,
        "requestContext": {**event["requestContext"], "httpMethod": "POST"},
    }


_SCHEDULE_HEADERS = ("user-agent", "x-nf-event", "content-type")


def synthetic_request(
    path: str,
    *,
    method: str = "POST",
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    host: str = "localhost",
) -> HttpRequest:
    """A request made by the server itself (a scheduled run, `bundle invoke`)."""
    lines = list(headers)
    if body is not None and not any(k.lower() == "content-type" for k, _v in lines):
        lines.append(("content-type", "application/json"))
    lines.append(("host", host))
    return HttpRequest(method=method, path=path, headers=tuple(lines), body=body, host=host)


def schedule_run_event(function: str, next_run: str, host: str = "localhost") -> dict[str, Any]:
    """The event of one run of a scheduled function by the scheduler."""
    request = synthetic_request(f"/.netlify/functions/{function}", body=b"", host=host)
    return scheduled_event(http_event(request), next_run)


def client_context(request: HttpRequest) -> str | None:
    """Netlify Identity's client context for a request with a `Bearer` JWT (the token's
    claims, not verified, as netlify dev does): the handler reads it from
    `context.client_context.custom["netlify"]` (base64 JSON of `identity` and `user`)."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    parts = token.split(".")
    if scheme != "Bearer" or len(parts) != 3:
        return None
    try:
        user = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):
        return None  # not a JWT: not meant for Identity
    identity = {"url": f"{request.scheme}://{request.host}/.netlify/identity", "token": token}
    netlify = base64.b64encode(json.dumps({"identity": identity, "user": user}).encode())
    document = {"identity": identity, "user": user, "custom": {"netlify": netlify.decode()}}
    return json.dumps(document)


def new_request_id() -> str:
    """A request id in Lambda's form (a UUID)."""
    return str(uuid.uuid4())


def _request_context(request: HttpRequest, request_id: str | None) -> dict[str, Any]:
    return {
        "resourcePath": "/{proxy+}",
        "httpMethod": request.method,
        "path": request.path,
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "requestId": request_id or "",
        "requestTimeEpoch": int(request.received * 1000),
        "identity": {"sourceIp": request.client, "userAgent": request.header("user-agent")},
    }
