"""Hello: the smallest function, standard library only.

GET /.netlify/functions/hello?name=Ada -> 200 {"message": "Hello, Ada!"}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Type hints only (dev "lint" group): never imported at run time, so the
    # bundle must not need aws-lambda-typing.
    from aws_lambda_typing.context import Context


def handler(event: dict[str, Any], context: Context | None) -> dict[str, Any]:
    """Greet ``?name=`` (or the world) in JSON."""
    params = event.get("queryStringParameters") or {}
    name = params.get("name") or "World"
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": f"Hello, {name}!"}),
    }
