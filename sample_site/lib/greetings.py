"""Greetings and a small collection of quotes used by the site's functions."""

from __future__ import annotations

from typing import NamedTuple


class Quote(NamedTuple):
    text: str
    author: str


QUOTES: tuple[Quote, ...] = (
    Quote("Simple is better than complex.", "Tim Peters"),
    Quote("Readability counts.", "Tim Peters"),
    Quote("Premature optimization is the root of all evil.", "Donald Knuth"),
    Quote("Make it work, make it right, make it fast.", "Kent Beck"),
    Quote("There is no cloud. It's just someone else's computer.", "Anonymous"),
)


def greet(name: str | None = None) -> str:
    """Return a friendly greeting for ``name`` (or for the world)."""
    return f"Hello, {name or 'World'}!"
