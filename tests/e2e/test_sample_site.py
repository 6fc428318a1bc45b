"""End to end: build sample_site against a real PyPI environment and run every bundle.

One virtualenv per module holds the site's pinned runtime requirements, its dev
requirements (pytest, black, ruff, mypy, aws-lambda-typing...) and the bundler itself,
so the test proves that what is installed but not needed stays out of the zips.
Each bundle is unzipped and its handler called in `python -I -S` with only the bundle
on `sys.path`, the way Lambda's /var/task works.

Run with `-s` to see the measured figures (build time, zipped sizes, site-packages).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from packaging.utils import canonicalize_name
from support import (
    REPO,
    SAMPLE_SITE,
    api_event,
    invoke,
    make_venv,
    pinned_names,
    pip_install,
    zip_distributions,
    zip_names,
)

from bundler.cli import main

pytestmark = pytest.mark.slow

BUNDLE = Path(sys.executable).parent / "bundle"

FUNCTIONS = (
    "api",
    "daily-report",
    "fastapi-app",
    "hello",
    "notes",
    "quote",
    "send-report-background",
    "stats",
    "todos",
)

# Checked by hand (each distribution's files removed from the unzipped bundle, handler run
# again): every one is needed to import the handler, except idna, which anyio requires
# unconditionally (Requires-Dist) and imports only when it resolves a host name, and tzdata,
# which python-dateutil 4 requires and reads only for a time zone's rules.
EXPECTED_DISTRIBUTIONS: dict[str, set[str]] = {
    "api": {
        "apig-wsgi",
        "blinker",
        "click",  # flask.cli imports click; flask.app imports flask.cli
        "flask",
        "itsdangerous",
        "jinja2",
        "markupsafe",
        "werkzeug",
    },
    "daily-report": {"jinja2", "markupsafe"},
    "fastapi-app": {
        "annotated-doc",
        "annotated-types",
        "anyio",
        "fastapi",
        "idna",
        "mangum",
        "opentelemetry-api",
        "pydantic",
        "pydantic-core",
        "starlette",
        "typing-extensions",
        "typing-inspection",
    },
    "hello": set(),
    "notes": {"asn1crypto", "pg8000", "python-dateutil", "scramp", "tzdata"},
    "quote": set(),
    "send-report-background": set(),
    "stats": set(),
    "todos": {"dnspython", "pymongo"},
}

# what the database functions answer when the site configures no database
NOT_CONFIGURED = {
    "notes": "DATABASE_URL is not set: the notes are unavailable",
    "todos": "MONGODB_URI is not set: the todo list is unavailable",
}

RUNTIME_NAMES = pinned_names(SAMPLE_SITE / "requirements.txt")
DEV_ONLY_NAMES = pinned_names(SAMPLE_SITE / "requirements-dev.txt") - RUNTIME_NAMES


def copy_site(destination: Path) -> Path:
    shutil.copytree(
        SAMPLE_SITE,
        destination,
        ignore=shutil.ignore_patterns(".venv", "dist", "__pycache__", ".*_cache"),
    )
    return destination


def run_bundle(site: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUNDLE), "build", *arguments],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def site_packages(python: Path) -> Path:
    (found,) = python.parent.parent.glob("lib/python3*/site-packages")
    return found


@dataclass(frozen=True)
class Built:
    site: Path
    python: Path
    out: Path
    manifest: dict[str, Any]
    report: dict[str, Any]

    def entry(self, name: str) -> dict[str, Any]:
        (found,) = (f for f in self.manifest["functions"] if f["name"] == name)
        return found

    def zip(self, name: str) -> Path:
        return self.out / self.entry(name)["path"]

    def module(self, name: str) -> str:
        return str(self.entry(name)["handler"]).removesuffix(".handler")


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the site's runtime and dev requirements and the bundler itself."""
    venv = make_venv(tmp_path_factory.mktemp("venv") / "venv")
    pip_install(
        venv,
        "-r",
        str(SAMPLE_SITE / "requirements.txt"),
        "-r",
        str(SAMPLE_SITE / "requirements-dev.txt"),
        "-e",
        str(REPO),
    )
    return venv


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, python: Path) -> Iterator[Built]:
    """sample_site built once through the CLI (click's CliRunner, from the site root)."""
    site = copy_site(tmp_path_factory.mktemp("site") / "sample_site")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(site)
        result = CliRunner().invoke(main, ["build", "--python", str(python), "--json"])
    assert result.exit_code == 0, result.output
    out = site / "dist" / "functions"
    yield Built(
        site=site,
        python=python,
        out=out,
        manifest=json.loads((out / "manifest.json").read_text()),
        report=json.loads(result.stdout),
    )


