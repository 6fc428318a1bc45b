"""Statistics about the site's quote collection, built on the shared ``lib`` package.

GET /.netlify/functions/stats -> 200 {"count": ..., "authors": {...}, ...}
"""

from __future__ import annotations

from collections import Counter
from statistics import mean
from typing import Any

from lib.greetings import QUOTES, greet
from lib.responses import json_response

try:  # optional speed-up: ujson is not a dependency of the site
    import ujson as json_impl
except ImportError:
    import json as json_impl


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Count quotes per author and measure their lengths."""
    lengths = [len(q.text) for q in QUOTES]
    data = {
        "greeting": greet("stats reader"),
        "count": len(QUOTES),
        "authors": dict(Counter(q.author for q in QUOTES).most_common()),
        "mean_length": round(mean(lengths), 1),
        "longest": max(QUOTES, key=lambda q: len(q.text))._asdict(),
        "json_backend": json_impl.__name__,
    }
    return json_response(200, data)
