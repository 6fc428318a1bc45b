"""Real components for the sample application's tests: a throwaway PostgreSQL cluster that an
unprivileged user runs on loopback, the sample site served by a real `bundle serve`, and
Debian's Chromium driven by Playwright. Every wait is bounded in time.

`make test` installs Debian's `postgresql` and `chromium` when they are missing; a machine
where they are not installed fails these tests under `make test` and on CI, and skips them
elsewhere, saying how to install them (`support.missing`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from serve_support import Serve, free_port, install_runtime_client
from support import (
    CHROMIUM_ARGS,
    SAMPLE_SITE,
    UNPRIVILEGED_USER,
    missing,
    require_sample_venv,
)

SITE_PYTHON = SAMPLE_SITE / ".venv" / "bin" / "python"
POSTGRES_VERSIONS = Path("/usr/lib/postgresql")  # Debian's layout: NN/bin/initdb
CHROMIUM = Path("/usr/bin/chromium")
LIMIT = 60  # seconds for any one command of the cluster


def postgres_binaries() -> Path | None:
    """The newest of Debian's PostgreSQL servers (/usr/lib/postgresql/NN/bin), if any."""
    found = [
        folder / "bin"
        for folder in POSTGRES_VERSIONS.glob("*")
        if folder.name.isdigit() and (folder / "bin" / "initdb").is_file()
    ]
    return max(found, key=lambda binaries: int(binaries.parent.name), default=None)


class Cluster:
    """A PostgreSQL cluster in a temporary folder: initdb and the server run as `nobody` (when
    the tests run as root; PostgreSQL refuses to run as root), the server listens on a free
    loopback port with its socket in that folder and logs every connection."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="bundler-postgres-", dir="/tmp"))
        if self.as_root:
            shutil.chown(self.folder, UNPRIVILEGED_USER)
        self.data = self.folder / "data"
        self.log_path = self.folder / "server.log"
        self.port = free_port()

    def start(self) -> None:
        """initdb, then the server (pg_ctl start waits until it accepts connections)."""
        password = self.folder / "password"
        password.write_text("postgres\n")
        if self.as_root:
            shutil.chown(password, UNPRIVILEGED_USER)
        self._server(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            "postgres",
            "--pwfile",
            str(password),
            "--auth-local",
            "trust",  # the tests' own psql through the socket in the private folder
            "--auth-host",
            "scram-sha-256",  # the functions log in over TCP with a password, as in production
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c log_connections=on"
        )
        self._server(
            "pg_ctl", "start", "--pgdata", str(self.data), "--log", str(self.log_path),
            "--wait", f"--timeout={LIMIT}", "-o", options,
        )  # fmt: skip

    def _server(self, program: str, *arguments: str) -> str:
        command = [str(self.binaries / program), *arguments]
        if self.as_root:
            command = ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=LIMIT + 30, check=False, cwd="/"
        )
        assert done.returncode == 0, f"{program} failed:\n{done.stdout}{done.stderr}{self.log()}"
        return done.stdout

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def sql(self, statement: str, database: str = "postgres") -> str:
        """`statement` through psql as the superuser, over the socket; its rows as text."""
        done = subprocess.run(
            [
                str(self.binaries / "psql"),
                "--host", str(self.folder), "--port", str(self.port),
                "--username", "postgres", "--dbname", database,
                "--no-psqlrc", "--tuples-only", "--no-align", "--set", "ON_ERROR_STOP=1",
                "--command", statement,
            ],
            capture_output=True, text=True, timeout=LIMIT, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"psql failed on {statement!r}:\n{done.stderr}"
        return done.stdout.strip()

    def create_database(self, name: str) -> str:
        """A role and a database both called `name` (password `name`); the URL to reach it."""
        self.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{name}'")
        self.sql(f"CREATE DATABASE {name} OWNER {name}")
        return f"postgresql://{name}:{name}@127.0.0.1:{self.port}/{name}"

    def connections(self, name: str) -> int:
        """Open sessions of role `name` in database `name` (pg_stat_activity)."""
        statement = (
            f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{name}' AND datname = '{name}'"
        )
        return int(self.sql(statement))

    def connections_opened(self, name: str) -> int:
        """Sessions role `name` ever opened in database `name`, from the server's log
        (log_connections), across restarts."""
        pattern = rf"connection authorized: user={name} database={name}\b"
        return len(re.findall(pattern, self.log()))

    def restart(self) -> None:
        """Stop the server, ending every session (as a crash or an upgrade would), and start
        it again with the same options."""
        self._server(
            "pg_ctl", "restart", "--pgdata", str(self.data), "--log", str(self.log_path),
            "--mode", "fast", "--wait", f"--timeout={LIMIT}",
        )  # fmt: skip

    def remove(self) -> None:
        """Stop the server (immediately: nothing here needs to survive) and delete the folder."""
        if (self.data / "postmaster.pid").exists():
            self._server(
                "pg_ctl", "stop", "--pgdata", str(self.data), "--mode", "immediate",
                "--wait", f"--timeout={LIMIT}",
            )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """A started cluster, stopped and removed on the way out whatever happened inside."""
    binaries = postgres_binaries()
    if binaries is None:
        missing(f"PostgreSQL ({POSTGRES_VERSIONS}/NN/bin/initdb)", "apt-get install postgresql")
    cluster = Cluster(binaries)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def serve_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's build cache and runtime client for `bundle serve` and `bundle invoke`."""
    return tmp_path_factory.getbasetemp() / "serve-cache"


@contextmanager
def serve_sample_site(
    tmp_path_factory: pytest.TempPathFactory, *arguments: str, env: dict[str, str]
) -> Iterator[Serve]:
    """`bundle serve` of a copy of sample_site with its real environment (sample_site/.venv,
    which `make test` sets up), the build cache shared by the session."""
    require_sample_venv()
    cache = serve_cache(tmp_path_factory)
    install_runtime_client(cache)
    site = tmp_path_factory.mktemp("sample") / "site"
    shutil.copytree(
        SAMPLE_SITE, site, ignore=shutil.ignore_patterns(".venv", "dist", ".bundle-cache", ".env")
    )
    serve = Serve(site, cache, SITE_PYTHON, "--no-watch", "--no-schedule", *arguments, env=env)
    try:
        yield serve
    finally:
        serve.stop()


@contextmanager
def launch_chromium(profile: Path) -> Iterator[Any]:
    """A Playwright browser context of Debian's Chromium with a fresh profile in `profile`."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        missing(f"{CHROMIUM}", "apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python", "pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=list(CHROMIUM_ARGS),
            headless=True,
            viewport={"width": 1100, "height": 900},
            timeout=LIMIT * 1000,
        )
        try:
            yield context
        finally:
            context.close()
