"""End to end: a real `bundle serve` on a site of small functions, over HTTP on loopback.

One server for the module (the schedule of `tick` fires while the other tests run). The
runtime client comes from PyPI once a session, so these tests are slow.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import Serve, install_runtime_client, side_folder, write_site

pytestmark = pytest.mark.slow

ECHO = """
    import json, os
    count = 0
    def handler(event, context):
        global count
        count += 1
        print("echo says hello")
        custom = context.client_context and context.client_context.custom
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({**event, "count": count, "pid": os.getpid(),
                                "function": context.function_name,
                                "memory": context.memory_limit_in_mb,
                                "remaining": context.get_remaining_time_in_millis(),
                                "greeting": os.environ.get("GREETING"),
                                "tz": os.environ.get("TZ"), "cwd": os.getcwd(),
                                "custom": custom}),
        }
"""
SLEEPY = """
    import json, os, time
    def handler(event, context):
        seconds = float((event.get("queryStringParameters") or {}).get("sleep", "0"))
        time.sleep(seconds)
        return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "slept": seconds})}
"""
FILES = """
    import json, os, sys
    def handler(event, context):
        name = (event.get("queryStringParameters") or {}).get("name", "marker")
        writes = []
        for path in (os.path.join(os.environ["LAMBDA_TASK_ROOT"], "new.txt"), __file__):
            try:
                open(path, "a").close()
                writes.append("written")
            except OSError as error:
                writes.append(error.errno)
        with open("/tmp/" + name, "w") as stream:
            stream.write(str(os.getpid()))
        listing = sorted(os.listdir("/tmp"))
        return {"statusCode": 200, "body": json.dumps({
            "writes": writes, "tmp": listing, "pid": os.getpid(),
            "path": sys.path, "prefix": sys.prefix})}
"""
BACKGROUND = """
    import os, time
    def handler(event, context):
        time.sleep(0.5)
        with open(os.path.join(os.environ["SIDE"], "background.txt"), "w") as stream:
            stream.write(event["body"])
"""
TICK = """
    import json, os, time
    config = {"schedule": "* * * * *"}
    def handler(event, context):
        path = os.path.join(os.environ["SIDE"], "tick-%d.json" % time.time_ns())
        with open(path, "w") as stream:
            json.dump({"body": event["body"], "headers": event["headers"]}, stream)
        return {"statusCode": 200}
"""
SITE = {
    "pyproject.toml": """
        [tool.bundler.functions.sleepy]
        timeout = 1
        [tool.bundler.functions.hungry]
        memory = 128
        [tool.bundler.functions.needs-click]
        exclude = ["click"]
    """,
    "netlify.toml": """
        [build]
        publish = "public"
        [[redirects]]
        from = "/api/*"
        to = "/.netlify/functions/echo/:splat"
        status = 200
    """,
    "public/index.html": "<h1>home</h1>\n",
    "netlify/functions/echo.py": ECHO,
    "netlify/functions/slow.py": SLEEPY,
    "netlify/functions/sleepy.py": SLEEPY,
    "netlify/functions/files-a.py": FILES,
    "netlify/functions/files-b.py": FILES,
    "netlify/functions/notes-background.py": BACKGROUND,
    "netlify/functions/tick.py": TICK,
    "netlify/functions/items.py": """
        import json
        config = {"path": ["/items", "/items/:id"], "method": ["GET"]}
        def handler(event, context):
            return {"statusCode": 200, "body": json.dumps({"path": event["path"]})}
    """,
    "netlify/functions/needs-click.py": """
        import click
        def handler(event, context):
            return {"statusCode": 200, "body": click.__name__}
    """,
    "netlify/functions/raises.py": """
        def handler(event, context):
            return 1 / 0
    """,
    "netlify/functions/invalid.py": """
        def handler(event, context):
            return {"statusCode": 200, "body": {"not": "a string"}}
    """,
    "netlify/functions/hungry.py": """
        def handler(event, context):
            blob = b"x" * (400 * 1024 * 1024)
            return {"statusCode": 200, "body": str(len(blob))}
    """,
    "netlify/functions/nobuild.py": "x = 1\n",
    "netlify/functions/deploy-succeeded.py": """
        import json
        def handler(event, context):
            body = json.loads(event["body"])
            return {"statusCode": 200, "body": body["payload"]["state"]}
    """,
}


@pytest.fixture(scope="session")
def serve_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for every test server: the runtime client is installed once."""
    cache = tmp_path_factory.getbasetemp() / "serve-cache"
    install_runtime_client(cache)
    return cache


