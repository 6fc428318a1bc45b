"""Every function of sample_site answers through `bundle serve` as it would on Lambda, from
its built zip, with the site's real PyPI environment (sample_site/.venv, set up by `make
test`); and a handler whose zip lacks an import fails the way it would fail deployed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from serve_support import Serve, install_runtime_client
from support import SAMPLE_SITE, require_sample_venv

pytestmark = [pytest.mark.slow, pytest.mark.sample_site]

PYTHON = SAMPLE_SITE / ".venv" / "bin" / "python"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    require_sample_venv()
    cache = tmp_path_factory.getbasetemp() / "serve-cache"
    install_runtime_client(cache)
    site = tmp_path_factory.mktemp("sample") / "site"
    shutil.copytree(
        SAMPLE_SITE, site, ignore=shutil.ignore_patterns(".venv", "dist", ".bundle-cache")
    )
    # a function whose zip leaves out a distribution the site's virtualenv has
    (site / "netlify/functions/needs-jinja.py").write_text(
        "from jinja2 import Template\n\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'body': Template('{{ 1 + 1 }}').render()}\n"
    )
    with (site / "netlify.toml").open("a") as toml:
        toml.write('\n[functions."needs-jinja"]\n  exclude = ["jinja2"]\n')
    serve = Serve(site, cache, PYTHON, "--no-watch", "--no-schedule")
    yield serve
    serve.stop()


def test_hello(server: Serve) -> None:
    response = server.get("/.netlify/functions/hello?name=Ada")
    assert (response.status, response.json()) == (200, {"message": "Hello, Ada!"})


def test_api_through_the_redirect_and_the_default_url(server: Serve) -> None:
    listed = server.get("/api/items")
    assert listed.status == 200
    assert [i["name"] for i in listed.json()["items"]][:2] == ["towel", "guide"]
    created = server.request(
        "POST", "/api/items", b'{"name": "map", "price": 3}', {"Content-Type": "application/json"}
    )
    assert created.status == 201
    item = created.json()
    again = server.get(f"/.netlify/functions/api/items/{item['id']}")
    assert again.json() == item  # the same warm worker kept ITEMS
    assert server.get("/api/items/999").status == 404


def test_fastapi_app(server: Serve) -> None:
    assert server.get("/.netlify/functions/fastapi-app").json()["service"] == "fastapi-app"
    created = server.request(
        "POST",
        "/.netlify/functions/fastapi-app/items",
        b'{"name": "  big   towel ", "price": 12}',
        {"Content-Type": "application/json"},
    )
    assert (created.status, created.json()["name"]) == (201, "Big Towel")
    invalid = server.request(
        "POST",
        "/.netlify/functions/fastapi-app/items",
        b'{"name": "x", "price": -1}',
        {"Content-Type": "application/json"},
    )
    assert invalid.status == 422


def test_quote_and_stats(server: Serve) -> None:
    quote = server.get("/.netlify/functions/quote?author=knuth").json()
    assert quote["author"] == "Donald Knuth"
    assert server.get("/.netlify/functions/quote?author=nobody").status == 404
    stats = server.get("/.netlify/functions/stats").json()
    assert (stats["count"], stats["json_backend"]) == (5, "json")  # ujson is not shipped


def test_todos_without_a_database(server: Serve) -> None:
    response = server.get("/.netlify/functions/todos")
    assert response.status == 503
    assert response.json() == {"error": "MONGODB_URI is not set: the todo list is unavailable"}


def test_daily_report_renders_its_template(server: Serve) -> None:
    response = server.get("/.netlify/functions/daily-report")
    assert response.status == 200
    assert response.header("Content-Type") == "text/html; charset=utf-8"
    assert "<h1>Daily report</h1>" in response.text
    assert "T00:00:00.000Z" in response.text  # the next_run Netlify sends


def test_the_background_function(server: Serve) -> None:
    response = server.request(
        "POST",
        "/.netlify/functions/send-report-background",
        json.dumps({"destination": "a@b.c", "content": "hi"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert (response.status, response.body) == (202, b"")
    log = server.wait_for("[send-report-background] queued background invocation ", 10)
    request_id = log.split("queued background invocation ", 1)[1][:36]
    server.wait_for(f"[send-report-background] background invocation {request_id} done", 60)


def test_the_static_page(server: Serve) -> None:
    assert "<h1>sample-site</h1>" in server.get("/").text


def test_an_import_its_zip_lacks_fails_as_deployed(server: Serve) -> None:
    response = server.get("/.netlify/functions/needs-jinja")
    assert (response.status, response.text) == (
        500,
        "Runtime.ImportModuleError: Unable to import module 'needs-jinja': "
        "No module named 'jinja2'\n",
    )
