"""Quote of the moment, built on the site-level ``lib`` package.

GET /.netlify/functions/quote -> 200 {"text": ..., "author": ...}
GET /.netlify/functions/quote?author=Knuth filters by author (404 if none match).
"""

from __future__ import annotations

import importlib
from typing import Any

from lib.greetings import QUOTES
from lib.responses import error_response, json_response

# Dynamic import with a literal name: a static bundler can still see it.
random = importlib.import_module("random")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Return one random quote, optionally filtered by ``?author=``."""
    author = ((event.get("queryStringParameters") or {}).get("author") or "").lower()
    candidates = [q for q in QUOTES if author in q.author.lower()]
    if not candidates:
        return error_response(404, f"no quote by {author!r}")
    return json_response(200, random.choice(candidates)._asdict())
