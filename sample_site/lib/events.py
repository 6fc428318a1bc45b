"""Helpers reading API Gateway (REST, v1) proxy events."""

from __future__ import annotations

import base64
import json
from typing import Any


def json_body(event: dict[str, Any]) -> Any:
    """Return the event's body decoded from JSON (``None`` when empty).

    Honours ``isBase64Encoded``; raises ``ValueError`` if the body is not JSON.
    """
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return json.loads(body) if body else None
