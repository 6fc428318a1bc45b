"""Where results are written (the pack stage's side of the disk): the `--out` folder of a
build, the file of `audit --html` or `manifest merge -o`.

Each is checked before any work, so that a build does not index an environment and
analyse every function only to find it cannot write the first zip. And a build sweeps the
temporary files that a killed build left in its `--out`, only ours, by their exact names,
and only when no other build is writing in the same folder at that moment.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bundler.errors import Problem, UsageError

# `tempfile.mkstemp(prefix=".NAME.")` adds 8 characters from this alphabet (CPython's
# `_RandomNameSequence`): the zips (`packer.Packer.write_zip`) and the manifest
# (`packer.write_text_atomically`) are written through such names and renamed into place.
TEMPORARY_NAME = re.compile(r"\A\.(?:[A-Za-z0-9_-]+\.zip|manifest\.json)\.[a-z0-9_]{8}\Z")
OUT_HINT = "choose a folder you can write, e.g. --out dist/functions"


def check_output_folder(out: Path) -> None:
    """Raise UsageError unless `out` is a folder this process can create or write in.

    Nothing is created: an existing folder gets a probe file written and removed (the
    only test that answers for read-only mounts, ACLs and modes alike), a missing one is
    judged by the nearest folder that exists.
    """
    reason = _unwritable_folder(out, probe=".manifest.json.")
    if reason is not None:
        raise UsageError.of(f"cannot write in the output folder {out}: {reason}", hint=OUT_HINT)


def check_output_file(path: Path, option: str) -> None:
    """Raise UsageError unless the file `path` (given with `option`) can be written."""
    hint = f"choose a path you can write for {option}"
    if path.is_dir():
        raise UsageError.of(f"cannot write {path}: it is a folder", hint=hint)
    try:
        found = path.stat()
    except OSError:
        found = None  # nothing there (or a dangling link, which the rename replaces)
    if found is not None and not stat.S_ISREG(found.st_mode):
        # the file is written beside it and renamed into place: a FIFO, a device such as
        # /dev/full or /dev/stdout would be replaced by a regular file, not written to
        raise UsageError.of(
            f"cannot write {path}: it is not a regular file (a device, pipe or socket)",
            hint=hint,
        )
    reason = _unwritable_folder(path.parent, probe=f".{path.name}.")
    if reason is not None:
        raise UsageError.of(f"cannot write {path}: {reason}", hint=hint)


def output_error(path: Path, error: OSError, option: str) -> UsageError:
    """Writing the file `path` (given with `option`) failed after all: the same error."""
    return UsageError.of(
        f"cannot write {path}: {error.strerror or error}",
        hint=f"choose a path you can write for {option}",
    )


_WRITE_HINTS = {
    errno.ENOSPC: "free space on that disk, or choose another folder with --out",
    errno.EDQUOT: "free space within your disk quota, or choose another folder with --out",
    errno.EFBIG: "that file system refuses files this large: choose another folder with --out",
    errno.EROFS: "that file system is read-only: choose another folder with --out",
    errno.EACCES: "make the output folder and its files writable, or choose another with --out",
    errno.EPERM: "make the output folder and its files writable, or choose another with --out",
    errno.EISDIR: "a folder has this file's name: remove it, or choose another with --out",
}
_READ_HINTS = {
    errno.ENOENT: "it was removed while the bundler read it: build again",
    errno.EACCES: "make it readable (chmod a+r)",
    errno.EPERM: "make it readable (chmod a+r)",
}


def output_problem(error: OSError, path: Path) -> Problem:
    """Writing `path` (a zip, the manifest) in the output folder failed."""
    hint = _WRITE_HINTS.get(
        error.errno or 0, "check the output folder, or choose another with --out"
    )
    return Problem(f"cannot write this file: {error.strerror or error}", file=path, hint=hint)


def function_fault(error: OSError, zip_path: Path) -> Problem:
    """An OSError while one function was analysed or packed, as that function's problem.

    Writes go through file descriptors, so an error without a file name, or naming a file
    of the output folder (the zip's temporary name), is the zip's; any other names the
    file that was being read."""
    if error.errno is None:  # raised by the bundler itself: a file shorter than listed
        return Problem(
            f"a file changed while it was being bundled: {error}",
            file=Path(error.filename) if error.filename else None,
            hint="build again once nothing changes the site or the environment",
        )
    named = Path(os.fsdecode(error.filename)) if error.filename else None
    if named is None or named.parent == zip_path.parent:
        return output_problem(error, zip_path)
    hint = _READ_HINTS.get(error.errno, "check that it exists and is readable, then build again")
    return Problem(f"cannot read this file: {error.strerror}", file=named, hint=hint)


def _unwritable_folder(folder: Path, probe: str) -> str | None:
    """Why files cannot be written in `folder` (created if missing), or None."""
    current = folder
    while True:
        try:
            info = current.stat()
        except (FileNotFoundError, NotADirectoryError) as error:
            if current.parent == current:  # "/" always exists; "." may have been removed
                return f"{current}: {error.strerror}"
            current = current.parent
            continue
        except PermissionError as error:
            return f"{_unsearchable(current)} cannot be searched ({error.strerror})"
        except OSError as error:  # a loop of links, a name too long
            return f"{current}: {error.strerror}"
        break
    if not stat.S_ISDIR(info.st_mode):
        return f"{current} is a file, not a folder"
    if current != folder:
        if os.access(current, os.W_OK | os.X_OK):
            return None
        if os.statvfs(current).f_flag & os.ST_RDONLY:
            return f"{current} is on a read-only file system"
        return f"{current} is not writable (Permission denied)"
    try:
        handle, name = tempfile.mkstemp(prefix=probe, dir=folder)
    except OSError as error:
        return error.strerror or str(error)
    os.close(handle)
    Path(name).unlink(missing_ok=True)  # a concurrent build's sweep may have been first
    return None


def _unsearchable(path: Path) -> Path:
    """The folder whose mode stops `path` from being looked up: the nearest one that can."""
    folder = path.parent
    while folder != folder.parent:
        try:
            folder.stat()
            break
        except OSError:
            folder = folder.parent
    return folder


@contextmanager
def claim_output_folder(out: Path) -> Iterator[tuple[str, ...]]:
    """Hold `out` for one build; yields the names of the leftovers it swept.

    Every build holds a shared lock on the folder while it writes there; sweeping takes
    the exclusive one without waiting, so the temporary files of a build that is still
    running are never taken for leftovers (a killed build's lock dies with it).
    """
    try:
        handle = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield ()  # the writes that follow say what is wrong
        return
    try:
        yield _sweep_when_alone(handle, out)
    finally:
        os.close(handle)  # releases the lock


def _sweep_when_alone(handle: int, out: Path) -> tuple[str, ...]:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another build is writing here: its files are not leftovers
        swept: tuple[str, ...] = ()
    except OSError:
        return ()  # a file system without locks: leave its files alone
    else:
        swept = sweep_leftovers(out)
    with suppress(OSError):  # no lock then: at worst a build starting now sweeps first
        fcntl.flock(handle, fcntl.LOCK_SH)
    return swept


def sweep_leftovers(out: Path) -> tuple[str, ...]:
    """Remove the temporary files of killed builds from `out`: regular files named as
    our writers name them (`.NAME.zip.XXXXXXXX`, `.manifest.json.XXXXXXXX`), nothing else."""
    swept = []
    try:
        names = sorted(os.listdir(out))
    except OSError:
        return ()
    for name in names:
        if not TEMPORARY_NAME.fullmatch(name):
            continue
        path = out / name
        try:
            if stat.S_ISREG(path.lstat().st_mode):
                path.unlink()
                swept.append(name)
        except OSError:
            continue  # gone meanwhile, or not ours to remove: the build goes on
    return tuple(swept)
