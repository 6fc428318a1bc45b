"""The sample site's page in headless Chromium (Debian's, driven by Playwright), loaded from a
real `bundle serve` whose `notes` talk to the session's PostgreSQL: the greeting, a note added
through the form and listed, the Flask API's answer through the `/api/*` redirect, the
background report's 202 and its outcome in the server's log; no console error, no request
leaving the site, and a screenshot that shows a drawn page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sample_app_support import Cluster, launch_chromium, serve_sample_site
from serve_support import Serve
from support import png_colours

pytestmark = [pytest.mark.slow, pytest.mark.sample_site]

DATABASE = "notes_browsed"
WAIT_MS = 60_000  # the first request to each function is a cold start
PAPER = "rgb(246, 244, 239)"  # --paper in assets/style.css
STEPS = ("render", "attach", "send")  # what send-report-background logs, in order


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres: Cluster) -> Iterator[Serve]:
    url = postgres.create_database(DATABASE)
    with serve_sample_site(tmp_path_factory, env={"DATABASE_URL": url}) as serve:
        yield serve


class Page:
    """A page of the site in a fresh browser profile, with what it logged and asked for."""

    def __init__(self, page: Any, origin: str) -> None:
        self.page, self.origin = page, origin
        self.console: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.set_default_timeout(WAIT_MS)

    def text(self, selector: str) -> str:
        return str(self.page.inner_text(selector))

    def wait_state(self, selector: str, state: str) -> str:
        """Wait until `selector`'s data-state is `state` (failing at once on "error")."""
        either = f'{selector}[data-state="{state}"], {selector}[data-state="error"]'
        self.page.wait_for_selector(either)
        assert self.page.get_attribute(selector, "data-state") == state, self.text(selector)
        return self.text(selector)


@pytest.fixture
def page(server: Serve, tmp_path: Path) -> Iterator[Page]:
    origin = f"http://127.0.0.1:{server.port}"
    with launch_chromium(tmp_path / "profile") as context:
        yield Page(context.new_page(), origin)


def test_the_page_uses_the_functions_through_the_sites_urls(
    page: Page, server: Serve, tmp_path: Path
) -> None:
    page.page.goto(f"{page.origin}/?name=Ada")
    assert page.wait_state("#greeting", "ready") == "Hello, Ada!"
    assert page.wait_state("#notes-status", "ready") == "No notes yet."
    assert page.wait_state("#api-status", "ready") == "GET /api/items answered 200 with 2 items"
    assert page.text("#items").splitlines() == ["towel: 9.50", "guide: 42.00"]

    page.page.fill("#note-text", "Bring a towel")
    page.page.click("#note-form button")
    page.page.wait_for_selector("#notes li .note-text >> text=Bring a towel")
    status = page.wait_state("#notes-status", "ready")
    assert re.fullmatch(r"Saved note \d+; 1 note", status), status
    assert page.page.input_value("#note-text") == ""

    # the note is in the database: a new page load lists it from a GET
    page.page.reload()
    assert page.wait_state("#notes-status", "ready") == "1 note"
    assert page.page.locator("#notes li .note-text").all_inner_texts() == ["Bring a towel"]

    # drawn as the stylesheet says, and the screenshot is a picture, not a blank page
    background = page.page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == PAPER
    screenshot = tmp_path / "page.png"
    page.page.screenshot(path=str(screenshot), full_page=True)
    assert png_colours(screenshot) > 20

    assert page.console == []
    assert [url for url in page.requests if not url.startswith(page.origin + "/")] == []
    assert f"{page.origin}/api/items" in page.requests  # the Flask API through the redirect


def test_the_report_answers_202_and_its_outcome_is_logged(page: Page, server: Serve) -> None:
    start = len(server.log())
    page.page.goto(page.origin + "/")
    page.wait_state("#notes-status", "ready")
    page.page.fill("#report-destination", "ada@example.com")
    with page.page.expect_response(lambda r: "send-report-background" in r.url) as answer:
        page.page.click("#report-form button")
    assert (answer.value.status, answer.value.body()) == (202, b"")
    assert page.wait_state("#report-status", "accepted") == (
        "Accepted (202): the report for ada@example.com runs in the background; "
        "the server's log shows how it went."
    )
    log = server.wait_for("[send-report-background] queued background invocation ", 10, start)
    request_id = log.split("queued background invocation ", 1)[1][:36]
    log = server.wait_for(f"background invocation {request_id} done", 60, start)
    # the function's own log lines, in Lambda's format, carry the invocation's id
    outcome = [
        line.split("\t")[-1]
        for line in log.splitlines()
        if line.startswith("[send-report-background] [INFO]\t") and f"\t{request_id}\t" in line
    ]
    assert outcome[:3] == [f"report for ada@example.com: {step} done" for step in STEPS]
    assert re.fullmatch(r"sent \d+ bytes to ada@example.com", outcome[3]), outcome
    assert page.console == []
