"""The file patterns of `include` and netlify.toml's `included_files`: checked, then matched.

Patterns are globs relative to the site root, as Netlify reads `included_files`: `*`, `?`
and `[...]` within one name, `**` across folders, a leading `!` for an exclusion (it
removes what the other patterns and the function's folder would ship, in any order, as
zip-it-and-ship-it applies them). Wildcards never match hidden names (`.env`, `.git`) and
`**` never enters caches or virtualenvs: naming them literally is the only way in.

Matching goes name by name over a set of states, so no pattern costs more than
(names in the pattern) x (names in the path), however many `*` and `**` it holds.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import Problem

SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".venv", "node_modules", ".mypy_cache"})
_WILDCARDS = frozenset("*?[")
_PATH_MAX = 4095  # bytes, Linux's PATH_MAX less the NUL
_NAME_MAX = 255  # bytes in one file name
_EXAMPLE = 'e.g. "templates/**" or "data/*.json"'


@dataclass(frozen=True)
class IncludeEntry:
    """One entry of an `include` or `included_files` list, and where it is written.

    `where` is its table and key as the messages name it, e.g. `tool.bundler.include` or
    `functions."api".included_files`; only `include` entries may name distributions.
    """

    text: str
    file: Path | None = None
    where: str = "include"

    @property
    def key(self) -> str:
        """The setting the entry came from, the last part of `where`: e.g. `included_files`."""
        return self.where.rpartition(".")[2]

    @property
    def files_only(self) -> bool:
        """netlify.toml's `included_files` are always paths, as Netlify reads them."""
        return self.key != "include"


@dataclass(frozen=True)
class FilePattern:
    """A checked file pattern: its names, and whether it includes or excludes."""

    entry: IncludeEntry
    parts: tuple[str, ...]
    excludes: bool
    folders_only: bool  # written with a trailing `/`

    @property
    def text(self) -> str:
        """The pattern as written in the settings."""
        return self.entry.text

    @property
    def literal(self) -> tuple[str, ...]:
        """The leading names without wildcards: the folder where matches can start."""
        for index, part in enumerate(self.parts):
            if _WILDCARDS & set(part):
                return self.parts[:index]
        return self.parts

    def matches(self, path: tuple[str, ...]) -> bool:
        """Whether `path` (names from the site root) is matched in full."""
        return len(self.parts) in self._states(path)

    def may_hold(self, path: tuple[str, ...]) -> bool:
        """Whether something under the folder `path` can match (worth walking into)."""
        return any(i < len(self.parts) for i in self._states(path))

    def excludes_path(self, path: tuple[str, ...]) -> bool:
        """Whether this exclusion removes `path`: it matches the path or a folder above it."""
        return any(self.matches(path[:end]) for end in range(1, len(path) + 1))

    def _states(self, path: tuple[str, ...]) -> set[int]:
        parts = self.parts
        states = _skip_stars(parts, {0})
        for name in path:
            following: set[int] = set()
            for index in states:
                if index == len(parts):
                    continue
                part = parts[index]
                if part == "**":
                    if _open_to_stars(name):
                        following.add(index)
                elif _name_matches(part, name):
                    following.add(index + 1)
            states = _skip_stars(parts, following)
            if not states:
                break
        return states


def parse_pattern(entry: IncludeEntry) -> FilePattern | Problem:
    """The pattern `entry` writes, or the problem that makes it unusable (an error)."""
    text = entry.text
    body = text[1:] if text.startswith("!") else text
    wrong = _wrong(text, body)
    if wrong is not None:
        message, hint = wrong
        return Problem(
            f"`{entry.where}` entry {_shown(text)} {message}", file=entry.file, hint=hint
        )
    names = [n for n in body.split("/") if n not in ("", ".")]
    collapsed: list[str] = []
    for name in names:
        if not (name == "**" and collapsed[-1:] == ["**"]):
            collapsed.append(name)
    return FilePattern(entry, tuple(collapsed), text.startswith("!"), body.endswith("/"))


def unmatched(pattern: FilePattern, function: str) -> Problem:
    """The warning for a pattern that included, or excluded, nothing."""
    what = "leaves out" if pattern.excludes else "matches"
    hint = "fix the pattern or remove it"
    if pattern.excludes:
        hint += " (imported modules always ship; `exclude` leaves out distributions)"
    return Problem(
        f"{pattern.entry.key} pattern {_shown(pattern.text)} {what} no file",
        file=pattern.entry.file,
        function=function,
        hint=hint,
        severity="warning",
    )


def _wrong(text: str, body: str) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) with an entry, or None when it is a usable pattern."""
    if not body.strip():
        return "is empty", f"remove it, or name files from the site root, {_EXAMPLE}"
    if text != text.strip() or body != body.strip():
        return "starts or ends with white space", "remove the spaces"
    control = next((c for c in text if ord(c) < 32 or ord(c) == 127), None)
    if control is not None:
        return f"contains the control character {control!r}", "remove it"
    if len(text.encode("utf-8", "surrogatepass")) > _PATH_MAX or any(
        len(name.encode("utf-8", "surrogatepass")) > _NAME_MAX for name in text.split("/")
    ):
        return "is longer than a path can be", "name a shorter path"
    if "\\" in body:
        return "holds a backslash", "separate folders with '/', e.g. templates/*.html"
    if body.startswith("/"):
        return "is an absolute path", "name files relative to the site root, inside it"
    names = [n for n in body.split("/") if n not in ("", ".")]
    if ".." in names:
        return "leaves the site root ('..')", "name files inside the site, from its root"
    if not names:
        return "names the whole site", f"name the files or folders the function reads, {_EXAMPLE}"
    if not text.startswith("!") and all(set(n) == {"*"} for n in names):
        return (
            "matches the whole site, its virtualenv, caches and output included",
            f"name the files or folders the function reads, {_EXAMPLE}",
        )
    return None


def _shown(text: str) -> str:
    """The entry as messages quote it: a very long one cut short."""
    return repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text):,} characters)"


def _skip_stars(parts: tuple[str, ...], states: Iterable[int]) -> set[int]:
    """`states` with every `**` also matching no folder at all."""
    found = set(states)
    pending = list(found)
    while pending:
        index = pending.pop()
        if index < len(parts) and parts[index] == "**" and index + 1 not in found:
            found.add(index + 1)
            pending.append(index + 1)
    return found


def _open_to_stars(name: str) -> bool:
    """Whether `**` may pass through (or match) `name`: not hidden, not a cache."""
    return not name.startswith(".") and name not in SKIPPED_DIRS


def _name_matches(part: str, name: str) -> bool:
    if not _WILDCARDS & set(part):
        return part == name
    if name.startswith(".") and not part.startswith("."):
        return False  # wildcards never match hidden names, as in a shell
    return fnmatch.fnmatchcase(name, part)
