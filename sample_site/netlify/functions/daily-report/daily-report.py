"""Scheduled function: renders the daily report with a Jinja2 template.

Netlify runs it every day (``config`` below, read statically at build time) and
POSTs a body such as ``{"next_run": "2024-06-02T00:00:00.000Z"}``. It can also be
called by hand: GET /.netlify/functions/daily-report returns the HTML.
The template ships in ``templates/`` next to this file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

config = {"schedule": "@daily"}

env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Render today's report and return it as HTML."""
    try:
        next_run = json.loads(event.get("body") or "{}").get("next_run")
    except (json.JSONDecodeError, AttributeError):
        next_run = None
    html = env.get_template("report.html.j2").render(
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        next_run=next_run,
        metrics={"visits": 1234, "signups": 56, "functions invoked": 789},
    )
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "text/html; charset=utf-8"},
        "body": html,
    }
