"""Which files may ship: regular files whose real path stays inside their root.

A function's files must stay inside the site, a distribution's inside its site-packages
folder (an editable one's inside its source folder), once every link is followed: one
link such as `config.txt -> /proc/self/environ` would otherwise put the build's
environment in a deployable zip. Links that stay inside (a shared templates folder
linked into a function's folder) are followed, each real folder once, so loops end.

Nothing here opens a file that is not regular: a FIFO's open blocks forever, and /proc
files claim 0 bytes. The checks look at the path; `open_shipped` then opens the real path
without following a link and checks the descriptor, so a file swapped for a link, a FIFO
or another size between the check and the read is refused, not read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from bundler.errors import Problem
from bundler.project.patterns import SKIPPED_DIRS, FilePattern

_SYSTEM = ("/proc", "/sys", "/dev")  # never read, wherever a link points
_BYTECODE = (".pyc", ".pyo")
Step = Literal["file", "enter", "all"] | None  # what a walk does with an entry


class Root:
    """A folder that the files found under it must stay inside; says so when they do not.

    `what` names it in messages ("the site"), `hint` says how to fix a file that leaves it.
    Remembers the real path of each folder it was asked about: use one per walk or build.
    """

    def __init__(self, folder: Path, what: str, hint: str) -> None:
        self.folder = folder
        self.real = os.path.realpath(folder)
        self.what = what
        self.hint = hint
        self._prefix = self.real.rstrip("/") + "/"
        # /proc, /sys and /dev are never inside, unless the root itself is in one of them
        self._system = tuple(s + "/" for s in _SYSTEM if not _inside(self.real, s))
        self._folders: dict[str, str] = {}

    def real_path(self, path: Path | str) -> str:
        """`path` with every link followed: its folder's real path is looked up once."""
        text = os.fspath(path)
        if os.path.islink(text):
            return os.path.realpath(text)
        return self.real_path_of_file(text)

    def holds(self, real: str) -> bool:
        """Whether the real path `real` is inside this root, and not in /proc, /sys, /dev."""
        if real != self.real and not real.startswith(self._prefix):
            return False
        return not (self._system and real.startswith(self._system))

    def real_path_of_file(self, text: str) -> str:
        """The real path of `text`, a path known not to be a link itself."""
        folder, name = os.path.split(text)
        if name in ("", ".", ".."):
            return os.path.realpath(text)
        return os.path.join(self._real_folder(folder), name)

    def _real_folder(self, folder: str) -> str:
        """A folder's real path from its parent's, remembered: one lstat a folder."""
        found = self._folders.get(folder)
        if found is None:
            parent, name = os.path.split(folder)
            if name in ("", ".", "..") or os.path.islink(folder):
                found = os.path.realpath(folder)
            else:
                found = os.path.join(self._real_folder(parent), name)
            self._folders[folder] = found
        return found

    def refusal(self, path: Path, real: str, function: str, *, folder: bool = False) -> Problem:
        """The problem of `path`, whose real path `real` is not inside this root."""
        kind = "a folder " if folder else ""
        message, hint = f"links to {real}, {kind}outside {self.what}", self.hint
        if not _inside(os.path.abspath(path), os.path.abspath(self.folder)):
            message, hint = f"is {kind}outside {self.what}", f"move it inside {self.what}"
        return Problem(message, file=path, function=function or None, hint=hint)


def within_site(folder: Path) -> Root:
    """The site's root: what a function ships must stay inside it."""
    return Root(folder, "the site", "copy it into the site instead of linking to it")


def admit(
    path: Path, root: Root, owner: str, function: str, problems: list[Problem]
) -> tuple[Path, os.stat_result] | None:
    """The real path and status of a file that may ship, or None with the problem added.

    `owner` is the distribution the file belongs to ("" for the function's own files).
    """
    try:  # never an open: the status of a FIFO or a /proc file reads nothing
        info = os.lstat(path)
        linked = stat.S_ISLNK(info.st_mode)
        if linked:
            info = os.stat(path)
    except OSError as error:
        what = f"distribution {owner}" if owner else "the function"
        problems.append(
            Problem(
                f"cannot read a file of {what}: {error.strerror}",
                file=path,
                function=function or None,
                hint=_unreadable_hint(error, owner),
            )
        )
        return None
    text = os.fspath(path)
    real = os.path.realpath(text) if linked else root.real_path_of_file(text)
    if not root.holds(real):
        problems.append(root.refusal(path, real, function))
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.append(
            Problem(
                "not a regular file (a pipe, socket or device cannot ship in a zip)",
                file=path,
                function=function or None,
                hint="remove it from the function's folder or the include patterns",
            )
        )
        return None
    if not os.access(real, os.R_OK):
        problems.append(
            Problem(
                "cannot read this file: permission denied",
                file=path,
                function=function or None,
                hint="make it readable (chmod a+r)",
            )
        )
        return None
    return (path if real == text else Path(real)), info


