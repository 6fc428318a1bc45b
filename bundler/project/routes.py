"""Netlify v2 routes: `config = {"path": ..., "excludedPath": ..., "method": ...}`.

Read at build time from the in-source `config` literal, validated the way zip-it-and-ship-it
validates them, and recorded in the manifest in its shape: a route is `{"pattern",
"literal"}` when the path has no URLPattern syntax, else `{"pattern", "expression"}` with the
URLPattern's pathname regular expression (plus an optional trailing slash); routes carry
`methods` (and `prefer_static` when set), excluded routes do not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.errors import BundlerError, Problem

METHODS = ("GET", "POST", "PUT", "PATCH", "OPTIONS", "DELETE", "HEAD")
_SEGMENT = r"[^\/]+?"  # URLPattern's segment wildcard for pathnames
_FULL = ".*"
_SPECIAL = set(".+*?^${}()[]|/\\")
_HINT = 'write it as config = {"path": "/api/items/:id", "method": ["GET", "POST"]}'


@dataclass(frozen=True, kw_only=True)
class Route:
    """One path a function answers on (or, in `excluded_routes`, does not)."""

    pattern: str
    literal: str | None = None
    expression: str | None = None
    methods: tuple[str, ...] = ()
    prefer_static: bool = False

    def matches(self, path: str, method: str | None = None) -> bool:
        """Whether a request for `path` (and `method`) is this route's, as Netlify's local
        server decides: a trailing slash dropped, the path lower-cased."""
        if method is not None and self.methods and method.upper() not in self.methods:
            return False
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        path = path.lower()
        if self.literal is not None:
            return path == self.literal
        return self.expression is not None and re.search(self.expression, path) is not None

    def to_json(self, with_methods: bool = True) -> dict[str, Any]:
        """The manifest's shape of a route (zip-it-and-ship-it's)."""
        document: dict[str, Any] = {"pattern": self.pattern}
        if self.literal is not None:
            document["literal"] = self.literal
        else:
            document["expression"] = self.expression
        if with_methods:
            document["methods"] = list(self.methods)
            if self.prefer_static:
                document["prefer_static"] = True
        return document


def function_routes(
    name: str, config: Mapping[str, Any], kind: str, file: Path, line: int | None
) -> tuple[tuple[Route, ...], tuple[Route, ...]]:
    """The routes and excluded routes a function's `config` declares; BundlerError when the
    declaration is invalid, or when a scheduled or event-triggered function declares one."""

    def fail(message: str, hint: str = _HINT) -> BundlerError:
        return BundlerError(Problem(message, file=file, line=line, function=name, hint=hint))

    def problem(key: str, message: str) -> BundlerError:
        return fail(f"Function {name} has a configuration error on '{key}': {message}")

    paths = _paths(config, "path", problem)
    excluded = _paths(config, "excludedPath", problem)
    methods = _methods(config, problem)
    if paths and kind in ("scheduled", "event"):
        what = "a scheduled function" if kind == "scheduled" else "an event-triggered function"
        runs = "on its schedule" if kind == "scheduled" else "when its event happens"
        raise problem("path", f"{what} cannot have a URL path: Netlify runs it {runs}")
    prefer_static = config.get("preferStatic") is True
    routes = []
    for path in paths:
        literal, expression = _compile(path, fail)
        routes.append(
            Route(
                pattern=path,
                literal=literal,
                expression=expression,
                methods=methods,
                prefer_static=prefer_static,
            )
        )
    exclusions = []
    for path in excluded:
        literal, expression = _compile(path, fail)
        exclusions.append(Route(pattern=path, literal=literal, expression=expression))
    return tuple(routes), tuple(exclusions)


def _paths(config: Mapping[str, Any], key: str, problem: Any) -> tuple[str, ...]:
    value = config.get(key)
    if value is None:
        return ()
    values = value if isinstance(value, list | tuple) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise problem(key, "Must be a string or array of strings")
    for path in values:
        if not path.startswith("/"):
            raise problem(key, "Must start with a '/'")
    return tuple(dict.fromkeys(values))  # duplicates dropped, order kept


def _methods(config: Mapping[str, Any], problem: Any) -> tuple[str, ...]:
    value = config.get("method")
    if value is None:
        return ()
    values = value if isinstance(value, list | tuple) else [value]
    if not all(isinstance(v, str) for v in values):
        raise problem("method", "Must be a string or array of strings")
    upper = tuple(v.upper() for v in values)
    for method in upper:
        if method not in METHODS:
            raise problem("method", f"{method!r} is not one of {', '.join(METHODS)}")
    return tuple(dict.fromkeys(upper))


def _is_literal(path: str) -> bool:
    """zip-it-and-ship-it's test: no segment holds URLPattern syntax."""
    return not any(
        "*" in part or part.startswith(":") or any(c in part for c in "{[(")
        for part in path.split("/")
    )


def _compile(path: str, fail: Any) -> tuple[str | None, str | None]:
    if _is_literal(path):
        return path, None
    try:
        expression = "^" + pathname_regex(path)[1:-1] + r"\/?$"
        re.compile(expression)
    except (ValueError, re.error):
        raise fail(
            f"'{path}' is not a valid path according to the URLPattern specification",
            hint="see https://developer.mozilla.org/docs/Web/API/URL_Pattern_API for the syntax",
        ) from None
    return None, expression


