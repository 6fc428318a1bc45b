"""Netlify v2 routes (`config["path"]`): compiled and validated at build time the way
zip-it-and-ship-it does it, recorded in the manifest in its shape, matched as Netlify's
local server matches them."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from serve_support import write_site

from bundler.build import build
from bundler.errors import BundlerError
from bundler.project.config import SiteConfig
from bundler.project.discover import discover_functions
from bundler.project.routes import Route, function_routes, pathname_regex

F = "netlify/functions"
HANDLER = "def handler(event, context):\n    return {'statusCode': 200}\n"
HINT = 'write it as config = {"path": "/api/items/:id", "method": ["GET", "POST"]}'
PATTERN_HINT = "see https://developer.mozilla.org/docs/Web/API/URL_Pattern_API for the syntax"


def routes(config: dict[str, object], kind: str = "sync") -> tuple[tuple[Route, ...], ...]:
    return function_routes("func1", config, kind, Path("f.py"), 3)


# The expected expressions are zip-it-and-ship-it's own (its in_source_config tests).
@pytest.mark.parametrize(
    ("path", "expression"),
    [
        ("/*", r"^(?:\/(.*))\/?$"),
        ("/products/:id", r"^\/products(?:\/([^\/]+?))\/?$"),
        (
            "/store/:category/products/:product-id",
            r"^\/store(?:\/([^\/]+?))\/products(?:\/([^\/]+?))-id\/?$",
        ),
        ("/product/:product-id", r"^\/product(?:\/([^\/]+?))-id\/?$"),
    ],
)
def test_expressions_are_those_of_zip_it_and_ship_it(path: str, expression: str) -> None:
    ((route,), excluded) = routes({"path": path})
    assert route.to_json() == {"pattern": path, "expression": expression, "methods": []}
    assert excluded == ()


def test_literal_paths_and_duplicates() -> None:
    found, excluded = routes(
        {"path": ["/products", "/products", "/super-awesome"], "excludedPath": "/products/jacket"}
    )
    assert [r.to_json() for r in found] == [
        {"pattern": "/products", "literal": "/products", "methods": []},
        {"pattern": "/super-awesome", "literal": "/super-awesome", "methods": []},
    ]
    assert [r.to_json(with_methods=False) for r in excluded] == [
        {"pattern": "/products/jacket", "literal": "/products/jacket"}
    ]


def test_methods_are_upper_cased_and_prefer_static_kept() -> None:
    ((route,), _) = routes({"path": "/items", "method": ["get", "POST"], "preferStatic": True})
    assert route.to_json() == {
        "pattern": "/items",
        "literal": "/items",
        "methods": ["GET", "POST"],
        "prefer_static": True,
    }


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("/api/:id?", r"^\/api(?:\/([^\/]+?))?$"),
        ("/files/:path+", r"^\/files(?:\/((?:[^\/]+?)(?:\/(?:[^\/]+?))*))$"),
        ("/a/(\\d+)", r"^\/a(?:\/(\d+))$"),
        ("/blog/{:slug}?/x", r"^\/blog\/([^\/]+?)?\/x$"),
    ],
)
def test_urlpattern_modifiers_groups_and_regexps(pattern: str, regex: str) -> None:
    assert pathname_regex(pattern) == regex


@pytest.mark.parametrize(
    ("config", "message", "hint"),
    [
        (
            {"path": "missing-slash"},
            "Function func1 has a configuration error on 'path': Must start with a '/'",
            HINT,
        ),
        (
            {"path": ["/store", 42]},
            "Function func1 has a configuration error on 'path': Must be a string or array of "
            "strings",
            HINT,
        ),
        (
            {"path": "/products("},
            "'/products(' is not a valid path according to the URLPattern specification",
            PATTERN_HINT,
        ),
        (
            {"path": "/:a/:a"},
            "'/:a/:a' is not a valid path according to the URLPattern specification",
            PATTERN_HINT,
        ),
        (
            {"excludedPath": {"url": "/x"}},
            "Function func1 has a configuration error on 'excludedPath': Must be a string or "
            "array of strings",
            HINT,
        ),
        (
            {"path": "/x", "method": "FETCH"},
            "Function func1 has a configuration error on 'method': 'FETCH' is not one of GET, "
            "POST, PUT, PATCH, OPTIONS, DELETE, HEAD",
            HINT,
        ),
    ],
)
def test_invalid_declarations(config: dict[str, object], message: str, hint: str) -> None:
    with pytest.raises(BundlerError) as caught:
        routes(config)
    (problem,) = caught.value.problems
    assert (problem.message, problem.hint, problem.line, problem.function) == (
        message,
        hint,
        3,
        "func1",
    )


def test_scheduled_and_event_functions_may_not_declare_a_path(tmp_path: Path) -> None:
    root = write_site(
        tmp_path,
        {
            f"{F}/nightly.py": f'config = {{"schedule": "@daily", "path": "/n"}}\n{HANDLER}',
            f"{F}/deploy-succeeded.py": f'\n\nconfig = {{"path": "/d"}}\n{HANDLER}',
            f"{F}/api.py": f'config = {{"path": "/api/*", "method": "GET"}}\n{HANDLER}',
        },
    )
    found = discover_functions(root / F, SiteConfig.from_root(root))
    assert [f.name for f in found.functions] == ["api"]
    assert found.functions[0].routes[0].pattern == "/api/*"
    ((nightly,),) = [found.failures["nightly"]]
    assert nightly.message == (
        "Function nightly has a configuration error on 'path': a scheduled function cannot "
        "have a URL path: Netlify runs it on its schedule"
    )
    assert (nightly.file, nightly.line) == (root / F / "nightly.py", 1)
    ((deploy,),) = [found.failures["deploy-succeeded"]]
    assert deploy.message == (
        "Function deploy-succeeded has a configuration error on 'path': an event-triggered "
        "function cannot have a URL path: Netlify runs it when its event happens"
    )
    assert deploy.line == 3


def test_the_manifest_records_routes_like_zip_it_and_ship_it(tmp_path: Path) -> None:
    root = write_site(
        tmp_path,
        {
            "pyproject.toml": "",
            f"{F}/items.py": (
                'config = {"path": ["/items", "/items/:id"], "excludedPath": "/items/secret",'
                ' "method": "GET"}\n' + HANDLER
            ),
            f"{F}/hello.py": HANDLER,
        },
    )
    result = build(root, python=Path(sys.executable))
    document = json.loads(result.manifest.read_text())
    by_name = {f["name"]: f for f in document["functions"]}
    assert "routes" not in by_name["hello"] and "excludedRoutes" not in by_name["hello"]
    assert by_name["items"]["routes"] == [
        {"pattern": "/items", "literal": "/items", "methods": ["GET"]},
        {
            "pattern": "/items/:id",
            "expression": r"^\/items(?:\/([^\/]+?))\/?$",
            "methods": ["GET"],
        },
    ]
    assert by_name["items"]["excludedRoutes"] == [
        {"pattern": "/items/secret", "literal": "/items/secret"}
    ]


def test_matching_as_netlify_matches() -> None:
    ((literal, expression), _) = routes({"path": ["/Items", "/items/:id"], "method": "POST"})
    assert expression.matches("/items/7", "POST")
    assert expression.matches("/ITEMS/7/", "post")  # lower-cased, trailing slash dropped
    assert not expression.matches("/items/7", "GET")
    assert not expression.matches("/items/7/8", "POST")
    assert not literal.matches("/Items", "POST")  # the request is lower-cased, the literal not
    assert re.search(expression.expression or "", "/items/abc/")


def test_excluded_paths_match_any_method() -> None:
    (_, (excluded,)) = routes({"path": "/*", "excludedPath": "/static/*"})
    assert excluded.matches("/static/a.css")
    assert not excluded.matches("/other")
