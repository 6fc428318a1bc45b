"""Typed reads of a parsed JSON document, each naming where it looked (`functions[2].name`),
so that a malformed file gets one clear sentence instead of a KeyError or a TypeError."""

from __future__ import annotations

from typing import Any

LARGEST = 2**63 - 1  # no file, zip or count is larger; JSON itself has no bound


class Malformed(Exception):
    """What is wrong, with where in the document."""


def read_object(value: object, where: str) -> dict[str, Any]:
    """`value` as a JSON object."""
    if not isinstance(value, dict):
        raise Malformed(f"{where}: expected an object, found {json_kind(value)}")
    return value


def read_field(entry: dict[str, Any], key: str, at: str) -> object:
    """`entry[key]`, which must be there (`at`: the path of `entry` and a dot, or "")."""
    if key not in entry:
        raise Malformed(f"{at}{key}: missing")
    return entry[key]


def read_list(entry: dict[str, Any], key: str, at: str) -> list[Any]:
    """`entry[key]` as a list."""
    value = read_field(entry, key, at)
    if not isinstance(value, list):
        raise Malformed(f"{at}{key}: expected a list, found {json_kind(value)}")
    return value


def read_string(entry: dict[str, Any], key: str, at: str) -> str:
    """`entry[key]` as a string."""
    value = read_field(entry, key, at)
    if not isinstance(value, str):
        raise Malformed(f"{at}{key}: expected a string, found {json_kind(value)}")
    return value


def read_optional_string(entry: dict[str, Any], key: str, at: str) -> str | None:
    """`entry[key]` as a string or None."""
    value = read_field(entry, key, at)
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{at}{key}: expected a string or null, found {json_kind(value)}")
    return value


def read_integer(entry: dict[str, Any], key: str, at: str) -> int:
    """`entry[key]` as a whole number from 0 to LARGEST (not true or false)."""
    value = read_field(entry, key, at)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{at}{key}: expected a whole number, found {json_kind(value)}")
    if not 0 <= value <= LARGEST:
        raise Malformed(f"{at}{key}: {value} is out of range (0 to {LARGEST})")
    return value


def json_kind(value: object) -> str:
    """How JSON names the type of `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}" if len(repr(value)) <= 20 else "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"