def test_every_function_is_built(built: Built) -> None:
    assert [f["name"] for f in built.manifest["functions"]] == list(FUNCTIONS)
    assert sorted(p.name for p in built.out.iterdir()) == sorted(
        [f"{name}.zip" for name in FUNCTIONS] + ["manifest.json"]
    )
    assert {f["name"] for f in built.report["functions"]} == set(FUNCTIONS)
    assert built.entry("fastapi-app")["handler"] == "index.handler"
    assert built.entry("send-report-background")["invocationMode"] == "background"
    daily = built.entry("daily-report")
    assert (daily["kind"], daily["schedule"]) == ("scheduled", "@daily")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_handler_answers_in_a_clean_interpreter(built: Built, name: str, tmp_path: Path) -> None:
    event = api_event(f"/.netlify/functions/{name}")
    result = invoke(built.zip(name), built.module(name), event, tmp_path)
    if name == "send-report-background":
        assert result is None  # ran to the end without raising; Netlify discards the value
    elif name in NOT_CONFIGURED:  # no MONGODB_URI, no DATABASE_URL in the child's environment
        answer = (result["statusCode"], json.loads(result["body"]))
        assert answer == (503, {"error": NOT_CONFIGURED[name]})
    else:
        assert result["statusCode"] == 200, result
    if name == "hello":
        assert json.loads(result["body"]) == {"message": "Hello, World!"}
    if name == "daily-report":
        assert "<h1>Daily report</h1>" in result["body"]
        assert "1,234" in result["body"]
    if name == "stats":
        assert json.loads(result["body"])["json_backend"] == "json"  # ujson not shipped
    if name == "fastapi-app":
        assert json.loads(result["body"]) == {"service": "fastapi-app", "items": 1}


def test_api_post_then_get_items(built: Built, tmp_path: Path) -> None:
    bundle, module = built.zip("api"), built.module("api")
    path = "/.netlify/functions/api/items"
    body = json.dumps({"name": "lamp", "price": 12.5})
    created = invoke(bundle, module, api_event(path, "POST", body), tmp_path / "post")
    assert created["statusCode"] == 201, created
    assert json.loads(created["body"]) == {"name": "lamp", "price": 12.5, "id": 3}
    listed = invoke(bundle, module, api_event(path), tmp_path / "get")
    assert listed["statusCode"] == 200, listed
    assert [item["name"] for item in json.loads(listed["body"])["items"]] == ["towel", "guide"]


def test_fastapi_validates_a_posted_item(built: Built, tmp_path: Path) -> None:
    bundle, module = built.zip("fastapi-app"), built.module("fastapi-app")
    path = "/.netlify/functions/fastapi-app/items"
    good = json.dumps({"name": "  blue   mug ", "price": 3})
    created = invoke(bundle, module, api_event(path, "POST", good), tmp_path / "good")
    assert created["statusCode"] == 201, created
    assert json.loads(created["body"])["name"] == "Blue Mug"
    bad = json.dumps({"name": "mug", "price": -1})
    rejected = invoke(bundle, module, api_event(path, "POST", bad), tmp_path / "bad")
    assert rejected["statusCode"] == 422, rejected


def test_dev_tools_are_installed_but_never_shipped(built: Built) -> None:
    installed = {
        canonicalize_name(p.name[: -len(".dist-info")].rsplit("-", 1)[0])
        for p in site_packages(built.python).glob("*.dist-info")
    }
    dev_tools = {"pytest", "black", "ruff", "mypy", "aws-lambda-typing", "functions-bundler"}
    dev_tools |= {"packaging"}
    assert dev_tools | {"click"} <= installed  # so leaving them out means something
    assert {"pytest", "black", "ruff", "mypy", "aws-lambda-typing"} <= DEV_ONLY_NAMES
    never = DEV_ONLY_NAMES | dev_tools
    for name in FUNCTIONS:
        shipped = zip_distributions(built.zip(name))
        declared = {d["name"] for d in built.entry(name)["distributions"]}
        assert not shipped & never, name
        assert not declared & never, name
        if name != "api":  # only flask needs click
            assert "click" not in shipped, name
        tops = {n.split("/", 1)[0] for n in zip_names(built.zip(name))}
        assert not tops & {"_pytest", "pytest", "black", "mypy", "ruff", "bundler", "packaging"}
        assert not tops & {"aws_lambda_typing", "pluggy", "pygments", "_black_version"}


