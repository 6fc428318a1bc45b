"""`--compile`: bytecode made by the target interpreter, the same bytes on every run.

Lambda's /var/task is read-only, so without `__pycache__` in the zip every cold start
compiles every module it imports. Hash-based, unchecked pycs (PEP 552) are used as they
are: no mtime in them, and no `stat` of the source at import.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bundler.environment.interpreter import PythonFailed, ask_python
from bundler.errors import BundlerError, Problem

# Run by the target interpreter: standard library only, Python 3.8 and later. The answer
# goes to the file named by sys.argv[1] (see `ask_python`), the pycs to sys.argv[2].
_COMPILER = r"""
import importlib.util, json, os, py_compile, sys
jobs, out = json.load(sys.stdin), sys.argv[2]
done = []
for index, (arcname, source) in enumerate(jobs):
    cfile = os.path.join(out, "%d.pyc" % index)
    try:
        py_compile.compile(source, cfile=cfile, dfile=arcname, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except (py_compile.PyCompileError, OSError, UnicodeError) as error:
        message = getattr(error, "exc_value", error)
        done.append([arcname, None, "%s: %s" % (type(message).__name__, message)])
        continue
    done.append([arcname, importlib.util.cache_from_source(arcname), cfile])
with open(sys.argv[1], "w") as answer:
    json.dump({"version": list(sys.version_info[:2]), "done": done}, answer)
"""
COMPILE_TIMEOUT = 600.0  # seconds, for every file of a build


@dataclass(frozen=True)
class Bytecode:
    """Compiled entries `(arcname of the .pyc, bytes)` and notes on files left as source."""

    entries: tuple[tuple[str, bytes], ...]
    skipped: tuple[Problem, ...]


def compile_bytecode(
    sources: Sequence[tuple[str, Path]], python: Path, version: tuple[int, int]
) -> Bytecode:
    """Compile `sources` (arcname, path of a `.py`) with `python`, which must be `version`.

    Each `a/b.py` gives `a/__pycache__/b.cpython-3XY.pyc` with `a/b.py` as its file name
    (no host path). A file that does not compile is left as source, with a note.
    """
    if not sources:
        return Bytecode((), ())
    with tempfile.TemporaryDirectory(prefix="bundler-pyc-") as out:
        try:
            answer = ask_python(
                python,
                # not -I: it would ignore PYTHONHASHSEED, and set constants follow hashes
                ["-S", "-s", "-B"],
                _COMPILER,
                [out],
                stdin=json.dumps([[arcname, str(path)] for arcname, path in sources]),
                env={"PYTHONHASHSEED": "0", "PYTHONUTF8": "1"},
                timeout=COMPILE_TIMEOUT,
            )
            result = json.loads(answer)
            found = tuple(result["version"])
        except PythonFailed as failed:
            raise BundlerError.of(f"cannot compile with {python}: {failed.reason}") from None
        except (ValueError, KeyError, TypeError):
            raise BundlerError.of(f"cannot compile with {python}: it answered nonsense") from None
        if found != version:
            found_text = ".".join(str(v) for v in found)
            raise BundlerError.of(
                f"--compile needs Python {version[0]}.{version[1]}, and {python} is {found_text}",
                file=python,
                hint="point --python at an interpreter of the runtime's version",
            )
        entries, skipped = [], []
        for arcname, pyc, detail in result["done"]:
            if pyc is None:
                skipped.append(
                    Problem(
                        f"{arcname} does not compile for Python {version[0]}.{version[1]} "
                        f"({detail}); it ships as source only",
                        severity="note",
                    )
                )
            else:
                entries.append((pyc, Path(detail).read_bytes()))
    return Bytecode(tuple(sorted(entries)), tuple(skipped))