def pathname_regex(pattern: str) -> str:
    """The regular expression URLPattern compiles a pathname pattern to (`^...$`).

    Supports named groups (`:id`), custom regexps (`(\\d+)`), wildcards (`*`), groups in
    braces with a prefix and suffix, and the `?`, `+` and `*` modifiers; ValueError when
    the pattern is not valid."""
    tokens = _tokens(pattern)
    parts: list[tuple[str, str, str, str, str]] = []  # (kind, prefix, value, suffix, modifier)
    pending = ""
    index = 0

    def take(*kinds: str) -> str | None:
        nonlocal index
        if index < len(tokens) and tokens[index][0] in kinds:
            index += 1
            return tokens[index - 1][1]
        return None

    def value_part(named: bool) -> tuple[str, str] | None:
        regexp = take("regexp")
        if regexp is not None:
            return ("full" if regexp == _FULL else "regexp"), regexp
        if not named and take("asterisk") is not None:
            return "full", _FULL
        return None

    while index < len(tokens):
        char = take("char")
        name = take("name")
        found = value_part(named=name is not None)
        if name is not None or found is not None:
            prefix = char or ""
            if prefix not in ("", "/"):
                pending, prefix = pending + prefix, ""
            if pending:
                parts.append(("fixed", "", pending, "", ""))
                pending = ""
            kind, value = found or ("segment", _SEGMENT)
            parts.append((kind, prefix, value, "", take("modifier", "asterisk") or ""))
            continue
        fixed = char if char is not None else take("escaped")
        if fixed is not None:
            pending += fixed
            continue
        if take("open") is not None:
            before, taken = _text(tokens, index)
            index += len(taken)
            name = take("name")
            found = value_part(named=name is not None)
            after, taken = _text(tokens, index)
            index += len(taken)
            if take("close") is None:
                raise ValueError("unclosed group")
            kind, value = found or (("segment", _SEGMENT) if name else ("fixed", ""))
            modifier = take("modifier", "asterisk") or ""
            if pending:
                parts.append(("fixed", "", pending, "", ""))
                pending = ""
            if kind == "fixed":
                parts.append(("fixed", "", before + after, "", modifier))
            else:
                parts.append((kind, before, value, after, modifier))
            continue
        raise ValueError(f"unexpected {tokens[index][1]!r}")
    if pending:
        parts.append(("fixed", "", pending, "", ""))
    return "^" + "".join(_part_regex(*part) for part in parts) + "$"


def _text(tokens: list[tuple[str, str]], start: int) -> tuple[str, list[str]]:
    """Consecutive plain or escaped characters from `start`: their text and the tokens."""
    taken = []
    for kind, value in tokens[start:]:
        if kind not in ("char", "escaped"):
            break
        taken.append(value)
    return "".join(taken), taken


def _part_regex(kind: str, prefix: str, value: str, suffix: str, modifier: str) -> str:
    if kind == "fixed":
        return _escape(value) if not modifier else f"(?:{_escape(value)}){modifier}"
    if not prefix and not suffix:
        if modifier in ("", "?"):
            return f"({value}){modifier}"
        return f"((?:{value}){modifier})"
    before, after = _escape(prefix), _escape(suffix)
    if modifier in ("", "?"):
        return f"(?:{before}({value}){after}){modifier}"
    repeated = f"(?:{before}((?:{value})(?:{after}{before}(?:{value}))*){after})"
    return repeated + ("?" if modifier == "*" else "")


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def _tokens(pattern: str) -> list[tuple[str, str]]:
    """URLPattern's tokenizer (strict): char, escaped, name, regexp, asterisk, modifier,
    open and close."""
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            tokens.append(("asterisk", char))
        elif char in "+?":
            tokens.append(("modifier", char))
        elif char == "\\":
            if index + 1 == len(pattern):
                raise ValueError("a trailing backslash")
            index += 1
            tokens.append(("escaped", pattern[index]))
        elif char == "{":
            tokens.append(("open", char))
        elif char == "}":
            tokens.append(("close", char))
        elif char == ":":
            end = index + 1
            while end < len(pattern) and (
                pattern[end].isidentifier() or pattern[end] == "$" or pattern[end].isdigit()
            ):
                if end == index + 1 and pattern[end].isdigit():
                    break
                end += 1
            if end == index + 1:
                raise ValueError("a ':' without a name")
            if ("name", pattern[index + 1 : end]) in tokens:
                raise ValueError("a name used twice")  # URLPattern refuses `/:a/:a`
            tokens.append(("name", pattern[index + 1 : end]))
            index = end
            continue
        elif char == "(":
            end, depth = index + 1, 1
            while end < len(pattern) and depth:
                depth += {"(": 1, ")": -1}.get(pattern[end], 0)
                end += 2 if pattern[end] == "\\" else 1
            body = pattern[index + 1 : end - 1]
            if depth or not body or body.startswith("?"):
                raise ValueError("an unbalanced or empty regexp group")
            tokens.append(("regexp", body))
            index = end
            continue
        else:
            tokens.append(("char", char))
        index += 1
    return tokens
