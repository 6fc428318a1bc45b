"""Notes stored in PostgreSQL, with the connection reused across warm invocations.

    GET  /.netlify/functions/notes                   -> 200 {"notes": [newest first, 100 at most]}
    POST /.netlify/functions/notes  {"text": "..."}  -> 201 the new note {"id", "text", "created"}

Set ``DATABASE_URL`` (``postgresql://USER:PASSWORD@HOST:PORT/DATABASE``, with
``?sslmode=require`` for a hosted database) in the site's environment; without it every
request answers 503 and nothing connects. pg8000 is pure Python, so the zip is the same
on every Lambda architecture and needs no system library.

Lambda keeps an execution environment warm between invocations, so the connection is
opened on the first (cold) invocation and kept in a module global: warm invocations skip
the TCP and SCRAM handshakes. A server that restarted closes it under us; the statement is
then run once more on a new connection. The table is created on first use.
"""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pg8000.exceptions import DatabaseError, InterfaceError
from pg8000.native import Connection

from lib.events import json_body
from lib.responses import error_response, json_response

MAX_TEXT = 500
CONNECT_TIMEOUT = 10  # seconds; also bounds each statement's network wait
APPLICATION_NAME = "sample-site notes"  # what pg_stat_activity shows for this function

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    text text NOT NULL CHECK (char_length(text) BETWEEN 1 AND {MAX_TEXT}),
    created timestamptz NOT NULL DEFAULT now()
)
"""
# Two cold environments creating the table at once: the loser of the race gets one of these
# (CREATE TABLE IF NOT EXISTS is not atomic in PostgreSQL); the table exists either way.
ALREADY_CREATED = {"23505", "42P07"}
# The server ended the session (shutdown, restart, crash): a new connection may work.
SESSION_ENDED = {"57P01", "57P02", "57P03"}

_connection: Connection | None = None
_connected_to: str | None = None  # the URL it was opened with


class Unusable(Exception):
    """DATABASE_URL cannot be used as written; the message says why."""


class BadNote(Exception):
    """The request does not describe a note; the message says what is expected."""


def connection_settings(url: str) -> dict[str, Any]:
    """pg8000's keyword arguments for a libpq-style URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise Unusable(f"DATABASE_URL must start with postgresql://, not {parts.scheme}://")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    database = unquote(parts.path.lstrip("/"))
    settings: dict[str, Any] = {
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password) if parts.password is not None else None,
        "database": database or None,
        "port": parts.port or 5432,
    }
    host = query.get("host") or unquote(parts.hostname or "") or "localhost"
    if host.startswith("/"):  # a folder holding the server's socket, as libpq reads it
        settings["unix_sock"] = f"{host}/.s.PGSQL.{settings['port']}"
    else:
        settings["host"] = host
    sslmode = query.get("sslmode", "prefer")
    if sslmode in ("require", "verify-ca", "verify-full"):
        context = ssl.create_default_context()
        # libpq's meaning: require encrypts without checking the certificate, verify-ca
        # checks the certificate but not the host name, verify-full checks both
        context.check_hostname = sslmode == "verify-full"
        if sslmode == "require":
            context.verify_mode = ssl.CERT_NONE
        settings["ssl_context"] = context
    elif sslmode not in ("disable", "allow", "prefer"):
        raise Unusable(f"DATABASE_URL has an unknown sslmode {sslmode!r}")
    # pg8000 cannot fall back from TLS to plain as libpq's allow/prefer do: they mean plain
    if not settings["user"]:
        raise Unusable("DATABASE_URL names no user (postgresql://USER:PASSWORD@HOST/DATABASE)")
    return settings


def connect(url: str) -> Connection:
    """A new connection, with the notes table created if it is not there yet."""
    connection = Connection(
        **connection_settings(url), application_name=APPLICATION_NAME, timeout=CONNECT_TIMEOUT
    )
    try:
        connection.run(CREATE_TABLE)
    except DatabaseError as error:
        if code(error) not in ALREADY_CREATED:
            forget(connection)
            raise
    return connection


def forget(connection: Connection | None) -> None:
    """Close `connection` if it is open; a dead one may fail to say goodbye."""
    if connection is not None:
        try:
            connection.close()
        except (InterfaceError, DatabaseError, OSError):
            pass


def code(error: DatabaseError) -> str:
    """The SQLSTATE of a server error ("" for an error raised by the driver itself)."""
    detail = error.args[0] if error.args else None
    return str(detail.get("C", "")) if isinstance(detail, dict) else ""


def message(error: Exception) -> str:
    """The server's message of a server error, the driver's words otherwise."""
    detail = error.args[0] if error.args else error
    return str(detail.get("M", detail)) if isinstance(detail, dict) else str(detail)


def run(url: str, sql: str, **params: Any) -> list[list[Any]]:
    """`sql` on this environment's connection, opened on first use (or when DATABASE_URL
    changed). When the server ended the session under a warm connection (a restart), the
    statement runs once more on a new connection. A network failure after the statement
    was sent could hide one that ran; for a note, a rare duplicate beats an error."""
    global _connection, _connected_to
    for attempt in (1, 2):
        if _connection is None or _connected_to != url:
            forget(_connection)
            _connection, _connected_to = None, None
            _connection, _connected_to = connect(url), url
        try:
            rows: list[list[Any]] = _connection.run(sql, **params)
            return rows
        except (InterfaceError, DatabaseError) as error:
            if not isinstance(error, InterfaceError) and code(error) not in SESSION_ENDED:
                raise
            forget(_connection)
            _connection, _connected_to = None, None
            if attempt == 2:
                raise
    raise AssertionError("unreachable: the second attempt returns or raises")


def note_text(body: Any) -> str:
    """The text of the note a POST body describes."""
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise BadNote('expected {"text": "..."}')
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise BadNote(f"a note holds {MAX_TEXT} characters at most, this one has {len(text)}")
    return text


def as_note(row: list[Any]) -> dict[str, Any]:
    note_id, text, created = row
    return {"id": note_id, "text": text, "created": created.isoformat()}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """List the notes (GET) or add one (POST)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return error_response(503, "DATABASE_URL is not set: the notes are unavailable")
    method = event.get("httpMethod") or "GET"
    if method not in ("GET", "POST"):
        return json_response(405, {"error": "use GET or POST"}, {"Allow": "GET, POST"})
    try:
        if method == "POST":
            text = note_text(json_body(event))
            inserted = run(
                url, "INSERT INTO notes (text) VALUES (:text) RETURNING id, text, created", text=text
            )
            return json_response(201, as_note(inserted[0]))
        rows = run(url, "SELECT id, text, created FROM notes ORDER BY id DESC LIMIT 100")
        return json_response(200, {"notes": [as_note(row) for row in rows]})
    except BadNote as error:
        return error_response(400, str(error))
    except Unusable as error:
        return error_response(503, str(error))
    except ValueError:  # json.JSONDecodeError, a body that is not UTF-8 or base64
        return error_response(400, "body is not JSON")
    except InterfaceError as error:
        return error_response(503, f"cannot reach the database: {message(error)}")
    except DatabaseError as error:
        return error_response(502, f"database error: {message(error)}")
