"""`bundle serve` and `bundle invoke`: run the built functions locally as Lambda runs them."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import click
from click.decorators import FC

from bundler.cli.command import BundleCommand
from bundler.cli.output import python_option
from bundler.errors import BundlerError, UsageError
from bundler.serve.app import ServeApp, ServeOptions
from bundler.serve.front import FrontServer
from bundler.serve.invoke import (
    EVENTS,
    default_event,
    on_its_own,
    read_payload,
    request_body,
    serve_status,
    through_serve,
    unknown_function,
)

DEFAULT_PORT = 9999
_PYTHON_HELP = "Interpreter (or virtualenv) the functions are built from and run by."


def _cache_option() -> Callable[[FC], FC]:
    return click.option(
        "--cache-dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="The build cache, the runtime client and the task roots.  [default: .bundle-cache]",
    )


class _Log:
    """Whole lines on stderr, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            click.echo(line, err=True)


def _url(host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "::1", "0.0.0.0", "::", "localhost") else host
    return f"http://{shown}:{port}"


def _bind(host: str, port: int) -> FrontServer:
    try:
        return FrontServer(host, port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError.of(
                f"port {port} on {host} is in use",
                hint="stop what uses it, or choose another port with --port",
            ) from None
        raise UsageError.of(
            f"cannot listen on {host}:{port}: {error.strerror or error}",
            hint="choose another --host or --port",
        ) from None


@click.command(name="serve", cls=BundleCommand)
@click.argument("functions_dir", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@python_option(_PYTHON_HELP)
@click.option(
    "--env-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".env"),
    show_default=True,
    help="Variables for the functions (netlify.toml [build.environment] first; the shell's "
    "own values win).",
)
@_cache_option()
@click.option("--no-watch", is_flag=True, help="Do not rebuild when the site changes.")
@click.option("--no-schedule", is_flag=True, help="Do not run scheduled functions on time.")
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Workers per function at most (Lambda's execution environments).",
)
def serve_command(
    functions_dir: Path | None,
    port: int,
    host: str,
    python: Path | None,
    env_file: Path,
    cache_dir: Path | None,
    no_watch: bool,
    no_schedule: bool,
    concurrency: int,
) -> None:
    """Serve the site's functions from their built zips, each in real Lambda runtime
    workers, with hot reload; run from the site root. Ctrl-C stops every worker."""
    root = Path.cwd()
    log = _Log()
    server = _bind(host, port)  # a port in use is a usage error: exit 2
    url = _url(host, server.port)
    options = ServeOptions(
        root=root,
        functions_dir=functions_dir,
        python=python,
        env_file=env_file,
        concurrency=concurrency,
        watch=not no_watch,
        schedule=not no_schedule,
        url=url,
        cache=cache_dir.resolve() if cache_dir else None,
    )
    app = ServeApp(options, log)
    try:
        app.start()
    except BundlerError:
        app.stop()
        server.server_close()
        raise
    except KeyboardInterrupt:
        app.stop()
        server.server_close()
        sys.exit(130)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server.handler = app.handle
    server.log = log
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    log(f"listening on {url} (Ctrl-C stops)")
    while not stopping.wait(0.5):
        pass
    log("stopping: every worker ends")
    server.shutdown()
    app.stop()
    server.server_close()
    log("stopped")


@click.command(name="invoke", cls=BundleCommand)
@click.argument("name")
@click.option("--payload", metavar="JSON|@FILE", help="The body: JSON, or @file.json.")
@click.option(
    "--event",
    "event",
    type=click.Choice(EVENTS),
    help="What kind of invocation: http (a POST of the payload), schedule, or a Netlify "
    "event with a realistic payload.  [default: the function's own kind]",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Use the `bundle serve` of this site answering on this port, if there is one.",
)
@python_option(_PYTHON_HELP)
@click.option("--env-file", type=click.Path(path_type=Path, dir_okay=False), default=Path(".env"))
@_cache_option()
def invoke_command(
    name: str,
    payload: str | None,
    event: str | None,
    port: int,
    python: Path | None,
    env_file: Path,
    cache_dir: Path | None,
) -> None:
    """Invoke function NAME once and print its response body on stdout (exit 1 on a
    function error): through a running `bundle serve`, else on its own."""
    root = Path.cwd()
    log = _Log()
    value = read_payload(payload, root)
    url = _url("127.0.0.1", port)
    status = serve_status(port, root)
    if status is not None:
        functions = status.get("functions", {})
        if name not in functions:
            raise unknown_function(name, functions)
        kind = event or default_event(functions[name]["kind"], functions[name]["trigger"])
        body, headers = request_body(kind, value, root.name, url)
        log(f"through the bundle serve on port {port}")
        invoked = through_serve(port, name, body, headers)
    else:
        options = ServeOptions(
            root=root,
            python=python,
            env_file=env_file,
            watch=False,
            schedule=False,
            url=url,
            cache=cache_dir.resolve() if cache_dir else None,
        )
        invoked = on_its_own(options, name, event, value, log)
    response = invoked.response
    log(f"status {response.status}")
    sys.stdout.buffer.write(response.body)
    sys.stdout.flush()
    if invoked.failed:
        sys.exit(1)
