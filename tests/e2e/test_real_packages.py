"""About thirty functions over real PyPI packages: every hard case of the design, run for real.

tests/fixtures/real_site is a site whose functions each exercise one package at import
time and in the handler. Its pinned requirements (runtime, plus the `dev` extra: pytest
and black) are downloaded as wheels Lambda's python3.11 can load (manylinux2014, glibc
2.17 <= Amazon Linux 2's 2.26), installed into one virtualenv, and built with
`bundle build --python`. Every bundle is then unzipped and its handler called in
`python -I -S` with only the bundle on `sys.path`.

Run with `-s` to see the build time and each function's zipped size.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from support import (
    FIXTURES,
    api_event,
    invoke,
    make_venv,
    pinned_names,
    pip_install,
    zip_distributions,
    zip_names,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.version_info[:2] != (3, 11) or sys.platform != "linux",
        reason="the real site's pins are for CPython 3.11 on Linux",
    ),
]

REAL_SITE = FIXTURES / "real_site"
BUNDLE = Path(sys.executable).parent / "bundle"
TARGET_GLIBC = (2, 26)  # python3.11 Lambda runs on Amazon Linux 2

SQLALCHEMY = {"sqlalchemy", "typing-extensions"}
# sqlalchemy[postgresql-pg8000] is declared, so the extra goes with sqlalchemy everywhere.
PG8000 = {"pg8000", "scramp", "asn1crypto", "python-dateutil", "six"}
REQUESTS = {"requests", "urllib3", "idna", "certifi", "charset-normalizer"}
CRYPTOGRAPHY = {"cryptography", "cffi", "pycparser"}

# function -> the exact distributions its zip holds
EXPECTED: dict[str, set[str]] = {
    "attrs-define": {"attrs"},
    "boto3-s3": {
        "boto3",
        "botocore",
        "jmespath",
        "s3transfer",
        "python-dateutil",
        "six",
        "urllib3",
    },
    "bs4-select": {"beautifulsoup4", "soupsieve", "typing-extensions"},
    "bson-roundtrip": {"pymongo", "dnspython"},
    "certifi-bundle": {"certifi"},
    "charset-detect": {"charset-normalizer"},
    "click-command": {"click"},
    "dateutil-parse": {"python-dateutil", "six"},
    "dotenv-values": {"python-dotenv"},
    "fernet": CRYPTOGRAPHY,
    "google-rpc-status": {"googleapis-common-protos", "protobuf"},
    "handler-body-import": {"msgpack"},
    "httpx-mock": {"httpx", "httpcore", "h11", "anyio", "idna", "certifi", "typing-extensions"},
    "idna-encode": {"idna"},
    "import-module-yaml": {"pyyaml"},
    "jinja2-render": {"jinja2", "markupsafe"},
    "jwt-rs256": {"pyjwt"} | CRYPTOGRAPHY,  # through pyjwt[crypto]
    "markdown-tables": {"markdown"},
    "metadata-version": REQUESTS,
    "numpy-linalg": {"numpy"},
    "optional-ujson": set(),
    "orjson-dumps": {"orjson"},
    "packaging-version": {"packaging"},
    "pillow-image": {"pillow"},
    "protobuf-struct": {"protobuf"},  # not googleapis-common-protos, its google.* neighbour
    "pydantic-email": {
        "pydantic",
        "pydantic-core",
        "annotated-types",
        "typing-extensions",
        "typing-inspection",
        "email-validator",  # through pydantic[email]
        "dnspython",
        "idna",
    },
    "requests-prepare": REQUESTS,
    "six-moves": {"six"},
    "sqlalchemy-pg8000": SQLALCHEMY | PG8000,
    "sqlalchemy-sqlite": SQLALCHEMY | PG8000,
    "type-checking-pandas": set(),
    "urllib3-parse": {"urllib3"},
    "uvicorn-protocols": {"uvicorn", "click", "h11"},
    "yaml-load": {"pyyaml"},
}

# Files that prove a hard case made it into the zip (data files, native libraries,
# entry points, metadata read at run time).
EXPECTED_FILES: dict[str, list[str]] = {
    "certifi-bundle": ["certifi/cacert.pem"],
    "boto3-s3": [
        "botocore/data/endpoints.json",
        "botocore/data/s3/2006-03-01/service-2.json.gz",
        "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
        "boto3/data/s3/2006-03-01/resources-1.json",
    ],
    "dateutil-parse": ["dateutil/zoneinfo/dateutil-zoneinfo.tar.gz"],
    "google-rpc-status": ["google/rpc/status_pb2.py", "google/protobuf/message.py"],
    "markdown-tables": ["markdown/extensions/tables.py"],
    "sqlalchemy-pg8000": ["pg8000/__init__.py", "sqlalchemy/dialects/postgresql/pg8000.py"],
    "six-moves": ["six.py"],
    "attrs-define": ["attr/__init__.py", "attrs/__init__.py"],
    "uvicorn-protocols": ["uvicorn/protocols/http/h11_impl.py", "h11/__init__.py"],
}
EXPECTED_PREFIXES: dict[str, list[str]] = {
    "numpy-linalg": ["numpy.libs/libscipy_openblas"],
    "pillow-image": ["pillow.libs/libjpeg", "pillow.libs/libwebp", "PIL/_imaging."],
    "markdown-tables": ["markdown-3."],  # .dist-info/entry_points.txt, checked below
    "jwt-rs256": ["cryptography/hazmat/bindings/_rust."],
}


RUNTIME_NAMES = pinned_names(REAL_SITE / "requirements.txt")
DEV_ONLY_NAMES = pinned_names(REAL_SITE / "requirements-dev.txt") - RUNTIME_NAMES


def glibc_needed(tag_line: str) -> tuple[int, int] | None:
    """The oldest glibc a WHEEL `Tag:` can load on; (0, 0) for pure; None if unknown."""
    needed: list[tuple[int, int]] = []
    for tag in parse_tag(tag_line):
        legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
        match = re.match(r"manylinux_(\d+)_(\d+)_", tag.platform)
        if tag.platform == "any":
            needed.append((0, 0))
        elif match:
            needed.append((int(match[1]), int(match[2])))
        elif tag.platform.split("_", 1)[0] in legacy:
            needed.append(legacy[tag.platform.split("_", 1)[0]])
    return min(needed) if needed else None


def wheel_glibc(bundle: Path) -> dict[str, tuple[int, int] | None]:
    """Distribution -> oldest glibc its shipped wheel loads on (from .dist-info/WHEEL)."""
    found = {}
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            top, _, rest = name.partition("/")
            if top.endswith(".dist-info") and rest == "WHEEL":
                tags = [
                    line.split(":", 1)[1].strip()
                    for line in archive.read(name).decode().splitlines()
                    if line.startswith("Tag:")
                ]
                dist = canonicalize_name(top.removesuffix(".dist-info").rsplit("-", 1)[0])
                levels = [glibc_needed(t) for t in tags]
                found[dist] = min((v for v in levels if v is not None), default=None)
    return found


def run_bundle(site: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUNDLE), "build", *arguments],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def download_lambda_wheels(destination: Path, *arguments: str) -> None:
    """Wheels for python3.11 Lambda (x86_64 or arm64), as `pip download --platform` picks."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--dest", str(destination), "--only-binary=:all:",
            "--platform", f"manylinux2014_{platform.machine()}",
            "--python-version", platform.python_version(),
            "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none",
            *arguments,
        ],
        check=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Built:
    site: Path
    python: Path
    out: Path
    manifest: dict[str, Any]
    report: dict[str, Any]
    seconds: float
    install_seconds: float

    def entry(self, name: str) -> dict[str, Any]:
        (found,) = (f for f in self.manifest["functions"] if f["name"] == name)
        return found

    def zip(self, name: str) -> Path:
        return self.out / self.entry(name)["path"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("real")
    requirements = ("-r", str(REAL_SITE / "requirements.txt"))
    requirements += ("-r", str(REAL_SITE / "requirements-dev.txt"))
    start = time.perf_counter()
    download_lambda_wheels(tmp / "wheels", *requirements)
    python = make_venv(tmp / "venv")
    pip_install(python, "--no-index", "--find-links", str(tmp / "wheels"), *requirements)
    install_seconds = time.perf_counter() - start

    site = shutil.copytree(
        REAL_SITE, tmp / "real_site", ignore=shutil.ignore_patterns("dist", "__pycache__")
    )
    start = time.perf_counter()
    done = run_bundle(site, "--python", str(python), "--json")
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr + done.stdout
    out = site / "dist" / "functions"
    return Built(
        site=site,
        python=python,
        out=out,
        manifest=json.loads((out / "manifest.json").read_text()),
        report=json.loads(done.stdout),
        seconds=seconds,
        install_seconds=install_seconds,
    )


def test_every_function_builds_without_problems(built: Built) -> None:
    assert [f["name"] for f in built.manifest["functions"]] == sorted(EXPECTED)
    assert built.report["ok"] is True
    assert built.report["warnings"] == []
    assert {f["name"]: f["problems"] for f in built.report["functions"] if f["problems"]} == {}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_handler_answers_200(built: Built, name: str, tmp_path: Path) -> None:
    entry = built.entry(name)
    module = str(entry["handler"]).removesuffix(".handler")
    result = invoke(built.zip(name), module, api_event(f"/.netlify/functions/{name}"), tmp_path)
    assert result["statusCode"] == 200, result


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_distributions(built: Built, name: str) -> None:
    assert {d["name"] for d in built.entry(name)["distributions"]} == EXPECTED[name]
    assert zip_distributions(built.zip(name)) == EXPECTED[name]


def test_hard_case_files_are_in_the_zips(built: Built) -> None:
    for name, files in EXPECTED_FILES.items():
        names = set(zip_names(built.zip(name)))
        assert set(files) <= names, (name, set(files) - names)
    for name, prefixes in EXPECTED_PREFIXES.items():
        names = zip_names(built.zip(name))
        for prefix in prefixes:
            assert any(n.startswith(prefix) for n in names), (name, prefix)
    markdown = zip_names(built.zip("markdown-tables"))
    assert any(n.endswith(".dist-info/entry_points.txt") for n in markdown)
    for name in ("metadata-version", "requests-prepare"):
        assert any(
            re.fullmatch(r"requests-[^/]+\.dist-info/METADATA", n)
            for n in zip_names(built.zip(name))
        )


def test_namespace_split_ships_only_the_owner(built: Built) -> None:
    protobuf = zip_names(built.zip("protobuf-struct"))
    assert "google/protobuf/struct_pb2.py" in protobuf
    assert not any(n.startswith(("google/rpc/", "google/api/", "google/type/")) for n in protobuf)


@pytest.mark.parametrize("name", ["optional-ujson", "type-checking-pandas"])
def test_absent_optional_and_type_only_imports_ship_nothing(built: Built, name: str) -> None:
    assert zip_names(built.zip(name)) == [f"{name}.py"]


def test_no_dev_tool_pandas_or_ujson_in_any_zip(built: Built) -> None:
    site_packages = next(built.python.parent.parent.glob("lib/python3*/site-packages"))
    installed = {
        canonicalize_name(p.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        for p in site_packages.glob("*.dist-info")
    }
    assert {"pytest", "black", "pluggy", "iniconfig", "pathspec"} <= DEV_ONLY_NAMES
    assert installed >= DEV_ONLY_NAMES  # the dev tools are really there to leave out
    assert not installed & {"pandas", "ujson"}
    never = DEV_ONLY_NAMES | {"pandas", "ujson", "functions-bundler"}
    for entry in built.manifest["functions"]:
        shipped = zip_distributions(built.out / entry["path"])
        assert not shipped & never, entry["name"]
        tops = {n.split("/", 1)[0] for n in zip_names(built.out / entry["path"])}
        assert not tops & {"pytest", "_pytest", "black", "pandas", "ujson", "pluggy"}


def test_every_shipped_wheel_loads_on_python311_lambda(built: Built) -> None:
    too_new = {}
    for entry in built.manifest["functions"]:
        for dist, glibc in wheel_glibc(built.out / entry["path"]).items():
            if glibc is None or glibc > TARGET_GLIBC:
                too_new[dist] = glibc
    assert too_new == {}


def test_manifest_matches_the_zips(built: Built) -> None:
    for entry in built.manifest["functions"]:
        bundle = built.out / entry["path"]
        assert entry["runtime"] == "python3.11"
        assert entry["zippedSize"] == bundle.stat().st_size
        assert entry["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()


def test_report_figures(built: Built) -> None:
    functions = built.manifest["functions"]
    print(
        f"\nreal_site: {len(functions)} functions built in {built.seconds:.2f} s "
        f"(wheels downloaded and installed in {built.install_seconds:.1f} s)"
    )
    for entry in functions:
        print(
            f"  {entry['name']:<22} zipped {entry['zippedSize']:>11,} B"
            f"  unzipped {entry['unzippedSize']:>12,} B  dists {len(entry['distributions']):>2}"
        )
    total = sum(e["zippedSize"] for e in functions)
    print(f"  {'total':<22} zipped {total:>11,} B")
    assert built.seconds < 120


def test_wheel_too_new_for_the_target_glibc_is_reported(tmp_path: Path) -> None:
    """pillow 12.2.0's manylinux_2_27/2_28 wheel, what pip picks on a newer host."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--dest", str(tmp_path / "wheels"), "--no-deps", "--only-binary=:all:",
            "--platform", f"manylinux_2_28_{platform.machine()}",
            "--python-version", platform.python_version(),
            "--implementation", "cp", "--abi", "cp311", "pillow==12.2.0",
        ],
        check=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "wheels").glob("pillow-*.whl")
    assert "manylinux_2_28" in wheel.name and "manylinux2014" not in wheel.name
    python = make_venv(tmp_path / "venv")
    pip_install(python, "--no-deps", str(wheel))
    site = tmp_path / "site"
    (site / "netlify" / "functions").mkdir(parents=True)
    (site / "pyproject.toml").write_text(
        '[project]\nname = "s"\nversion = "0"\ndependencies = ["pillow"]\n'
    )
    (site / "netlify" / "functions" / "thumb.py").write_text(
        "from PIL import Image\n\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': str(Image.new('RGB', (1, 1)).size)}\n"
    )
    done = run_bundle(site, "--python", str(python), "--json")
    assert done.stdout.strip(), done.stderr  # a report, whether the check warns or fails
    report = json.loads(done.stdout)
    problems = [p for f in report["functions"] for p in f["problems"]] + report["warnings"]
    messages = [f"{p['message']} {p['hint'] or ''}" for p in problems]
    assert any(
        re.search("pillow", m, re.IGNORECASE) and re.search("glibc|manylinux", m) for m in messages
    ), messages
