"""From a handler's result to the HTTP response, refusing what Netlify refuses with its
messages; handler errors as text or as a page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bundler.serve.responses import InvalidResponse, from_lambda, function_error, problems_response


def result(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_status_headers_and_body() -> None:
    response = from_lambda(
        result(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "application/json", "X-Count": 3, "X-On": True},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": '{"ok": true}',
            }
        ),
        "f",
    )
    assert response.status == 201
    assert response.headers == (
        ("Content-Type", "application/json"),
        ("X-Count", "3"),
        ("X-On", "true"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    )
    assert response.body == b'{"ok": true}'


def test_multi_value_headers_win_over_single_ones_of_the_same_name() -> None:
    response = from_lambda(
        result(
            {
                "statusCode": 200,
                "headers": {"x-a": "single", "Content-Length": "999"},
                "multiValueHeaders": {"X-A": ["one", "two"]},
            }
        ),
        "f",
    )
    assert response.headers == (("X-A", "one"), ("X-A", "two"))  # no handler Content-Length
    assert response.body == b""


def test_a_base64_body_is_decoded() -> None:
    response = from_lambda(
        result({"statusCode": 200, "body": "iVBORw0KGgo=", "isBase64Encoded": True}), "f"
    )
    assert response.body == b"\x89PNG\r\n\x1a\n"
    lenient = from_lambda(result({"statusCode": 200, "body": "aGk", "isBase64Encoded": True}), "f")
    assert lenient.body == b"hi"  # missing padding is accepted, as Node's Buffer does


def test_a_numeric_string_status_is_accepted() -> None:
    assert from_lambda(result({"statusCode": "404"}), "f").status == 404


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "no lambda response. check your function code again: the handler returned None"),
        (
            "hello",
            'Your function response must have a numerical statusCode. You gave: "hello" (the '
            "handler returned a str, not a dict)",
        ),
        ({"body": "x"}, "Your function response must have a numerical statusCode. You gave: null"),
        (
            {"statusCode": "abc"},
            'Your function response must have a numerical statusCode. You gave: "abc"',
        ),
        ({"statusCode": 0}, "Your function response must have a numerical statusCode. You gave: 0"),
        ({"statusCode": 42}, "Invalid status code: 42"),
        (
            {"statusCode": 200, "body": {"a": 1}},
            'Your function response must have a string or a stream body. You gave: {"a": 1}',
        ),
        (
            {"statusCode": 200, "headers": {"x-a": None}},
            'Failed to set header in function f: Invalid value "null" for header "x-a"',
        ),
        (
            {"statusCode": 200, "headers": {"x-a": "one\r\nInjected: yes"}},
            'Failed to set header in function f: Invalid character in header content ["x-a"]',
        ),
        (
            {"statusCode": 200, "headers": ["x-a"]},
            'Failed to set header in function f: `headers` must be an object, not ["x-a"]',
        ),
    ],
)
def test_what_netlify_refuses(value: Any, message: str) -> None:
    with pytest.raises(InvalidResponse) as caught:
        from_lambda(result(value), "f")
    assert str(caught.value) == message


def test_bytes_that_are_not_json() -> None:
    with pytest.raises(InvalidResponse) as caught:
        from_lambda(b"raw bytes", "f")
    assert str(caught.value) == (
        "Your function response must have a numerical statusCode. You gave: raw bytes"
    )


ERROR = {
    "errorMessage": "division by zero",
    "errorType": "ZeroDivisionError",
    "requestId": "r",
    "stackTrace": ['  File "/var/task/f.py", line 2, in handler\n    return 1 / 0\n'],
}


def test_a_handler_error_as_text() -> None:
    response = function_error(ERROR, accepts_html=False)
    assert response.status == 500
    assert response.body.decode() == (
        "ZeroDivisionError: division by zero\n"
        '  File "/var/task/f.py", line 2, in handler\n    return 1 / 0\n'
    )


def test_a_handler_error_as_a_page() -> None:
    response = function_error({**ERROR, "errorMessage": "<bad>"}, accepts_html=True)
    assert response.header("content-type") == "text/html; charset=utf-8"
    text = response.body.decode()
    assert "<h1>ZeroDivisionError: &lt;bad&gt;</h1>" in text
    assert "line 2, in handler" in text


def test_build_problems() -> None:
    response = problems_response("f", ["error: f.py:1: no handler"], accepts_html=False)
    assert (response.status, response.body) == (
        500,
        b"function f failed to build:\nerror: f.py:1: no handler\n",
    )
