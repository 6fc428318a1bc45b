"""Todo list stored in MongoDB, with the client reused across warm invocations.

    GET  /.netlify/functions/todos  -> 200 {"todos": [...]}
    POST /.netlify/functions/todos  {"title": "..."} -> 201 the new todo

Set ``MONGODB_URI`` (and optionally ``MONGODB_DB``, default "sample_site") in the
site's environment; without it every request answers 503 and nothing connects.
Like ``cachedDb`` in the usual Node tutorials, the client is created on first
use and kept in a module global, so warm invocations skip the connection setup.
"""

from __future__ import annotations

import os
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from lib.events import json_body
from lib.responses import error_response, json_response

_client: MongoClient | None = None


def get_client(uri: str) -> MongoClient:
    """Return the cached client, creating it on the first (cold) invocation."""
    global _client
    if _client is None:
        _client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    return _client


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """List todos (GET) or add one (POST)."""
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        return error_response(503, "MONGODB_URI is not set: the todo list is unavailable")
    try:
        todos = get_client(uri)[os.environ.get("MONGODB_DB", "sample_site")]["todos"]
        if event.get("httpMethod") == "POST":
            body = json_body(event)
            if not isinstance(body, dict) or not str(body.get("title", "")).strip():
                return error_response(400, 'expected {"title": "..."}')
            todo = {"title": str(body["title"]).strip(), "done": bool(body.get("done", False))}
            todo["id"] = str(todos.insert_one(dict(todo)).inserted_id)
            return json_response(201, todo)
        if event.get("httpMethod") in (None, "GET"):
            found = [{"id": str(doc.pop("_id")), **doc} for doc in todos.find().limit(100)]
            return json_response(200, {"todos": found})
        return error_response(405, "use GET or POST")
    except ValueError:  # includes json.JSONDecodeError
        return error_response(400, "body is not JSON")
    except PyMongoError as exc:
        return error_response(502, f"database error: {type(exc).__name__}")
