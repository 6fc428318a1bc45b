"""Routing a request in Netlify's order: default URLs, v2 routes, redirect rules (splat,
placeholders, query, shadowing, force), static files, 404."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.project.routes import function_routes
from bundler.serve.redirects import Redirect, read_redirects
from bundler.serve.router import Router


@pytest.fixture
def publish(tmp_path: Path) -> Path:
    folder = tmp_path / "public"
    for name, text in {
        "index.html": "home",
        "about.html": "about",
        "docs/index.html": "docs",
        "api/items": "a static file that shadows the rule",
        "404.html": "custom not found",
        ".env": "SECRET=1",
        ".well-known/security.txt": "contact",
    }.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def router(publish: Path | None = None, redirects: tuple[Redirect, ...] = ()) -> Router:
    v2 = function_routes(
        "items",
        {"path": "/v2/items/:id", "excludedPath": "/v2/items/secret", "method": "GET"},
        "sync",
        Path("items.py"),
        1,
    )
    return Router({"hello": ((), ()), "items": v2, "api": ((), ())}, redirects, publish)


def test_default_urls() -> None:
    table = router()
    assert table.route("GET", "/.netlify/functions/hello").function == "hello"
    assert table.route("POST", "/.netlify/functions/hello/deeper/path").function == "hello"
    bad = table.route("GET", "/.netlify/functions/bad%20name")
    assert (bad.kind, bad.status) == ("bad-name", 400)
    unknown = table.route("GET", "/.netlify/functions/nope")
    assert (unknown.kind, unknown.status) == ("unknown", 404)


def test_a_function_with_a_path_stops_answering_on_its_default_url() -> None:
    decision = router().route("GET", "/.netlify/functions/items")
    assert (decision.kind, decision.status) == ("unknown", 404)
    assert decision.note == (
        "Function items cannot be invoked on /.netlify/functions/items, because the function "
        "has the following URL paths defined: /v2/items/:id"
    )


def test_v2_routes_methods_and_exclusions() -> None:
    table = router()
    assert table.route("GET", "/v2/items/7").function == "items"
    assert table.route("POST", "/v2/items/7").kind == "not-found"
    assert table.route("GET", "/v2/items/secret").kind == "not-found"


RULES = (
    Redirect(source="/api/*", to="/.netlify/functions/api/:splat", status=200),
    Redirect(source="/old/:year/:slug", to="/news/:year/:slug", status=301),
    Redirect(source="/search", to="/.netlify/functions/hello", status=200, query=(("q", ":q"),)),
    Redirect(source="/about", to="/elsewhere", status=302),
    Redirect(source="/forced", to="/.netlify/functions/hello", status=200, force=True),
    Redirect(source="/proxy/*", to="https://example.com/:splat", status=200),
    Redirect(source="/gone", to="/404.html", status=404),
)


def test_rewrites_to_functions_keep_the_function(publish: Path) -> None:
    table = router(publish, RULES)
    assert table.route("GET", "/api/items/1").function == "api"
    assert table.route("GET", "/api").function == "api"
    assert table.route("GET", "/search", {"q": ["x"]}).function == "hello"
    assert table.route("GET", "/search").kind == "not-found"  # the rule needs ?q=


def test_redirects_fill_placeholders_and_keep_the_query(publish: Path) -> None:
    decision = router(publish, RULES).route("GET", "/old/2024/hello", {"ref": ["x"]})
    assert (decision.kind, decision.status, decision.location) == (
        "redirect",
        301,
        "/news/2024/hello?ref=x",
    )


def test_a_static_file_shadows_a_rule_without_force(publish: Path) -> None:
    table = router(publish, RULES)
    assert table.route("GET", "/api/items").kind == "static"  # public/api/items exists
    assert table.route("GET", "/about").kind == "static"  # about.html exists
    forced = router(
        publish,
        (Redirect(source="/about", to="/.netlify/functions/hello", status=200, force=True),),
    )
    assert forced.route("GET", "/about").function == "hello"


def test_external_rewrites_are_not_proxied(publish: Path) -> None:
    decision = router(publish, RULES).route("GET", "/proxy/a")
    assert (decision.kind, decision.status, decision.location) == (
        "external",
        502,
        "https://example.com/a",
    )


def test_404_rewrites_and_the_custom_404_page(publish: Path) -> None:
    table = router(publish, RULES)
    gone = table.route("GET", "/gone")
    assert (gone.kind, gone.status, gone.file) == ("static", 404, publish / "404.html")
    missing = table.route("GET", "/no/such/page")
    assert (missing.kind, missing.status, missing.file) == ("not-found", 404, publish / "404.html")


def test_static_files(publish: Path) -> None:
    table = router(publish)
    assert table.static_file("/") == publish / "index.html"
    assert table.static_file("/docs/") == publish / "docs" / "index.html"
    assert table.static_file("/about") == publish / "about.html"
    assert table.static_file("/.well-known/security.txt") == publish / ".well-known/security.txt"
    assert table.static_file("/.env") is None  # never a hidden file
    assert table.static_file("/../public/index.html") is None
    assert table.static_file("/%2e%2e/x") is None
    assert table.route("POST", "/index.html").kind == "not-found"  # files answer GET and HEAD


def test_redirect_rules_from_netlify_toml_and_the_redirects_file(tmp_path: Path) -> None:
    redirects_file = tmp_path / "_redirects"
    redirects_file.write_text(
        "# comment\n/a  /b  302\n/c  /.netlify/functions/c  200!\n/geo /x 302 Country=us\nbad\n"
        "/store id=:id  /blog/:id  301\n/s /t ²\n/dup/:a/:a /x 200\n/z /y 0\n/w /v 200 stray\n"
    )
    toml = {
        "redirects": [
            {"from": "/api/*", "to": "/.netlify/functions/api/:splat", "status": 200},
            {"from": "https://old.example.com/*", "to": "/new/:splat"},
            {"from": "/q", "to": "/r", "query": {"id": ":id"}},
        ]
    }
    rules, warnings = read_redirects(toml, tmp_path / "netlify.toml", redirects_file)
    assert [(r.source, r.to, r.status, r.force, r.query) for r in rules] == [
        ("/a", "/b", 302, False, ()),
        ("/c", "/.netlify/functions/c", 200, True, ()),
        ("/store", "/blog/:id", 301, False, (("id", ":id"),)),
        ("/api/*", "/.netlify/functions/api/:splat", 200, False, ()),
        ("/q", "/r", 301, False, (("id", ":id"),)),
    ]
    assert [(w.message, w.line) for w in warnings] == [
        (
            "_redirects line 4 is not applied locally: bundle serve does not apply conditions "
            "(country, language, role, cookie)",
            4,
        ),
        ("_redirects line 5 is left out: a rule needs a `from` and a `to`", 5),
        ("_redirects line 7 is left out: '²' is not a status", 7),
        ("_redirects line 8 is left out: `from` '/dup/:a/:a' names a placeholder twice", 8),
        ("_redirects line 9 is left out: status 0 is not an HTTP status (100 to 599)", 9),
        ("_redirects line 10 is left out: 'stray' is neither a status nor a condition", 10),
        (
            "netlify.toml [[redirects]] #2 is not applied locally: bundle serve does not apply "
            "rules for a host or protocol (a `from` that is not a path)",
            None,
        ),
    ]
