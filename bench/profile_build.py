"""Profile one `bundle` command, every thread included, into one cProfile stats file.

    python bench/profile_build.py OUT.prof build --python ENV --jobs 1 [...]
    python bench/profile_build.py --show OUT.prof [COUNT]     # the top COUNT, two orders

`python -m cProfile` sees only the main thread, and `bundle build` does its per-function work
in a thread pool: here every thread gets its own profiler (threading.setprofile) and the
stats are merged into OUT.prof. With `--jobs 1` the merged times add up to the wall time
(plus the main thread's wait for the pool, which `--show` leaves out); with more jobs they
add up to the threads' time.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

PROFILES: list[cProfile.Profile] = []


def _start_in_thread(frame: FrameType, event: str, arg: Any) -> None:
    """The first profile event of a new thread: hand the thread to its own profiler."""
    sys.setprofile(None)
    profile = cProfile.Profile()
    PROFILES.append(profile)
    profile.enable()


# the main thread waiting for the pool (its time is the workers', counted there), and
# click's wrappers around the command
LEFT_OUT = ("threading.py", "concurrent/futures/", "_thread.lock", "site-packages/click/")
ROOT = str(Path(__file__).resolve().parent.parent) + "/"


def show(path: str, count: int) -> None:
    """The top `count` functions by cumulative then own time, file:line, waits left out."""
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    rows: list[tuple[float, float, int, str]] = []
    for (file, line, name), (_prim, calls, own, cumulative, _callers) in stats.items():
        where = f"{file}:{line}({name})" if line else name
        if not any(w in where for w in LEFT_OUT):
            short = where.replace(ROOT, "").replace(sys.prefix + "/", "").replace(
                sys.base_prefix + "/", "")  # fmt: skip
            rows.append((cumulative, own, calls, short))
    orders: tuple[tuple[str, Callable[[tuple[float, float, int, str]], float]], ...] = (
        ("cumulative", lambda r: -r[0]),
        ("own time", lambda r: -r[1]),
    )
    for title, key in orders:
        print(f"\n{path}: top {count} by {title} (s)\n\n| cumulative | own | calls | function |")
        print("|---:|---:|---:|---|")
        for cumulative, own, calls, where in sorted(rows, key=key)[:count]:
            print(f"| {cumulative:.2f} | {own:.2f} | {calls:,} | `{where}` |")


def main() -> None:
    if sys.argv[1:2] == ["--show"] and len(sys.argv) in (3, 4):
        show(sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 15)
        return
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out, arguments = sys.argv[1], sys.argv[2:]
    from bundler.cli import main as bundle  # imported before profiling: not the build's cost

    threading.setprofile(_start_in_thread)
    own = cProfile.Profile()
    PROFILES.append(own)
    sys.argv = ["bundle", *arguments]
    start = time.perf_counter()
    own.enable()
    try:
        bundle()
    except SystemExit as stop:
        code = stop.code
    else:
        code = 0
    finally:
        own.disable()
        threading.setprofile(None)
    wall = time.perf_counter() - start
    stats = pstats.Stats(own)
    for profile in PROFILES[1:]:
        profile.create_stats()
        stats.add(profile)
    stats.dump_stats(out)
    print(f"{' '.join(arguments)}: exit {code}, {wall:.2f} s wall, profile in {out}",
          file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
