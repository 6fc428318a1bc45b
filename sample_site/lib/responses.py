"""Helpers building API Gateway (REST, v1) proxy responses."""

from __future__ import annotations

import json
from typing import Any

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Return a Lambda proxy response whose body is ``data`` serialised as JSON."""
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        "body": json.dumps(data),
    }


def error_response(status: int, message: str) -> dict[str, Any]:
    """Return a JSON error response of the form ``{"error": message}``."""
    return json_response(status, {"error": message})
