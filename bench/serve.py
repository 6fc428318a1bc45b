"""Benchmark of `bundle serve` (issue 12) on sample_site, with its PyPI environment.

    python bench/serve.py                 # make bench-serve
    python bench/serve.py --requests 300 --seconds 3

It measures, on loopback:

- start-up: from launching `bundle serve` until every function of sample_site has
  answered once (cold: an empty cache folder, the runtime client already installed;
  warm: the same again, the build cache full);
- cold start per function: the first request's latency and the Init Duration of its REPORT;
- warm overhead: `hello` through the server (keep-alive, one client) against calling its
  handler in this process, p50 and p99 over `--requests` calls;
- requests per second for `hello` with 1 and 4 workers (`--concurrency`), 4 client threads
  for `--seconds`.

Nothing here is a timed test: the numbers go to README.md.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_site"
TOOL = ROOT / ".venv" / "bin" / "bundle"
PYTHON = SAMPLE / ".venv" / "bin" / "python"
# every function of sample_site but `notes`, which needs a PostgreSQL (DATABASE_URL)
FIRST_REQUESTS = {
    "api": ("GET", "/api/items"),
    "daily-report": ("GET", "/.netlify/functions/daily-report"),
    "fastapi-app": ("GET", "/.netlify/functions/fastapi-app/items"),
    "hello": ("GET", "/.netlify/functions/hello?name=Ada"),
    "quote": ("GET", "/.netlify/functions/quote"),
    "send-report-background": ("POST", "/.netlify/functions/send-report-background"),
    "stats": ("GET", "/.netlify/functions/stats"),
    "todos": ("GET", "/.netlify/functions/todos"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, site: Path, cache: Path, *arguments: str) -> None:
        self.port = free_port()
        self.log_path = Path(tempfile.mkstemp(suffix=".log")[1])
        self.started = time.perf_counter()
        command = [str(TOOL), "serve", "--port", str(self.port), "--python", str(PYTHON)]
        command += ["--cache-dir", str(cache), "--no-watch", "--no-schedule", *arguments]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=site, stdout=log, stderr=log)

    def call(self, method: str, path: str, connection: Any = None) -> tuple[int, float]:
        own = connection is None
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.perf_counter()
        body = b"{}" if method == "POST" else None
        connection.request(method, path, body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        elapsed = time.perf_counter() - started
        if own:
            connection.close()
        return answer.status, elapsed

    def wait_listening(self, limit: float = 300) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if "listening on " in self.log_path.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise SystemExit(self.log_path.read_text())
            time.sleep(0.01)
        raise SystemExit(f"bundle serve did not start in {limit} s")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)
        return self.log_path.read_text(errors="replace")


def start_up(site: Path, cache: Path) -> tuple[float, dict[str, tuple[float, float]], str]:
    """Seconds until every function answered; per function (latency, Init Duration) ms."""
    server = Server(site, cache)
    server.wait_listening()
    firsts: dict[str, float] = {}
    for name, (method, path) in FIRST_REQUESTS.items():
        status, elapsed = server.call(method, path)
        assert status < 500 or name == "todos", (name, status)
        firsts[name] = elapsed * 1000
    total = time.perf_counter() - server.started
    time.sleep(1)  # the background run's REPORT
    log = server.stop()
    inits = {
        match.group(1): float(match.group(2))
        for match in re.finditer(r"\[([\w-]+)\] REPORT .*Init Duration: ([\d.]+) ms", log)
    }
    return total, {n: (firsts[n], inits.get(n, 0.0)) for n in firsts}, log


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def in_process_hello(site: Path, requests: int) -> list[float]:
    """The handler called directly, as a warm invocation does inside a worker."""
    spec = importlib.util.spec_from_file_location("hello", site / "netlify/functions/hello.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = {"queryStringParameters": {"name": "Ada"}, "path": "/", "httpMethod": "GET"}
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        module.handler(event, None)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def warm_overhead(site: Path, cache: Path, requests: int) -> dict[str, float]:
    server = Server(site, cache)
    server.wait_listening()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    for _ in range(20):  # cold start and warm-up
        server.call("GET", "/.netlify/functions/hello?name=Ada", connection)
    served = [
        server.call("GET", "/.netlify/functions/hello?name=Ada", connection)[1] * 1000
        for _ in range(requests)
    ]
    connection.close()
    server.stop()
    direct = in_process_hello(site, requests)
    return {
        "served p50": percentile(served, 0.5),
        "served p99": percentile(served, 0.99),
        "in-process p50": percentile(direct, 0.5),
        "in-process p99": percentile(direct, 0.99),
    }


def throughput(site: Path, cache: Path, workers: int, seconds: float, clients: int = 4) -> float:
    server = Server(site, cache, "--concurrency", str(workers))
    server.wait_listening()
    path = "/.netlify/functions/hello?name=Ada"
    warm = [
        threading.Thread(target=server.call, args=("GET", path)) for _ in range(workers)
    ]  # start every worker first: cold starts are measured elsewhere
    for thread in warm:
        thread.start()
    for thread in warm:
        thread.join()
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while time.perf_counter() < deadline:
            server.call("GET", path, connection)
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    server.stop()
    return sum(counts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "bundler-bench-serve"
    )
    options = parser.parse_args()
    if not PYTHON.exists():
        raise SystemExit("sample_site/.venv is missing: run `make test` (or make bundle) first")
    shutil.rmtree(options.work, ignore_errors=True)
    site = options.work / "site"
    shutil.copytree(SAMPLE, site, ignore=shutil.ignore_patterns(".venv", "dist", ".bundle-cache"))
    cache = options.work / "cache"
    # the runtime client is installed once per machine: not part of a start-up
    runtime = Server(site, cache)
    runtime.wait_listening()
    runtime.stop()
    for folder in cache.iterdir():  # everything but the runtime client
        if folder.name != "runtime":
            shutil.rmtree(folder)
    cold, per_function, _log = start_up(site, cache)
    warm, _warm_functions, _ = start_up(site, cache)
    overhead = warm_overhead(site, cache, options.requests)
    rps = {n: throughput(site, cache, n, options.seconds) for n in (1, 4)}
    print(
        f"start-up until all {len(FIRST_REQUESTS)} functions answered: cold cache {cold:.2f} s, "
        f"warm cache {warm:.2f} s"
    )
    print("\n| function | first request (ms) | Init Duration (ms) |\n| --- | ---: | ---: |")
    for name, (first, init) in per_function.items():
        print(f"| {name} | {first:.0f} | {init:.0f} |")
    print(
        f"\nwarm `hello`, {options.requests} requests: served p50 {overhead['served p50']:.2f} ms, "
        f"p99 {overhead['served p99']:.2f} ms; handler in-process p50 "
        f"{overhead['in-process p50'] * 1000:.1f} µs, "
        f"p99 {overhead['in-process p99'] * 1000:.1f} µs"
    )
    print(
        f"`hello` throughput, 4 clients, {options.seconds:g} s: "
        + ", ".join(
            f"{n} worker{'s' if n > 1 else ''} {value:.0f} req/s" for n, value in rps.items()
        )
    )
    print(
        json.dumps(
            {
                "cold": cold,
                "warm": warm,
                "functions": per_function,
                "overhead": overhead,
                "rps": rps,
            }
        )
    )


if __name__ == "__main__":
    main()
