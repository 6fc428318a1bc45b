"""Benchmark of issues 5 and 14: bundler against a SAM-like, a naive and a floor, at every shape.

    python bench/run.py                                   # every shape, --repeat 3
    python bench/run.py --shapes many,shared-lib --repeat 1
    python bench/run.py --quick                           # a small smoke run

Shapes: a number N is a site of N single-file functions over real packages (issue 5);
`many` is 2,000 small generated functions over a small first-party package and small
distributions; `shared-lib` is 50 functions sharing a 20,000-line first-party `lib`
(issue 14, see shapes.py). For each shape it times, as medians over `--repeat` runs:

- cold: `bundle build` with an empty cache folder and no previous output;
- warm: the same build again, nothing changed;
- one changed: again, after one function's code changed;
- SAM-like: per function, `pip install -t` its requirements from a local wheelhouse, then
  zip the folder (with the site's first-party folders) with zipfile at the same level (sam
  build's pip workflow, no network);
- naive: the whole site-packages (and the first-party folders) zipped for each function;
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
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import shapes
import workload

TOOL = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "bundle"


BUILD_TIMEOUT = 900.0  # seconds: a build that takes longer is a hang, not a measurement


def timed_process(command: list[str], cwd: Path) -> tuple[float, int]:
    """(seconds, peak resident set in bytes) of one process run to completion."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a full pipe would block it
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        deadline = start + BUILD_TIMEOUT
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        while pid == 0 and time.perf_counter() < deadline:
            time.sleep(0.005)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        seconds = time.perf_counter() - start
        if pid == 0:
            process.kill()
            os.wait4(process.pid, 0)
            raise SystemExit(f"{' '.join(command)} took over {BUILD_TIMEOUT:.0f} s: killed")
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):  # 1: the build reported problems; still timed
            errors.seek(0)
            text = errors.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{text}")
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


SHAPES = "10,50,100,200,many,shared-lib"
NAMED: dict[str, tuple[str, Callable[[Path], workload.Site]]] = {
    "many": ("many: 2,000 small", shapes.generate_many),
    "shared-lib": ("shared-lib: 50 over a 20k-line lib", shapes.generate_shared_lib),
}


def make_shape(work: Path, shape: str) -> tuple[str, workload.Site]:
    """(the table's label, the generated site) of one `--shapes` entry."""
    if shape in NAMED:
        label, generate = NAMED[shape]
        return label, generate(work)
    if shape.isdigit() and int(shape) > 0:
        return shape, workload.generate_site(work, int(shape))
    raise SystemExit(f"unknown shape {shape!r}: a number of functions, or one of {sorted(NAMED)}")


def tool_name(tool: Path, tools: list[Path]) -> str:
    """`bundle`, or where it is installed when several tools share that name: the folder
    holding the virtualenv (`.venv/bin/bundle` of a checkout: the checkout's name)."""
    if sum(t.name == tool.name for t in tools) == 1:
        return tool.name
    venv = tool.parent.parent
    return venv.parent.name if venv.name.startswith(".") else venv.name


HEADER = [
    "shape",
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
    "cold / two-core limit",
    "SAM-like / cold",
    "peak RSS",
]


def measure_shape(
    args: argparse.Namespace, tools: list[Path], shape: str, wheelhouse: Path, env: Path
) -> list[list[str]]:
    """The table's rows for one shape: one per tool."""
    label, site = make_shape(args.work, shape)
    size = len(site.functions)
    measured = {}
    for tool in tools:
        print(f"{label}: {tool_name(tool, tools)} x{args.repeat} ...", file=sys.stderr)
        measured[tool] = measure_tool(site, env, tool, args.repeat, args.jobs)
    files = workload.union_files(site, site.root / "dist" / "functions", env)
    floor = statistics.median(
        timed(functools.partial(workload.floor, files)) for _ in range(args.repeat)
    )
    limit = floor / min(2, os.cpu_count() or 1)  # the floor spread over both cores
    zipped = sum(p.stat().st_size for p in (site.root / "dist" / "functions").glob("*.zip"))
    scratch = args.work / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    print(f"{label}: SAM-like and naive ...", file=sys.stderr)
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
    rows = []
    for tool, results in measured.items():
        cold, warm, changed = (
            statistics.median(r) for r in (results.cold, results.warm, results.changed)
        )
        rows.append(
            [
                label,
                tool_name(tool, tools),
                f"{len(files):,} / {sum(f.stat().st_size for f in files) / 2**20:.0f} MiB",
                f"{zipped / 2**20:.0f} MiB",
                fmt(floor),
                fmt(cold),
                fmt(warm),
                fmt(changed),
                fmt(sam, sam_est),
                fmt(naive, naive_est),
                f"{cold / floor:.2f}",
                f"{cold / limit:.2f}",
                f"{sam / cold:.1f}",
                f"{results.peak / 2**20:.0f} MB",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--shapes",
        default=SHAPES,
        help=f"comma-separated: numbers of functions over real packages, `many`, `shared-lib`"
        f"  [default: {SHAPES}]",
    )
    parser.add_argument(
        "--repeat", type=int, choices=range(1, 21), default=3, metavar="1..20",
        help="runs of the tool per shape",
    )  # fmt: skip
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
    parser.add_argument("--quick", action="store_true", help="5 functions, one run, tiny samples")
    args = parser.parse_args()
    if args.quick:
        args.shapes, args.repeat, args.sample, args.naive_sample = "5", 1, 2, 1
    tools = [t.absolute() for t in args.tool or [TOOL]]
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"setting up {args.work} ...", file=sys.stderr)
    wheelhouse, env = workload.prepare_environment(args.work)
    started = time.perf_counter()
    rows = []
    for shape in args.shapes.split(","):
        measured = measure_shape(args, tools, shape.strip(), wheelhouse, env)
        for row in measured:  # as it comes: a later shape that fails loses nothing
            print("| " + " | ".join(row) + " |", file=sys.stderr)
        rows += measured
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())  # others' work skews the times
    print(
        f"\nmachine: {os.cpu_count()} cores, load average {load} at the end (1 / 5 / 15 min), "
        f"Python {sys.version.split()[0]}, level {workload.LEVEL}, medians of {args.repeat} "
        f"(tool, floor); ~ = scaled from a sample; two-core limit = floor / 2; "
        f"{time.perf_counter() - started:.0f} s in all\n"
    )
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