@pytest.fixture(scope="module")
def side() -> Iterator[Path]:
    folder = side_folder()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, serve_cache: Path, side: Path
) -> Iterator[Serve]:
    site = write_site(tmp_path_factory.mktemp("e2e") / "site", SITE)
    (site / ".env").write_text(f"SIDE={side}\nGREETING='hello from .env'\n")
    serve = Serve(site, serve_cache, Path(sys.executable), "--no-watch")
    yield serve
    serve.stop()


def test_the_start_up_summary(server: Serve) -> None:
    log = server.log()
    assert "isolation: mount namespace: the task root is read-only" in log
    url = f"http://localhost:{server.port}"
    assert re.search(
        rf"\n  echo +{url}/\.netlify/functions/echo \(also /api/\*\)  \[60 s, 1024 MB\]\n", log
    )
    assert re.search(rf"\n  items +{url}/items, {url}/items/:id  \[60 s, 1024 MB\]\n", log)
    assert re.search(r"\n  sleepy +\S+  \[1 s, 1024 MB\]\n", log)
    assert re.search(r"\n  hungry +\S+  \[60 s, 128 MB\]\n", log)
    assert re.search(
        r"\n  notes-background +\S+  \[background: 202 at once, 900 s, 1024 MB\]\n", log
    )
    assert re.search(r"\n  nobuild +failed to build: answers 500 with its problems\n", log)
    assert re.search(r"schedule: tick \(\* \* \* \* \*\) next runs \S+Z, \S+Z, \S+Z\n", log)
    assert "nobuild failed to build (it answers 500 until fixed):" in log
    assert "error: netlify/functions/nobuild.py: no top-level `handler` defined" in log
    assert "environment: GREETING, SIDE from .env\n" in log


def test_a_get_event_and_the_lambda_context(server: Serve) -> None:
    response = server.request(
        "GET", "/.netlify/functions/echo/sub?tag=a&tag=b", headers={"X-Multi": "1, 2"}
    )
    assert response.status == 200
    event = response.json()
    assert event["path"] == "/.netlify/functions/echo/sub"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"tag": "a, b"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["rawQuery"] == "tag=a&tag=b"
    assert (
        event["rawUrl"] == f"http://127.0.0.1:{server.port}/.netlify/functions/echo/sub?tag=a&tag=b"
    )
    assert event["headers"]["x-multi"] == "1, 2"
    assert (event["function"], event["memory"], event["tz"]) == ("echo", "1024", "UTC")
    assert 55000 < event["remaining"] <= 60000
    assert event["greeting"] == "hello from .env"
    assert "echo says hello" not in response.text  # the function's output is not the response
    server.wait_for("[echo] echo says hello", 10)


def test_an_identity_token_reaches_the_client_context(server: Serve) -> None:
    claims = base64.urlsafe_b64encode(b'{"email": "ada@example.com"}').decode().rstrip("=")
    token = f"e30.{claims}.signature"
    event = server.get("/.netlify/functions/echo", Authorization=f"Bearer {token}").json()
    netlify = json.loads(base64.b64decode(event["custom"]["netlify"]))
    assert netlify["user"] == {"email": "ada@example.com"}
    assert server.get("/.netlify/functions/echo").json()["custom"] is None


def test_multi_value_headers_reach_the_function(server: Serve) -> None:
    connection_headers = [("X-Repeated", "one"), ("X-Repeated", "two")]
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.putrequest("GET", "/.netlify/functions/echo")
    for name, value in connection_headers:
        connection.putheader(name, value)
    connection.endheaders()
    event = json.loads(connection.getresponse().read())
    connection.close()
    assert event["multiValueHeaders"]["x-repeated"] == ["one", "two"]
    assert event["headers"]["x-repeated"] == "one, two"


def test_the_base64_rule(server: Serve) -> None:
    png = bytes(range(256))
    binary = server.request("POST", "/.netlify/functions/echo", png, {"Content-Type": "image/png"})
    event = binary.json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == png
    text = server.request(
        "POST", "/.netlify/functions/echo", b'{"a": 1}', {"Content-Type": "application/json"}
    ).json()
    assert (text["isBase64Encoded"], text["body"]) == (False, '{"a": 1}')
    raw = server.request("POST", "/.netlify/functions/echo", b"plain").json()  # no Content-Type
    assert raw["isBase64Encoded"] is True and base64.b64decode(raw["body"]) == b"plain"


