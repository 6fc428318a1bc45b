"""Realistic bodies for event-triggered functions, in the shapes Netlify documents.

Deploy, form and split-test events send `{"payload": {...}, "site": {...}}`; Identity events
send `{"event": "signup", "instance_id": ..., "user": {...}}`. The values are made up but
the keys and types are those of Netlify's API objects, so a handler that reads
`body["payload"]["data"]["email"]` works locally as it will deployed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from bundler.project.discover import EVENT_TRIGGERS
from bundler.serve.cron import netlify_time

DEPLOY_STATES = {
    "deploy-building": "building",
    "deploy-succeeded": "ready",
    "deploy-failed": "error",
    "deploy-deleted": "deleted",
    "deploy-locked": "ready",
    "deploy-unlocked": "ready",
}


def trigger_body(
    trigger: str, site_name: str, url: str, now: datetime | None = None
) -> dict[str, Any]:
    """The JSON body Netlify posts to the function for `trigger` (e.g. "deploy-succeeded")."""
    if trigger not in EVENT_TRIGGERS:
        raise ValueError(f"unknown event {trigger!r}")
    stamp = netlify_time(now or datetime.now(UTC))
    site = _site(site_name, url, stamp)
    if trigger.startswith("identity-"):
        return {
            "event": trigger.removeprefix("identity-"),
            "instance_id": _id("identity", site_name),
            "user": _user(stamp),
        }
    if trigger == "submission-created":
        return {"payload": _submission(site, stamp), "site": site}
    if trigger.startswith("split-test-"):
        return {"payload": _split_test(site, trigger, stamp), "site": site}
    return {"payload": _deploy(site, trigger, stamp), "site": site}


def _id(*parts: str) -> str:
    """A stable 24-hex-digit id, like Netlify's object ids."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]


def _site(name: str, url: str, stamp: str) -> dict[str, Any]:
    site_id = str(_uuid(name))
    return {
        "id": site_id,
        "site_id": site_id,
        "name": name,
        "url": url,
        "ssl_url": url,
        "admin_url": f"https://app.netlify.com/sites/{name}",
        "custom_domain": None,
        "state": "current",
        "plan": "nf_team_dev",
        "account_slug": "local",
        "created_at": stamp,
        "updated_at": stamp,
        "build_settings": {"dir": ".", "functions_dir": "netlify/functions"},
        "capabilities": {},
    }


def _uuid(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _deploy(site: dict[str, Any], trigger: str, stamp: str) -> dict[str, Any]:
    deploy_id = _id("deploy", site["name"])
    state = DEPLOY_STATES[trigger]
    return {
        "id": deploy_id,
        "site_id": site["id"],
        "build_id": _id("build", site["name"]),
        "state": state,
        "name": site["name"],
        "url": site["url"],
        "ssl_url": site["ssl_url"],
        "admin_url": site["admin_url"],
        "deploy_url": site["url"],
        "deploy_ssl_url": site["ssl_url"],
        "created_at": stamp,
        "updated_at": stamp,
        "published_at": stamp if state == "ready" else None,
        "user_id": _id("user", site["name"]),
        "error_message": "Build script returned non-zero exit code: 2"
        if state == "error"
        else None,
        "required": [],
        "required_functions": [],
        "commit_ref": "0000000000000000000000000000000000000000",
        "commit_url": None,
        "review_id": None,
        "review_url": None,
        "branch": "main",
        "context": "production",
        "title": "Local deploy",
        "committer": "local",
        "skipped": None,
        "locked": trigger == "deploy-locked",
        "manual_deploy": False,
        "deploy_time": 42,
        "available_functions": [],
        "function_schedules": [],
        "framework": "unknown",
        "links": {"permalink": site["url"], "alias": site["url"], "branch": None},
    }


def _submission(site: dict[str, Any], stamp: str) -> dict[str, Any]:
    fields = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "message": "Hello from the contact form",
    }
    return {
        "number": 1,
        "title": None,
        "email": fields["email"],
        "name": fields["name"],
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": None,
        "summary": f"<strong>{fields['name']}</strong> {fields['message']}",
        "body": fields["message"],
        "data": {
            **fields,
            "ip": "127.0.0.1",
            "user_agent": "Mozilla/5.0",
            "referrer": f"{site['url']}/contact",
        },
        "created_at": stamp,
        "human_fields": {k.capitalize(): v for k, v in fields.items()},
        "ordered_human_fields": [
            {"title": k.capitalize(), "name": k, "value": v} for k, v in fields.items()
        ],
        "id": _id("submission", site["name"]),
        "form_id": _id("form", site["name"]),
        "site_url": site["url"],
        "form_name": "contact",
    }


def _split_test(site: dict[str, Any], trigger: str, stamp: str) -> dict[str, Any]:
    return {
        "id": _id("split-test", site["name"]),
        "site_id": site["id"],
        "name": None,
        "path": "/",
        "branch_tests": {"main": 50, "beta": 50},
        "branches": [{"branch": "main", "percentage": 50}, {"branch": "beta", "percentage": 50}],
        "active": trigger != "split-test-deactivated",
        "created_at": stamp,
        "updated_at": stamp,
        "unpublished_at": None,
    }


def _user(stamp: str) -> dict[str, Any]:
    return {
        "id": "1111a1a1-a11a-1111-aa11-aaa11111a11a",
        "aud": "",
        "role": "",
        "email": "ada@example.com",
        "confirmation_sent_at": stamp,
        "confirmed_at": stamp,
        "app_metadata": {"provider": "email"},
        "user_metadata": {"full_name": "Ada Lovelace"},
        "created_at": stamp,
        "updated_at": stamp,
    }