def test_type_checking_import_is_not_shipped(built: Built) -> None:
    assert zip_names(built.zip("hello")) == ["hello.py"]
    assert built.entry("hello")["distributions"] == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_exact_distributions(built: Built, name: str) -> None:
    assert {d["name"] for d in built.entry(name)["distributions"]} == EXPECTED_DISTRIBUTIONS[name]
    assert zip_distributions(built.zip(name)) == EXPECTED_DISTRIBUTIONS[name]


def test_daily_report_ships_its_template(built: Built) -> None:
    names = zip_names(built.zip("daily-report"))
    assert "templates/report.html.j2" in names
    assert "daily-report.py" in names
    data = {n for n in names if not n.startswith(("jinja2/", "markupsafe/"))}
    data = {n for n in data if ".dist-info/" not in n}
    assert data == {"daily-report.py", "templates/report.html.j2"}


@pytest.mark.parametrize("name", ["quote", "stats"])
def test_shared_lib_is_shipped(built: Built, name: str) -> None:
    assert sorted(zip_names(built.zip(name))) == sorted(
        [f"{name}.py", "lib/__init__.py", "lib/greetings.py", "lib/responses.py"]
    )


def test_todos_ships_the_lib_modules_it_uses(built: Built) -> None:
    names = set(zip_names(built.zip("todos")))
    assert {"todos.py", "lib/__init__.py", "lib/events.py", "lib/responses.py"} <= names
    assert "lib/greetings.py" not in names


def test_manifest_matches_the_zips(built: Built) -> None:
    assert built.manifest["system"]["runtime"] == "python3.11"
    for entry in built.manifest["functions"]:
        bundle = built.out / entry["path"]
        assert entry["runtime"] == "python3.11"
        assert entry["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
        assert entry["zippedSize"] == bundle.stat().st_size
        assert entry["files"] == len(zip_names(bundle))


def test_two_builds_are_identical_byte_for_byte(built: Built) -> None:
    outs = [built.out]
    for folder in ("out-one", "out-two"):
        done = run_bundle(built.site, "--python", str(built.python), "--out", folder)
        assert done.returncode == 0, done.stderr
        outs.append(built.site / folder)
    expected = sorted(p.name for p in built.out.iterdir())
    for out in outs[1:]:
        assert sorted(p.name for p in out.iterdir()) == expected
        for name in expected:
            assert (out / name).read_bytes() == (built.out / name).read_bytes(), name


def test_zips_do_not_depend_on_where_the_venv_lives(built: Built, tmp_path: Path) -> None:
    elsewhere = make_venv(tmp_path / "a-venv-somewhere-else" / "with-a-longer-path")
    pip_install(elsewhere, "-r", str(SAMPLE_SITE / "requirements.txt"))
    done = run_bundle(built.site, "--python", str(elsewhere), "--out", "out-elsewhere")
    assert done.returncode == 0, done.stderr
    differ = [
        name
        for name in FUNCTIONS
        if (built.site / "out-elsewhere" / f"{name}.zip").read_bytes()
        != built.zip(name).read_bytes()
    ]
    assert differ == []


def test_measured_figures(built: Built, tmp_path: Path) -> None:
    site = copy_site(tmp_path / "site")
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        done = run_bundle(site, "--python", str(built.python))
        seconds.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
    packages = site_packages(built.python)
    total = sum(p.stat().st_size for p in packages.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"\nsample_site build (bundle CLI, {len(FUNCTIONS)} functions): median ", end="")
    print(f"{statistics.median(seconds):.2f} s of {', '.join(f'{s:.2f}' for s in seconds)}")
    for entry in built.manifest["functions"]:
        print(
            f"  {entry['name']:<24} zipped {entry['zippedSize']:>10,} B"
            f"  unzipped {entry['unzippedSize']:>11,} B  files {entry['files']:>4}"
        )
    zipped = sum(e["zippedSize"] for e in built.manifest["functions"])
    print(f"  {'total':<24} zipped {zipped:>10,} B")
    print(f"venv site-packages: {total:,} B ({total / 2**20:.1f} MiB)")
    assert statistics.median(seconds) < 30