def test_413_over_six_megabytes(server: Serve) -> None:
    response = server.request(
        "POST",
        "/.netlify/functions/echo",
        b"x" * (6 * 1024 * 1024 + 1),
        {"Content-Type": "text/plain"},
    )
    assert response.status == 413
    assert response.text.startswith("Payload Too Large")


def test_redirects_and_v2_routes(server: Serve) -> None:
    rewritten = server.get("/api/things?x=1").json()
    assert rewritten["path"] == "/api/things"  # Netlify keeps the original path
    assert server.get("/items/42").json() == {"path": "/items/42"}
    assert server.get("/items").json() == {"path": "/items"}
    assert server.request("POST", "/items/42").status == 404  # GET only
    routed_away = server.get("/.netlify/functions/items")
    assert (routed_away.status, routed_away.text) == (404, "Function not found...")
    server.wait_for(
        "because the function has the following URL paths defined: /items, /items/:id", 10
    )
    assert server.get("/").text == "<h1>home</h1>\n"
    assert server.get("/.netlify/functions/no-such").status == 404
    assert server.get("/.netlify/functions/bad.name").status == 400


def test_warm_reuse_keeps_module_state(server: Serve) -> None:
    first = server.get("/.netlify/functions/echo?warm=1").json()
    second = server.get("/.netlify/functions/echo?warm=2").json()
    assert second["count"] == first["count"] + 1
    assert second["pid"] == first["pid"]


def test_the_report_line(server: Serve) -> None:
    response = server.get("/.netlify/functions/files-b?name=report")
    assert response.status == 200
    log = server.wait_for("[files-b] REPORT RequestId:", 10)
    report = re.search(
        r"\[files-b\] REPORT RequestId: ([0-9a-f-]{36})\tDuration: (\d+\.\d\d) ms\t"
        r"Billed Duration: (\d+) ms\tMemory Size: 1024 MB\tMax Memory Used: (\d+) MB\t"
        r"Init Duration: (\d+\.\d\d) ms\n",
        log,
    )
    assert report is not None, log
    assert f"[files-b] START RequestId: {report.group(1)} Version: $LATEST" in log
    assert f"[files-b] END RequestId: {report.group(1)}" in log
    assert 5 <= int(report.group(4)) < 1024


def test_the_task_root_is_read_only_and_tmp_private(server: Serve) -> None:
    a = server.get("/.netlify/functions/files-a?name=from-a").json()
    b = server.get("/.netlify/functions/files-b?name=from-b").json()
    assert a["writes"] == [30, 30]  # EROFS in the task root, even as root
    assert "from-a" in a["tmp"] and "from-a" not in b["tmp"]
    assert "from-b" in b["tmp"]
    assert not Path("/tmp/from-a").exists()
    task_root, runtime_client, *standard_library = a["path"]
    assert re.search(r"/serve/tasks/files-a-[0-9a-f]{16}$", task_root)
    assert re.search(r"/runtime/awslambdaric-[\d.]+-cp\d+-x86_64$", runtime_client)
    assert all(p.startswith(a["prefix"]) for p in standard_library)
    assert "site-packages" not in json.dumps(a["path"])  # never the site's virtualenv


