"""`bundle invoke`: one invocation, through a running `bundle serve` of the same site when one
answers on the port, else on its own (one worker, one invocation, then stop).

The request is Netlify's `functions:invoke`: a POST of a JSON body. For an event-triggered
function (or `--event deploy-succeeded`...) the body is the event's realistic payload, with
`--payload`'s keys over it; for a scheduled one, Netlify's scheduled event.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.errors import Problem, UsageError
from bundler.project.discover import EVENT_TRIGGERS
from bundler.serve.app import STATUS_PATH, ServeApp, ServeOptions
from bundler.serve.dispatch import ERROR_HEADER, call_function, run_background
from bundler.serve.events import CLOCKWORK, http_event, synthetic_request
from bundler.serve.logs import Log
from bundler.serve.responses import HttpResponse, problems_response
from bundler.serve.triggers import trigger_body

EVENTS = ("http", "schedule", *sorted(EVENT_TRIGGERS))


@dataclass(frozen=True)
class Invoked:
    """The answer, and whether it is a function error (exit 1)."""

    response: HttpResponse
    failed: bool
    through_serve: bool


def read_payload(text: str | None, root: Path) -> dict[str, Any] | list[Any] | None:
    """`--payload` as JSON text or `@file.json`; UsageError when it is not JSON."""
    if text is None:
        return None
    source = "--payload"
    if text.startswith("@"):
        path = root / text[1:]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError.of(
                f"cannot read the payload file: {error.strerror or error}",
                file=path,
                hint="pass --payload @FILE with a JSON file, or the JSON itself",
            ) from None
        except UnicodeDecodeError as error:
            raise UsageError.of(
                f"the payload file is not UTF-8 text (byte {error.start})",
                file=path,
                hint="pass --payload @FILE with a JSON file, or the JSON itself",
            ) from None
        source = str(path)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: [[[[...]]]]
        raise UsageError.of(
            f"{source} is not JSON: {error}",
            hint='pass a JSON object, e.g. --payload \'{"name": "Ada"}\'',
        ) from None
    if not isinstance(value, dict | list):
        raise UsageError.of(f"{source} must be a JSON object or array", hint="wrap it in {}")
    return value


def request_body(
    event: str, payload: dict[str, Any] | list[Any] | None, site_name: str, url: str
) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """The body and headers `bundle invoke` posts for `event`."""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    if event == "schedule":
        headers += (("user-agent", CLOCKWORK),)
    if event in EVENT_TRIGGERS:
        body: Any = trigger_body(event, site_name, url)
        if isinstance(payload, dict):
            body.update(payload)  # as netlify functions:invoke: the payload's keys win
    else:
        body = payload if payload is not None else {}
    return json.dumps(body).encode(), headers


def default_event(kind: str | None, trigger: str | None) -> str:
    """The event a function gets when `--event` is not given: its own kind's."""
    if kind == "scheduled":
        return "schedule"
    return trigger or "http"


def serve_status(port: int, root: Path) -> dict[str, Any] | None:
    """The status of a `bundle serve` of this site answering on `port`, or None."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", STATUS_PATH)
        document = json.loads(connection.getresponse().read())
        connection.close()
    except (OSError, ValueError, http.client.HTTPException):
        return None
    if not isinstance(document, dict) or document.get("site") != str(root.resolve()):
        return None
    return document


def unknown_function(name: str, known: Any) -> UsageError:
    """The usage error for a function name the site does not have."""
    listed = ", ".join(sorted(known)) or "none"
    hint = f"the site's functions: {listed}"
    return UsageError(Problem(f"no function named {name!r}", hint=hint))


def through_serve(
    port: int, name: str, body: bytes, headers: tuple[tuple[str, str], ...]
) -> Invoked:
    """Invoke function `name` through a running `bundle serve` on `port`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=16 * 60)
    connection.request("POST", f"/.netlify/functions/{name}", body, dict(headers))
    answer = connection.getresponse()
    data = answer.read()
    response = HttpResponse(answer.status, tuple(answer.getheaders()), data)
    connection.close()
    return Invoked(response, response.header(ERROR_HEADER) is not None, True)


def on_its_own(
    options: ServeOptions,
    name: str,
    event: str | None,
    payload: dict[str, Any] | list[Any] | None,
    log: Log,
) -> Invoked:
    """Build, start one worker, invoke once, stop: the answer as serve would give it."""
    app = ServeApp(options, log)
    try:
        app.start()
        state = app.state
        served = state.served.get(name)
        if served is None:
            raise unknown_function(name, state.served)
        pool = state.pools.get(name)
        if pool is None or served.function is None:
            lines = [f"{p.severity}: {p.format(options.root)}" for p in served.errors]
            return Invoked(problems_response(name, lines, False), True, False)
        function = served.function
        kind = event or default_event(function.kind, function.trigger)
        body, headers = request_body(kind, payload, options.root.name, options.url)
        host = options.url.split("://", 1)[-1]
        path = f"/.netlify/functions/{name}"
        request = synthetic_request(path, body=body, headers=headers, host=host)
        if served.function.invocation_mode != "background":
            response = call_function(state, name, request, log)
            return Invoked(response, response.header(ERROR_HEADER) is not None, False)
        lambda_event = http_event(request)  # background: wait for the run, report its outcome
        request_id = lambda_event["headers"]["x-nf-request-id"]
        outcome = run_background(pool, lambda_event, request_id, log)
        return Invoked(HttpResponse(202), outcome is None or outcome.error is not None, False)
    finally:
        app.stop()
