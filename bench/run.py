"""Benchmark of issue 5, "Fast at any size": bundler against a SAM-like, a naive and a floor.

    python bench/run.py --sizes 10,50,200 --repeat 3
    python bench/run.py --quick                     # a small smoke run

For each site size it times, as medians over `--repeat` runs:

- cold: `bundle build` with an empty cache folder and no previous output;
- warm: the same build again, nothing changed;
- one changed: again, after one function's code changed;
- SAM-like: per function, `pip install -t` its requirements from a local wheelhouse, then
  zip the folder with zipfile at the same level (sam build's pip workflow, no network);
- naive: the whole site-packages zipped for each function;
- floor: reading and deflating every distinct content of the union once, one thread.

The baselines do the same work for every function, so by default they run once on a
deterministic sample of the functions (`--sample`, `--naive-sample`) and are scaled to
the site's size (marked `~` in the table). Peak memory is the largest resident set of
one `bundle build` process (os.wait4's rusage). The first run downloads the packages into
the work folder (`--work`); later runs reuse them.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload

TOOL = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "bundle"


def timed_process(command: list[str], cwd: Path) -> tuple[float, int]:
    """(seconds, peak resident set in bytes) of one process run to completion."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode not in (0, 1):  # 1: the build reported problems; still timed
        raise SystemExit(f"{' '.join(command)} failed:\n{errors.decode(errors='replace')}")
    return seconds, usage.ru_maxrss * 1024


def timed(action: Callable[[], object]) -> float:
    """Seconds `action()` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def tool_options(tool: Path) -> set[str]:
    help_text = subprocess.run([str(tool), "build", "--help"], capture_output=True, text=True)
    return {o for o in ("--cache-dir", "--jobs") if o in help_text.stdout}


@dataclass
class ToolRuns:
    """Seconds of each run of one tool on one site, and its largest resident set."""

    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    changed: list[float] = field(default_factory=list)
    peak: int = 0


def measure_tool(
    site: workload.Site, env: Path, tool: Path, repeat: int, jobs: int | None
) -> ToolRuns:
    options = tool_options(tool)
    cache = site.root / ".bench-cache"
    command = [str(tool), "build", "--python", str(env)]
    if "--cache-dir" in options:
        command += ["--cache-dir", str(cache)]
    if jobs and "--jobs" in options:
        command += ["--jobs", str(jobs)]
    runs = ToolRuns()
    changed = sorted(site.functions)[len(site.functions) // 2]
    for round_ in range(repeat):
        for leftover in (cache, site.root / ".bundle-cache", site.root / "dist"):
            shutil.rmtree(leftover, ignore_errors=True)
        for phase in (runs.cold, runs.warm, runs.changed):
            if phase is runs.changed:
                workload.touch_function(site, changed, round_)
            seconds, peak = timed_process(command, site.root)
            phase.append(seconds)
            runs.peak = max(runs.peak, peak)
    return runs


def scaled(total: int, names: list[str], action: Callable[[str], object]) -> tuple[float, bool]:
    """Seconds for all `total` functions, from `names` (a sample) run once each."""
    seconds = 0.0
    for name in names:
        seconds += timed(functools.partial(action, name))
    return seconds * total / len(names), len(names) < total


def sample(site: workload.Site, count: int) -> list[str]:
    names = sorted(site.functions)
    step = max(1, len(names) // max(1, count))
    return names[::step][:count]


def fmt(seconds: float, estimated: bool = False) -> str:
    return f"{'~' if estimated else ''}{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,50,200", help="site sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the tool per size")
    parser.add_argument("--sample", type=int, default=10, help="functions run SAM-like")
    parser.add_argument("--naive-sample", type=int, default=2, help="functions zipped naively")
    parser.add_argument("--jobs", type=int, help="passed to bundle build --jobs")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bundler-bench"))
    parser.add_argument(
        "--tool",
        type=Path,
        action="append",
        help="a bundle command to time (repeat to compare several)  [default: .venv/bin/bundle]",
    )
    parser.add_argument("--quick", action="store_true", help="sizes 5, one run, tiny samples")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat, args.sample, args.naive_sample = "5", 1, 2, 1
    sizes = [int(s) for s in args.sizes.split(",")]
    tools = [t.absolute() for t in args.tool or [TOOL]]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"setting up {work} ...", file=sys.stderr)
    wheelhouse, env = workload.prepare_environment(work)
    rows = []
    for size in sizes:
        site = workload.generate_site(work, size)
        measured = {}
        for tool in tools:
            print(f"{size} functions: {tool.name} x{args.repeat} ...", file=sys.stderr)
            measured[tool] = measure_tool(site, env, tool, args.repeat, args.jobs)
        files = workload.union_files(site, site.root / "dist" / "functions", env)
        floor = timed(functools.partial(workload.floor, files))
        zipped = sum(p.stat().st_size for p in (site.root / "dist" / "functions").glob("*.zip"))
        scratch = work / "scratch"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        print(f"{size} functions: SAM-like and naive ...", file=sys.stderr)
        sam, sam_est = scaled(
            size,
            sample(site, args.sample),
            functools.partial(workload.sam_like, site, wheelhouse=wheelhouse, scratch=scratch),
        )
        naive, naive_est = scaled(
            size,
            sample(site, args.naive_sample),
            functools.partial(workload.naive, site, env=env, scratch=scratch),
        )
        shutil.rmtree(scratch)
        for tool, results in measured.items():
            cold, warm, changed = (
                statistics.median(r) for r in (results.cold, results.warm, results.changed)
            )
            rows.append(
                [
                    str(size),
                    tool.name,
                    f"{len(files):,} / {sum(f.stat().st_size for f in files) / 2**20:.0f} MiB",
                    f"{zipped / 2**20:.0f} MiB",
                    fmt(floor),
                    fmt(cold),
                    fmt(warm),
                    fmt(changed),
                    fmt(sam, sam_est),
                    fmt(naive, naive_est),
                    f"{cold / floor:.2f}",
                    f"{sam / cold:.1f}",
                    f"{results.peak / 2**20:.0f} MB",
                ]
            )
    header = [
        "functions",
        "tool",
        "union (files / bytes)",
        "zips written",
        "floor",
        "cold",
        "warm, no change",
        "one changed",
        "SAM-like",
        "naive",
        "cold / floor",
        "SAM-like / cold",
        "peak RSS",
    ]
    print(
        f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"level {workload.LEVEL}, medians of {args.repeat} (tool); ~ = scaled from a sample\n"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
