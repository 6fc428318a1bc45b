"""Background function: build a report and "send" it by e-mail.

The ``-background`` suffix makes Netlify answer 202 at once and run this for up
to 15 minutes; whatever the handler returns is discarded. Standard library only.

POST /.netlify/functions/send-report-background  {"destination": "a@b.c", "content": "..."}
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)
# Lambda's root logger passes WARNING and above: without this the steps would not be logged
log.setLevel(logging.INFO)


def build_message(destination: str, content: str) -> EmailMessage:
    """Return the e-mail carrying the report."""
    message = EmailMessage()
    message["To"] = destination
    message["From"] = "reports@example.com"
    message["Subject"] = "Your report"
    message.set_content(content)
    return message


def handler(event: dict[str, Any], context: Any) -> None:
    """Render and send the report described by the JSON body; never raise."""
    body = event.get("body") or "{}"
    try:
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        payload = json.loads(body)
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("ignoring a body that is not JSON")
        return
    if not isinstance(payload, dict):
        log.warning("ignoring a body that is not a JSON object")
        return
    destination = payload.get("destination", "team@example.com")
    message = build_message(destination, payload.get("content", "Nothing to report."))
    for step in ("render", "attach", "send"):
        time.sleep(0.02)  # stands in for slow work (PDF rendering, an SMTP call...)
        log.info("report for %s: %s done", destination, step)
    log.info("sent %d bytes to %s", len(message.as_bytes()), destination)
