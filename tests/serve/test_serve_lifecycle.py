"""The life of a `bundle serve`: hot reload, Ctrl-C with no process left behind, a port in
use, `bundle invoke` on its own, the runtime's packages, and the isolation as a user."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import (
    BUNDLE,
    Serve,
    alive,
    free_port,
    install_runtime_client,
    runtime_processes,
    write_site,
)
from support import build_wheel, can_run_unprivileged, make_venv, pip_install

COUNTER = """
    import json, os
    from lib.shared import LABEL
    count = 0
    def handler(event, context):
        global count
        count += 1
        body = {"count": count, "label": LABEL, "pid": os.getpid()}
        return {"statusCode": 200, "body": json.dumps(body)}
"""
COUNTER_SITE = {
    "pyproject.toml": "",
    "lib/__init__.py": "",
    "lib/shared.py": 'LABEL = "one"\n',
    "netlify/functions/counter.py": COUNTER,
}


@pytest.fixture(scope="session")
def serve_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.getbasetemp() / "serve-cache"
    install_runtime_client(cache)
    return cache


@pytest.mark.slow
def test_hot_reload_replaces_workers_and_follows_added_and_removed_functions(
    tmp_path: Path, serve_cache: Path
) -> None:
    site = write_site(tmp_path / "site", {**COUNTER_SITE, "netlify/functions/other.py": COUNTER})
    serve = Serve(site, serve_cache, Path(sys.executable))
    try:
        counts = [serve.get("/.netlify/functions/counter").json()["count"] for _ in range(3)]
        assert counts == [1, 2, 3]

        mark = len(serve.log())
        (site / "lib/shared.py").write_text('LABEL = "two"\n')  # a first-party module
        log = serve.wait_for("reloaded other", 60, after=mark)  # both functions import it
        assert "reloaded counter" in log
        answer = serve.get("/.netlify/functions/counter").json()
        assert (answer["count"], answer["label"]) == (1, "two")  # fresh module state
        other = serve.get("/.netlify/functions/other").json()

        mark = len(serve.log())
        text = (site / "netlify/functions/counter.py").read_text()
        (site / "netlify/functions/counter.py").write_text(text + "\n# edited\n")
        log = serve.wait_for("reloaded counter", 60, after=mark)
        assert "reloaded other" not in log
        assert serve.get("/.netlify/functions/counter").json()["count"] == 1
        still = serve.get("/.netlify/functions/other").json()
        assert still["pid"] == other["pid"]  # only the changed function lost its workers

        mark = len(serve.log())
        (site / "netlify/functions/added.py").write_text(
            "def handler(event, context):\n    return {'statusCode': 200, 'body': 'new'}\n"
        )
        serve.wait_for("added added", 60, after=mark)
        assert serve.get("/.netlify/functions/added").text == "new"

        mark = len(serve.log())
        (site / "netlify/functions/added.py").unlink()
        serve.wait_for("removed added", 60, after=mark)
        assert serve.get("/.netlify/functions/added").status == 404

        mark = len(serve.log())
        broken = site / "netlify/functions/broken.py"
        broken.write_text("def handle(event, context):\n    return {}\n")  # a typo
        serve.wait_for("broken failed to build (it answers 500 until fixed):", 60, after=mark)
        assert serve.get("/.netlify/functions/broken").status == 500
        mark = len(serve.log())
        broken.write_text("def handler(event, context):\n    return {'statusCode': 204}\n")
        serve.wait_for("added broken", 60, after=mark)
        assert serve.get("/.netlify/functions/broken").status == 204

        mark = len(serve.log())
        (site / "pyproject.toml").write_text("[tool.bundler\n")  # not TOML
        log = serve.wait_for(
            "the site cannot be built: still serving the last build", 60, after=mark
        )
        assert "error: pyproject.toml:1: invalid TOML: " in log
        assert serve.get("/.netlify/functions/counter").status == 200

        mark = len(serve.log())
        (site / "pyproject.toml").write_text("[tool.bundler.functions.other]\ntimeout = 5\n")
        log = serve.wait_for("reloaded other", 60, after=mark)  # a setting is an input too
        assert "reloaded counter" not in log
    finally:
        assert serve.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_server_stops_every_worker(
    tmp_path: Path, serve_cache: Path, signum: int
) -> None:
    """Ctrl-C and SIGTERM stop each worker's process group; if the server is killed
    outright, the kernel kills the workers (they asked for it: PR_SET_PDEATHSIG)."""
    site = write_site(
        tmp_path / "site",
        {
            **COUNTER_SITE,
            "netlify/functions/slow.py": """
                import time
                def handler(event, context):
                    time.sleep(30)
            """,
        },
    )
    serve = Serve(site, serve_cache, Path(sys.executable), "--no-watch")
    pid = serve.get("/.netlify/functions/counter").json()["pid"]
    slow = subprocess.Popen(  # a worker busy when Ctrl-C comes
        [
            sys.executable,
            "-c",
            f"import urllib.request as u; u.urlopen('http://127.0.0.1:{serve.port}/.netlify/functions/slow')",
        ],
        stderr=subprocess.DEVNULL,
    )
    serve.wait_for("[slow] START", 30)
    busy = runtime_processes(serve_cache)
    assert pid in busy and len(busy) >= 2
    started = time.monotonic()
    code = serve.stop(signum)
    assert time.monotonic() - started < 10
    slow.wait(30)
    deadline = time.monotonic() + 5
    while any(alive(p) for p in busy) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in busy if alive(p)] == []
    assert [p for p in runtime_processes(serve_cache) if p in busy] == []
    if signum != signal.SIGKILL:
        assert code == 0
        log = serve.log()
        assert "\nstopping: every worker ends\n" in log and log.endswith("\nstopped\n")


def test_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"pyproject.toml": ""})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(BUNDLE), "serve", "--port", str(port)],
            cwd=site,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == (
        f"error: port {port} on 127.0.0.1 is in use; stop what uses it, or choose another "
        "port with --port\n"
    )


def invoke(site: Path, cache: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BUNDLE),
            "invoke",
            *arguments,
            "--port",
            str(free_port()),  # nothing answers there: on its own
            "--cache-dir",
            str(cache),
            "--python",
            sys.executable,
        ],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_invoke_on_its_own(tmp_path: Path, serve_cache: Path) -> None:
    site = write_site(
        tmp_path / "site",
        {
            "pyproject.toml": "",
            "netlify/functions/greet.py": """
                import json
                def handler(event, context):
                    name = json.loads(event["body"] or "{}").get("name", "World")
                    return {"statusCode": 200, "body": f"Hello, {name}!"}
            """,
            "netlify/functions/broken.py": """
                def handler(event, context):
                    raise RuntimeError("broken on purpose")
            """,
            "netlify/functions/identity-signup.py": """
                import json
                def handler(event, context):
                    body = json.loads(event["body"])
                    return {"statusCode": 200, "body": body["event"] + " " + body["user"]["email"]}
            """,
            "payload.json": '{"name": "file"}',
        },
    )
    done = invoke(site, serve_cache, "greet", "--payload", '{"name": "Ada"}')
    assert (done.returncode, done.stdout) == (0, "Hello, Ada!")
    assert "status 200" in done.stderr and "[greet] REPORT RequestId:" in done.stderr
    assert invoke(site, serve_cache, "greet", "--payload", "@payload.json").stdout == "Hello, file!"
    failed = invoke(site, serve_cache, "broken")
    assert failed.returncode == 1
    assert failed.stdout.startswith("RuntimeError: broken on purpose\n")
    event = invoke(site, serve_cache, "identity-signup")
    assert (event.returncode, event.stdout) == (0, "signup ada@example.com")
    unknown = invoke(site, serve_cache, "nope")
    assert unknown.returncode == 2
    assert (
        "error: no function named 'nope'; the site's functions: broken, greet, identity-signup"
        in unknown.stderr
    )
    bad = invoke(site, serve_cache, "greet", "--payload", "{nope")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: --payload is not JSON: Expecting property name")


@pytest.mark.slow
def test_the_runtimes_packages_come_from_the_site_environment(
    tmp_path: Path, serve_cache: Path
) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(
        wheels,
        "boto3",
        "1.34.0",
        {"boto3/__init__.py": "__version__ = '1.34.0'\n"},
        requires=("botocore",),
    )
    build_wheel(wheels, "botocore", "1.34.0", {"botocore/__init__.py": ""}, requires=("jmespath",))
    build_wheel(wheels, "jmespath", "1.0.1", {"jmespath/__init__.py": ""})
    build_wheel(wheels, "unrelated", "1.0", {"unrelated/__init__.py": ""})
    python = make_venv(tmp_path / "venv")
    pip_install(python, "--no-index", "--find-links", str(wheels), "boto3", "unrelated")
    site = write_site(
        tmp_path / "site",
        {
            "pyproject.toml": '[tool.bundler]\nexclude = ["boto3"]\n',
            "netlify/functions/uses-sdk.py": """
                import importlib, json, sys
                import boto3
                def handler(event, context):
                    try:  # a name no static reading sees: not in the zip
                        importlib.import_module("unre" + "lated")
                        found = True
                    except ImportError:
                        found = False
                    return {"statusCode": 200, "body": json.dumps(
                        {"boto3": boto3.__file__, "unrelated": found, "path": sys.path})}
            """,
        },
    )
    serve = Serve(site, serve_cache, python, "--no-watch")
    try:
        answer = serve.get("/.netlify/functions/uses-sdk").json()
        log = serve.log()
    finally:
        serve.stop()
    assert "/serve/provided/" in answer["boto3"]
    assert answer["unrelated"] is False  # only the runtime's distributions, never the venv
    assert answer["path"][1] == str(Path(answer["boto3"]).parents[1])
    assert (
        "runtime packages (provided as on Lambda, from the site's environment): boto3 1.34.0, "
        "botocore 1.34.0, jmespath 1.0.1\n" in log
    )
    assert "uses-sdk leaves boto3 out of its zip: it uses the runtime's copy\n" in log


@pytest.fixture
def nobody_folder() -> Iterator[Path]:
    from support import unprivileged_folder

    folder = unprivileged_folder("bundler-sandbox-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_sandbox_as_an_unprivileged_user(nobody_folder: Path) -> None:
    """Root's mount namespace is not the only way: as `nobody`, a user namespace with it
    makes the task root read-only (EROFS) and /tmp private."""
    usable, why = can_run_unprivileged()
    if not usable:
        pytest.skip(why)
    from support import SYSTEM_PYTHON, UNPRIVILEGED_USER, give_to_nobody

    from bundler.serve.isolation import SANDBOX

    shutil.copy(SANDBOX, nobody_folder / "sandbox.py")
    (nobody_folder / "task").mkdir()
    (nobody_folder / "task" / "handler.py").write_text("")
    give_to_nobody(nobody_folder)
    spec = {"task_root": str(nobody_folder / "task"), "keep": [str(nobody_folder)]}
    done = subprocess.run(
        [
            "runuser",
            "-u",
            UNPRIVILEGED_USER,
            "--",
            str(SYSTEM_PYTHON),
            "-I",
            "-S",
            str(nobody_folder / "sandbox.py"),
            "--probe",
            json.dumps(spec),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    facts = json.loads(done.stdout)
    if facts["mechanism"] is None and "CLONE_NEWUSER" in facts.get("reason", ""):
        pytest.skip(f"unprivileged user namespaces are off here: {facts['reason']}")
    assert facts["mechanism"] == "user and mount namespaces"
    assert facts["readonly"] == "EROFS"
    assert "probe-private" in facts["tmp"]
    assert not Path("/tmp/probe-private").exists()


def test_without_isolation_the_server_says_so(tmp_path: Path) -> None:
    from bundler.serve.isolation import probe_isolation

    isolation = probe_isolation(Path("/bin/false"), tmp_path / "probe", [tmp_path])
    assert (isolation.mechanism, isolation.mode) == (None, "none")
    assert isolation.describe() == (
        "isolation: none (the probe exited 1): the task root is read-only by file modes only "
        "(root ignores them) and /tmp is shared; each worker gets a private TMPDIR"
    )


@pytest.mark.slow
def test_two_servers_installing_the_runtime_client_at_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from bundler.environment.interpreter import Interpreter
    from bundler.serve.runtime_client import ensure_runtime_client

    python = Interpreter.from_executable(Path(sys.executable))
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(
                ensure_runtime_client, tmp_path, python.version, python.machine, python.executable
            )
            for _ in range(2)
        ]
        results = [f.result(timeout=600) for f in futures]
    (folder,) = {folder for folder, _installed in results}
    assert sorted(installed for _folder, installed in results) == [False, True]
    assert (folder / "awslambdaric" / "__main__.py").is_file()
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no temporary left


@pytest.mark.slow
def test_a_runtime_client_that_cannot_be_had_says_how_to_install_it(tmp_path: Path) -> None:
    from bundler.errors import EnvironmentProblem
    from bundler.serve.runtime_client import ensure_runtime_client

    with pytest.raises(EnvironmentProblem) as caught:  # no awslambdaric 4.2.2 for Python 3.7
        ensure_runtime_client(tmp_path, (3, 7, 17), "x86_64", Path(sys.executable))
    (problem,) = caught.value.problems
    assert problem.message.startswith(
        "cannot install the Lambda runtime client awslambdaric==4.2.2 for Python 3.7 on x86_64: "
    )
    assert "No matching distribution found for awslambdaric==4.2.2" in problem.message
    assert problem.hint is not None and problem.hint.startswith(
        "connect to the package index once, or install it yourself: python3 -m pip install "
    )
    assert f"--target {tmp_path}/runtime/awslambdaric-4.2.2-cp37-x86_64 " in problem.hint
    assert list((tmp_path / "runtime").iterdir()) == []  # no half-installed folder
