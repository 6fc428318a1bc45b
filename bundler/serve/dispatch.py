"""From a request to a response: route it, then call the function (or send the file, the
redirect, the error), with Netlify's answers for each case.

- a function that did not build: 500 with its build problems;
- a body over 6 MB (256 KB for a background function): 413;
- background: 202 with an empty body at once, the run logged when it ends;
- scheduled: the request becomes Netlify's scheduled event (`next_run`), one run;
- a handler error: 500 with type, message and trace; an invalid result: 500 with Netlify's
  message; every worker busy for the whole timeout: 429.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

from bundler.serve.cron import Cron, netlify_time
from bundler.serve.events import (
    MAX_BACKGROUND_PAYLOAD,
    MAX_PAYLOAD,
    HttpRequest,
    client_context,
    http_event,
    new_request_id,
    scheduled_event,
)
from bundler.serve.logs import Log
from bundler.serve.pool import FunctionPool, Throttled
from bundler.serve.responses import (
    HttpResponse,
    InvalidResponse,
    from_lambda,
    function_error,
    page,
    problems_response,
    text_response,
)
from bundler.serve.router import Router
from bundler.serve.tasks import Served
from bundler.serve.worker import Outcome

BAD_NAME = "Function name should consist only of alphanumeric characters, hyphen & underscores."
ERROR_HEADER = "X-Bundle-Function-Error"  # tells `bundle invoke` a 500 is a function error


@dataclass(frozen=True, kw_only=True)
class State:
    """What is served at one moment; swapped whole when the site is rebuilt."""

    router: Router
    served: Mapping[str, Served]
    pools: Mapping[str, FunctionPool]
    schedules: Mapping[str, Cron]
    root: Path


def too_large(background: bool) -> HttpResponse:
    """The 413 for an event over Lambda's payload limit."""
    limit = MAX_BACKGROUND_PAYLOAD if background else MAX_PAYLOAD
    what = "a background function's event" if background else "a function's event"
    return text_response(
        413,
        f"Payload Too Large: {what} may be at most {limit} bytes on Netlify (Lambda's limit)\n",
    )


def respond(state: State, request: HttpRequest, log: Log) -> HttpResponse:
    """The response to `request`, logging what the terminal should show."""
    query = parse_qs(request.query, keep_blank_values=True)
    decision = state.router.route(request.method, request.path, query)
    if decision.note:
        log(f"warning: {decision.note}")
    if decision.kind == "function" and decision.function is not None:
        return call_function(state, decision.function, request, log)
    if decision.kind == "static" and decision.file is not None:
        return _file(decision.file, decision.status, request)
    if decision.kind == "redirect" and decision.location is not None:
        return HttpResponse(decision.status, (("Location", decision.location),))
    if decision.kind == "bad-name":
        return text_response(400, BAD_NAME)
    if decision.kind == "unknown":
        return text_response(404, "Function not found...")
    if decision.kind == "external":
        return text_response(502, f"{decision.note}\n")
    if decision.file is not None:
        return _file(decision.file, 404, request)
    return text_response(404, "Not Found\n")


def call_function(state: State, name: str, request: HttpRequest, log: Log) -> HttpResponse:
    """Invoke function `name` with `request` and turn its result into the HTTP response."""
    served, pool = state.served[name], state.pools.get(name)
    function = served.function
    accepts_html = request.accepts_html()
    if pool is None or function is None or not served.ok:
        lines = [f"{p.severity}: {p.format(state.root)}" for p in served.errors]
        return problems_response(name, lines, accepts_html, ((ERROR_HEADER, "BuildFailed"),))
    started = time.monotonic()
    request_id = new_request_id()
    event = http_event(request, request_id)
    if function.kind == "scheduled" and name in state.schedules:
        runs = state.schedules[name].next_runs(datetime.now(UTC), 1)
        event = scheduled_event(event, netlify_time(runs[0]) if runs else "")
        log(f"[{name}] a request runs this scheduled function once (Netlify runs it on time)")
    background = function.invocation_mode == "background"
    if len(json.dumps(event)) > (MAX_BACKGROUND_PAYLOAD if background else MAX_PAYLOAD):
        return too_large(background)
    if background:
        log(f"[{name}] queued background invocation {request_id}")
        threading.Thread(
            target=run_background, args=(pool, event, request_id, log), daemon=True
        ).start()
        return HttpResponse(202)
    try:
        outcome = pool.invoke(event, request_id, client_context(request))
    except Throttled as error:
        log(f"[{name}] {error}: answering 429")
        return text_response(429, "Rate Exceeded.\n")
    response = to_http(outcome, name, accepts_html, log)
    elapsed = (time.monotonic() - started) * 1000
    target = request.path + (f"?{request.query}" if request.query else "")
    log(f"[{name}] {request.method} {target} {response.status} ({elapsed:.1f} ms)")
    if request.method == "HEAD":
        return HttpResponse(response.status, response.headers)
    return response


def to_http(outcome: Outcome, name: str, accepts_html: bool, log: Log) -> HttpResponse:
    """The response an outcome stands for; a failure is logged in one line too."""
    if outcome.error is not None:
        kind = outcome.error.get("errorType", "Error")
        log(f"[{name}] error: {kind}: {outcome.error.get('errorMessage', '')}")
        return function_error(outcome.error, accepts_html, ((ERROR_HEADER, str(kind)),))
    try:
        return from_lambda(outcome.response or b"null", name)
    except InvalidResponse as error:
        log(f"[{name}] error: {error}")
        headers = ((ERROR_HEADER, "InvalidResponse"),)
        if accepts_html:
            return page(500, "invalid function response", "", str(error), headers)
        return text_response(500, f"{error}\n", headers)


def run_background(
    pool: FunctionPool, event: Mapping[str, object], request_id: str, log: Log
) -> Outcome | None:
    """One background run (15 minutes at most); what it returns is discarded."""
    name = pool.spec.function
    try:
        outcome = pool.invoke(event, request_id)
    except Throttled as error:
        log(f"[{name}] background invocation {request_id} not run: {error}")
        return None
    if outcome.error is not None:
        kind, message = outcome.error.get("errorType"), outcome.error.get("errorMessage")
        log(f"[{name}] background invocation {request_id} failed: {kind}: {message}")
    else:
        log(f"[{name}] background invocation {request_id} done")
    return outcome


def _file(path: Path, status: int, request: HttpRequest) -> HttpResponse:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    try:
        data = path.read_bytes()
    except OSError:
        return text_response(404, "Not Found\n")
    headers = (("Content-Type", kind), ("Cache-Control", "no-cache"))
    return HttpResponse(status, headers, b"" if request.method == "HEAD" else data)