def test_two_slow_requests_run_in_parallel(server: Serve) -> None:
    def call(seconds: float, results: list[float]) -> None:
        started = time.monotonic()
        response = server.get(f"/.netlify/functions/slow?sleep={seconds}")
        assert response.status == 200
        results.append(time.monotonic() - started)

    warm: list[float] = []
    threads = [threading.Thread(target=call, args=(0.3, warm)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    timed: list[float] = []
    started = time.monotonic()
    threads = [threading.Thread(target=call, args=(1.5, timed)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    assert len(timed) == 2
    assert elapsed < 2.6, f"two 1.5 s requests took {elapsed:.2f} s: they ran one after the other"


def test_a_timeout_ends_the_invocation_and_replaces_the_worker(server: Serve) -> None:
    before = server.get("/.netlify/functions/sleepy?sleep=0").json()["pid"]
    started = time.monotonic()
    response = server.get("/.netlify/functions/sleepy?sleep=5")
    assert time.monotonic() - started < 4
    assert response.status == 500
    assert response.header("X-Bundle-Function-Error") == "Sandbox.Timedout"
    assert re.fullmatch(
        r"Sandbox\.Timedout: RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds\n",
        response.text,
    )
    server.wait_for("Task timed out after 1.00 seconds", 10)
    after = server.get("/.netlify/functions/sleepy?sleep=0").json()["pid"]
    assert after != before
    assert not Path(f"/proc/{before}").exists()


def test_a_worker_over_its_memory_is_stopped(server: Serve) -> None:
    response = server.get("/.netlify/functions/hungry")
    assert response.status == 500
    assert "Runtime.ExitError: RequestId: " in response.text
    assert "Error: Runtime exited with error: signal: killed" in response.text
    log = server.wait_for("[hungry] REPORT", 10)
    assert "Memory Size: 128 MB\tMax Memory Used: 128 MB" in log


def test_an_import_the_zip_lacks_fails_as_on_lambda(server: Serve) -> None:
    response = server.get("/.netlify/functions/needs-click")
    assert response.status == 500
    assert response.text == (
        "Runtime.ImportModuleError: Unable to import module 'needs-click': "
        "No module named 'click'\n"
    )
    server.wait_for("[needs-click] [ERROR] Runtime.ImportModuleError", 10)


def test_a_handler_error_as_text_and_as_a_page(server: Serve) -> None:
    text = server.get("/.netlify/functions/raises")
    assert text.status == 500
    lines = text.text.splitlines()
    assert lines[0] == "ZeroDivisionError: division by zero"
    assert 'raises.py", line 3, in handler' in text.text
    assert "bootstrap.py" not in text.text
    page = server.get("/.netlify/functions/raises", Accept="text/html,*/*")
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert "<h1>ZeroDivisionError: division by zero</h1>" in page.text


def test_a_response_netlify_would_refuse(server: Serve) -> None:
    response = server.get("/.netlify/functions/invalid")
    assert response.status == 500
    assert response.text == (
        "Your function response must have a string or a stream body. You gave: "
        '{"not": "a string"}\n'
    )


def test_a_function_that_did_not_build_answers_500(server: Serve) -> None:
    response = server.get("/.netlify/functions/nobuild")
    assert response.status == 500
    assert response.text == (
        "function nobuild failed to build:\n"
        "error: netlify/functions/nobuild.py: no top-level `handler` defined; define "
        "`def handler(event, context):` or assign one, e.g. `handler = Mangum(app)`\n"
    )


def test_a_background_function_answers_202_then_runs(server: Serve, side: Path) -> None:
    started = time.monotonic()
    response = server.request(
        "POST",
        "/.netlify/functions/notes-background",
        b'{"note": 1}',
        {"Content-Type": "application/json"},
    )
    assert (response.status, response.body) == (202, b"")
    assert time.monotonic() - started < 0.5  # it did not wait for the run
    assert not (side / "background.txt").exists()
    log = server.wait_for("[notes-background] queued background invocation ", 10)
    request_id = log.split("[notes-background] queued background invocation ", 1)[1][:36]
    server.wait_for(f"[notes-background] background invocation {request_id} done", 30)
    assert (side / "background.txt").read_text() == '{"note": 1}'


def test_an_event_triggered_function_gets_a_realistic_payload(
    server: Serve, serve_cache: Path
) -> None:
    import subprocess

    from serve_support import BUNDLE

    done = subprocess.run(
        [str(BUNDLE), "invoke", "deploy-succeeded", "--port", str(server.port)],
        cwd=server.site,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "ready")
    assert f"through the bundle serve on port {server.port}" in done.stderr


def test_a_request_to_a_scheduled_function_runs_it_once(server: Serve, side: Path) -> None:
    before = set(side.glob("tick-*.json"))
    assert server.get("/.netlify/functions/tick").status == 200
    (made,) = set(side.glob("tick-*.json")) - before
    event = json.loads(made.read_text())
    assert re.fullmatch(r'\{"next_run": "\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z"\}', event["body"])
    assert event["headers"]["user-agent"] == "Netlify Clockwork"
    assert event["headers"]["x-nf-event"] == "schedule"


def test_the_schedule_fires_on_time(server: Serve, side: Path) -> None:
    log = server.wait_for("[tick] scheduled run (next run ", 75)
    assert re.search(r"\[tick\] scheduled run \(next run \d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z\)", log)
    server.wait_for("[tick] scheduled run ended: 200", 30)
