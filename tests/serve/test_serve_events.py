"""The event a function receives: Netlify's shape, its base64 rule, multi-value headers and
query, the scheduled event, and the realistic payloads of event-triggered functions."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from bundler.project.discover import EVENT_TRIGGERS
from bundler.serve.events import (
    CLOCKWORK,
    HttpRequest,
    client_context,
    http_event,
    is_base64_body,
    schedule_run_event,
    scheduled_event,
)
from bundler.serve.triggers import trigger_body


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/html; charset=utf-8",
        "application/json",
        "APPLICATION/JSON; charset=utf-8",
        "application/ld+json",
        "application/atom+xml",
        "application/xml",
        "application/javascript",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "application/x-ndjson",
        "application/csp-report",
    ],
)
def test_text_bodies(content_type: str) -> None:
    assert not is_base64_body(content_type)


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/octet-stream", "image/png", "multipart/form-data; boundary=x"],
)
def test_base64_bodies(content_type: str | None) -> None:
    assert is_base64_body(content_type)


def request(**changes: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "GET",
        "path": "/api/items",
        "query": "tag=a&tag=b&q=x+y&empty=",
        "headers": (
            ("Host", "localhost:9999"),
            ("Accept", "text/html"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
        ),
        "client": "127.0.0.1",
        "host": "localhost:9999",
        "received": 1700000000.5,
    }
    fields.update(changes)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def test_the_event_of_a_get() -> None:
    event = http_event(request(), "req-1")
    assert event["path"] == "/api/items"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"tag": "a, b", "q": "x y", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {
        "tag": ["a", "b"],
        "q": ["x y"],
        "empty": [""],
    }
    assert event["headers"]["x-multi"] == "1, 2"
    assert event["multiValueHeaders"]["x-multi"] == ["1", "2"]
    assert event["headers"]["client-ip"] == "127.0.0.1"
    assert event["headers"]["x-nf-request-id"] == "req-1"
    assert event["rawUrl"] == "http://localhost:9999/api/items?tag=a&tag=b&q=x+y&empty="
    assert event["rawQuery"] == "tag=a&tag=b&q=x+y&empty="
    assert event["body"] is None
    assert event["isBase64Encoded"] is True  # no Content-Type: Netlify's rule
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["requestTimeEpoch"] == 1700000000500
    assert event["resource"] == "/{proxy+}"


def test_a_json_body_is_text_and_a_binary_body_base64() -> None:
    json_event = http_event(
        request(method="POST", headers=(("content-type", "application/json"),), body=b'{"a": 1}')
    )
    assert (json_event["body"], json_event["isBase64Encoded"]) == ('{"a": 1}', False)
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    binary = http_event(request(method="POST", headers=(("content-type", "image/png"),), body=png))
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == png


def test_no_query_gives_empty_tables_and_a_plain_raw_url() -> None:
    event = http_event(request(query=""))
    assert event["queryStringParameters"] == {}
    assert event["multiValueQueryStringParameters"] == {}
    assert event["rawUrl"] == "http://localhost:9999/api/items"


def test_the_scheduled_event() -> None:
    event = scheduled_event(http_event(request()), "2024-06-02T00:00:00.000Z")
    assert event["httpMethod"] == "POST"
    assert json.loads(event["body"]) == {"next_run": "2024-06-02T00:00:00.000Z"}
    assert event["isBase64Encoded"] is False
    assert event["headers"]["user-agent"] == CLOCKWORK == "Netlify Clockwork"
    assert event["headers"]["x-nf-event"] == "schedule"
    assert event["multiValueHeaders"]["x-nf-event"] == ["schedule"]
    run = schedule_run_event("nightly", "2024-06-02T00:00:00.000Z")
    assert run["path"] == "/.netlify/functions/nightly"
    assert json.loads(run["body"]) == {"next_run": "2024-06-02T00:00:00.000Z"}


NOW = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)


def test_deploy_events_carry_a_deploy_and_the_site() -> None:
    body = trigger_body("deploy-succeeded", "my-site", "http://localhost:9999", NOW)
    assert set(body) == {"payload", "site"}
    assert body["payload"]["state"] == "ready"
    assert body["payload"]["published_at"] == "2024-06-01T12:30:00.000Z"
    assert body["payload"]["site_id"] == body["site"]["id"]
    assert body["site"]["url"] == "http://localhost:9999"
    failed = trigger_body("deploy-failed", "my-site", "http://x", NOW)["payload"]
    assert (failed["state"], failed["published_at"]) == ("error", None)
    assert failed["error_message"]


def test_a_form_submission() -> None:
    payload = trigger_body("submission-created", "my-site", "http://x", NOW)["payload"]
    assert payload["form_name"] == "contact"
    assert payload["data"]["email"] == payload["email"] == "ada@example.com"
    assert payload["human_fields"]["Message"] == payload["body"]
    assert payload["ordered_human_fields"][0] == {
        "title": "Name",
        "name": "name",
        "value": "Ada Lovelace",
    }


def test_identity_events_send_the_user() -> None:
    body = trigger_body("identity-signup", "my-site", "http://x", NOW)
    assert set(body) == {"event", "instance_id", "user"}
    assert body["event"] == "signup"
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["app_metadata"] == {"provider": "email"}


@pytest.mark.parametrize("trigger", sorted(EVENT_TRIGGERS))
def test_every_trigger_has_a_json_body(trigger: str) -> None:
    body = trigger_body(trigger, "s", "http://x", NOW)
    assert json.loads(json.dumps(body)) == body


def test_an_unknown_trigger() -> None:
    with pytest.raises(ValueError, match="unknown event 'deploy-exploded'"):
        trigger_body("deploy-exploded", "s", "http://x", NOW)


def jwt(claims: dict[str, object]) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.signature"


def test_an_identity_token_becomes_the_client_context() -> None:
    token = jwt({"sub": "1", "email": "ada@example.com"})
    found = client_context(request(headers=(("Authorization", f"Bearer {token}"),)))
    assert found is not None
    document = json.loads(found)
    assert document["user"] == {"sub": "1", "email": "ada@example.com"}
    assert document["identity"] == {
        "url": "http://localhost:9999/.netlify/identity",
        "token": token,
    }
    netlify = json.loads(base64.b64decode(document["custom"]["netlify"]))
    assert netlify == {"identity": document["identity"], "user": document["user"]}


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer not-a-jwt", "Bearer a.!!!.c"])
def test_no_client_context_without_a_jwt(header: str | None) -> None:
    headers = (("Authorization", header),) if header else ()
    assert client_context(request(headers=headers)) is None