def walk_files(folder: Path, root: Root, problems: list[Problem], function: str) -> Iterator[Path]:
    """Files under `folder`, sorted, without hidden files, bytecode, caches or virtualenvs.

    Linked folders are followed while they stay inside `root`, each real folder once; a
    folder that cannot be read, or that links out of `root`, is a problem (never skipped
    in silence: a template folder must not vanish from a zip).
    """

    def every_file(name: str, _names: tuple[str, ...], is_folder: bool) -> Step:
        if name.startswith("."):
            return None
        if is_folder:
            return None if name in SKIPPED_DIRS else "enter"
        return None if name.endswith(_BYTECODE) else "file"

    if _enters(folder, root, problems, function):
        yield from _walk(folder, (), root, problems, function, every_file)


def search(
    pattern: FilePattern, site: Path, root: Root, problems: list[Problem], function: str
) -> Iterator[Path]:
    """Files that the inclusion `pattern` matches under the site root `site`, sorted; a
    matched folder gives all its files (as `walk_files` finds them)."""
    start = site.joinpath(*pattern.literal)
    if len(pattern.literal) == len(pattern.parts):  # no wildcard: one file or folder
        if os.path.isdir(start):
            yield from walk_files(start, root, problems, function)
        elif os.path.lexists(start) and not pattern.folders_only:
            yield start
        return

    def matching(name: str, names: tuple[str, ...], is_folder: bool) -> Step:
        if pattern.matches(names):
            if is_folder:
                return "all"
            return None if pattern.folders_only or name.endswith(_BYTECODE) else "file"
        return "enter" if is_folder and pattern.may_hold(names) else None

    if os.path.isdir(start) and _enters(start, root, problems, function):
        yield from _walk(start, pattern.literal, root, problems, function, matching)


def _walk(
    start: Path,
    names: tuple[str, ...],
    root: Root,
    problems: list[Problem],
    function: str,
    choose: Callable[[str, tuple[str, ...], bool], Step],
) -> Iterator[Path]:
    """A sorted walk from the folder `start` (`names` from the site root): `choose(name,
    names, is a folder)` says whether an entry is a file to give, a folder to enter, or a
    folder whose files all count. Each real folder is entered once, so link loops end."""
    seen: set[str] = set()
    stack = [(start, names)]
    while stack:
        directory, above = stack.pop()
        real = root.real_path(directory)
        if real in seen:
            continue
        seen.add(real)
        subfolders = []
        for name, path, is_folder in _listing(directory, problems, function):
            here = (*above, name)
            step = choose(name, here, is_folder)
            if step == "file":
                yield path
            elif step == "all":
                yield from walk_files(path, root, problems, function)
            elif step == "enter" and _enters(path, root, problems, function):
                subfolders.append((path, here))
        stack.extend(reversed(subfolders))


def _enters(folder: Path, root: Root, problems: list[Problem], function: str) -> bool:
    """Whether a walk may go into `folder`: its real path is inside `root`."""
    real = root.real_path(folder)
    if root.holds(real):
        return True
    problems.append(root.refusal(folder, real, function, folder=True))
    return False


def _listing(
    directory: Path, problems: list[Problem], function: str
) -> list[tuple[str, Path, bool]]:
    """(name, path, is a folder) of each entry, sorted; a folder that cannot be read is a
    problem. An entry whose type cannot be told is listed as a file: admitting it says why."""
    try:
        with os.scandir(directory) as scanned:
            entries = sorted(scanned, key=lambda e: e.name)
    except OSError as error:
        problems.append(
            Problem(
                f"cannot read this folder: {error.strerror or error}",
                file=directory,
                function=function or None,
                hint="make it readable (chmod a+rx)"
                if error.errno == errno.EACCES
                else "check the folder, or build again",
            )
        )
        return []
    found = []
    for entry in entries:
        try:
            is_folder = entry.is_dir()
        except OSError:
            is_folder = False
        found.append((entry.name, Path(entry.path), is_folder))
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _unreadable_hint(error: OSError, owner: str) -> str:
    if error.errno == errno.ELOOP or (error.errno == errno.ENOENT and not owner):
        return "remove or fix the link, or the file"
    return "reinstall the distribution" if owner else "check the file's permissions"
