"""The runtime/extra/dev split of each declaration format, seen through `bundle why` and a
build over real wheels; runtime extras, `include` over dev-only, the project's own package,
and exclude settings (names and file patterns)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import api_event, build_wheel, invoke, make_venv, pip_install, write_tree, zip_names

from bundler.analysis.session import Site
from bundler.build import build
from bundler.cli import main
from bundler.inspection.why import explain

# A site's runtime library, a driver only a runtime extra brings, a dev tool, and a
# distribution with tests and stubs inside (numpy and friends ship theirs).
WHEELS = {
    "webapi": ({"webapi/__init__.py": "import httpcore\nNAME = 'webapi'\n"}, ("httpcore",)),
    "httpcore": ({"httpcore/__init__.py": ""}, ()),
    "pgdriver": ({"pgdriver/__init__.py": "import scrampy\nNAME = 'pg'\n"}, ("scrampy",)),
    "scrampy": ({"scrampy/__init__.py": ""}, ()),
    "testrunner": ({"testrunner/__init__.py": ""}, ("pluggish",)),
    "pluggish": ({"pluggish/__init__.py": ""}, ()),
    "formatter": ({"formatter/__init__.py": ""}, ()),
    "editables": ({"editables/__init__.py": ""}, ()),
    "tidylib": (
        {
            "tidylib/__init__.py": "from tidylib.core import tidy\n",
            "tidylib/core.py": "def tidy(text):\n    return text.strip()\n",
            "tidylib/core.pyi": "def tidy(text: str) -> str: ...\n",
            "tidylib/tests/__init__.py": "",
            "tidylib/tests/test_core.py": "def test_tidy():\n    pass\n",
        },
        (),
    ),
}

FUNCTIONS = {
    "netlify/functions/hello.py": (
        "import webapi\n\n\ndef handler(event, context):\n    return {'statusCode': 200, "
        "'body': webapi.NAME}\n"
    ),
    "netlify/functions/db.py": (
        "import pgdriver\n\n\ndef handler(event, context):\n    return {'statusCode': 200, "
        "'body': pgdriver.NAME}\n"
    ),
}


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding every wheel above, as a site's environment would."""
    folder = tmp_path_factory.mktemp("roles")
    for name, (files, requires) in WHEELS.items():
        build_wheel(folder / "wheels", name, files=files, requires=requires)
    python = make_venv(folder / "venv")
    pip_install(python, "--no-index", "--find-links", str(folder / "wheels"), *WHEELS)
    return python


FORMATS = {
    "poetry": {
        "pyproject.toml": """\
[tool.poetry]
name = "site-poetry"

[tool.poetry.dependencies]
python = "^3.11"
webapi = "^1.0"
pgdriver = { version = "^1.0", optional = true }

[tool.poetry.extras]
postgres = ["pgdriver"]

[tool.poetry.group.dev.dependencies]
testrunner = "*"
""",
    },
    "pipenv": {
        "Pipfile": """\
[packages]
webapi = "*"

[dev-packages]
testrunner = "*"

[postgres]
pgdriver = "*"
""",
    },
    "pdm": {
        "pyproject.toml": """\
[project]
name = "site-pdm"
dependencies = ["webapi>=1"]

[project.optional-dependencies]
postgres = ["pgdriver>=1"]

[tool.pdm.dev-dependencies]
test = ["testrunner>=1"]
""",
    },
    "uv": {
        "pyproject.toml": """\
[project]
name = "site-uv"
dependencies = ["webapi>=1"]

[project.optional-dependencies]
postgres = ["pgdriver>=1"]

[dependency-groups]
dev = ["testrunner>=1"]
""",
        # the lock knows a dev tool that pyproject.toml does not name (e.g. a workspace's)
        "uv.lock": """\
version = 1
revision = 5

[[package]]
name = "site-uv"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "webapi" }]

[package.optional-dependencies]
postgres = [{ name = "pgdriver" }]

[package.dev-dependencies]
dev = [{ name = "testrunner" }, { name = "formatter" }]

[[package]]
name = "webapi"
version = "1.0"
dependencies = [{ name = "httpcore" }]

[[package]]
name = "testrunner"
version = "1.0"
dependencies = [{ name = "pluggish" }]
""",
    },
    "hatch": {
        "pyproject.toml": """\
[project]
name = "site-hatch"
dependencies = ["webapi>=1"]

[project.optional-dependencies]
postgres = ["pgdriver>=1"]

[tool.hatch.envs.default]
dependencies = ["testrunner>=1"]
features = ["postgres"]
""",
    },
    "requirements": {
        "requirements.txt": "webapi>=1\npgdriver>=1\n",
        "requirements-dev.txt": "-r requirements.txt\ntestrunner>=1\n",
    },
}

DEV_SOURCES = {
    "poetry": "[tool.poetry.group.dev.dependencies] (testrunner)",
    "pipenv": "Pipfile [dev-packages] (testrunner)",
    "pdm": "[tool.pdm.dev-dependencies].test (testrunner>=1)",
    "uv": "[dependency-groups].dev (testrunner>=1)",
    "hatch": "[tool.hatch.envs.default].dependencies (testrunner>=1)",
    "requirements": "requirements-dev.txt:2 (testrunner>=1)",
}


@pytest.mark.parametrize("shape", sorted(FORMATS))
def test_each_format_splits_runtime_extras_and_dev(
    shape: str, python: Path, tmp_path: Path
) -> None:
    site = write_tree(tmp_path / shape, {**FORMATS[shape], **FUNCTIONS})
    result = build(site, python=python)
    builds = {b.name: b for b in result.builds}
    assert [p.message for b in builds.values() for p in b.problems] == []
    assert builds["hello"].resolution.names() == ("httpcore", "webapi")
    assert builds["db"].resolution.names() == ("pgdriver", "scrampy")  # only where imported
    for name in ("hello", "db"):
        assert invoke(builds[name].bundle.path, name, api_event(), tmp_path)["statusCode"] == 200

    opened = Site.open(site, python=python)
    for tool in ("testrunner", "pluggish"):
        answer = explain(opened, tool)
        assert answer.role is not None and answer.role.kind == "dev"
        assert answer.role.source == DEV_SOURCES[shape]
        for function in answer.functions:
            assert function.reasons[0].kind == "dev-only", (shape, tool)
            assert function.reasons[0].message == f"dev-only: from {DEV_SOURCES[shape]}"
    driver = explain(opened, "pgdriver").role
    assert driver is not None
    expected = "runtime" if shape == "requirements" else "extra"
    assert (driver.kind, driver.group) == (expected, None if expected == "runtime" else "postgres")


def test_a_lock_file_is_evidence_of_dev_only(python: Path, tmp_path: Path) -> None:
    site = write_tree(tmp_path / "uv", {**FORMATS["uv"], **FUNCTIONS})
    answer = explain(Site.open(site, python=python), "formatter")
    assert answer.role is not None
    assert (answer.role.kind, answer.role.source) == ("dev", "uv.lock group dev")
    assert [f.reasons[0].message for f in answer.functions] == [
        "dev-only: from uv.lock group dev",
        "dev-only: from uv.lock group dev",
    ]


def test_the_header_and_json_say_what_was_read(python: Path, tmp_path: Path) -> None:
    site = write_tree(tmp_path / "uv", {**FORMATS["uv"], **FUNCTIONS})
    said: list[str] = []
    result = build(site, python=python, progress=said.append)
    version = ".".join(map(str, result.environment.interpreter.version))
    assert said[:2] == [
        f"environment: {python} (Python {version}), --python",
        "declarations: pyproject.toml [project], [dependency-groups]; uv.lock",
    ]
    from bundler.cli.report import json_report

    document = json_report(result, site)
    hello = next(f for f in document["functions"] if f["name"] == "hello")
    assert [(d["name"], d["role"]) for d in hello["distributions"]] == [
        (
            "httpcore",
            {"kind": "runtime", "group": None, "source": "[project].dependencies (webapi>=1)"},
        ),
        (
            "webapi",
            {"kind": "runtime", "group": None, "source": "[project].dependencies (webapi>=1)"},
        ),
    ]
    db = next(f for f in document["functions"] if f["name"] == "db")
    assert db["distributions"][0]["role"] == {
        "kind": "extra",
        "group": "postgres",
        "source": "[project.optional-dependencies].postgres (pgdriver>=1)",
    }
    assert document["pythonReason"] == "--python"
    assert document["declarations"] == ["pyproject.toml [project], [dependency-groups]", "uv.lock"]


RUNTIME_EXTRA = """\
[project]
name = "app"
dependencies = ["webapi>=1"]

[project.optional-dependencies]
postgres = ["pgdriver>=1"]
s3 = ["s3client>=1"]
test = ["testrunner>=1"]

[tool.bundler.functions.checks]
include = ["testrunner"]
"""


def test_runtime_extras_ship_where_imported_and_include_overrides_dev_only(
    python: Path, tmp_path: Path
) -> None:
    imports = {
        "netlify/functions/checks.py": "import testrunner\n\n\ndef handler(e, c):\n    return 1\n",
        "netlify/functions/tools.py": "import testrunner\n\n\ndef handler(e, c):\n    return 1\n",
        "netlify/functions/upload.py": "import s3client\n\n\ndef handler(e, c):\n    return 1\n",
    }
    site = write_tree(tmp_path / "site", {"pyproject.toml": RUNTIME_EXTRA, **FUNCTIONS, **imports})
    (site / "uv.lock").write_text(FORMATS["uv"]["uv.lock"])
    builds = {b.name: b for b in build(site, python=python).builds}
    assert builds["db"].resolution.names() == ("pgdriver", "scrampy")
    assert builds["db"].problems == ()  # a feature of the project: no "undeclared" warning
    assert builds["hello"].resolution.names() == ("httpcore", "webapi")
    # `include` of a dev-only distribution ships it to the functions it applies to
    assert builds["checks"].resolution.names() == ("pluggish", "testrunner")
    assert [p.format(site) for p in builds["tools"].errors] == [
        "netlify/functions/tools.py:1: imports 'testrunner' from testrunner, which is a "
        "dev-only dependency (from [project.optional-dependencies].test (testrunner>=1)); "
        "add testrunner to [project].dependencies, or import it only under "
        "`if TYPE_CHECKING:`"
    ]
    prefix = python.parent.parent
    assert [p.format(site) for p in builds["upload"].errors] == [
        "netlify/functions/upload.py:1: cannot find module 's3client' in the environment; "
        "s3client is declared in [project.optional-dependencies].s3, a runtime extra that "
        f"is not installed in {prefix}: install it with `uv sync --extra s3`"
    ]


OWN_PYPROJECT = """\
[project]
name = "Own_Site"
version = "0.1.0"
dependencies = ["webapi>=1"]

[build-system]
requires = ["uv_build>=0.13.9,<0.14.0"]
build-backend = "uv_build"
"""


def _install_editable(site_packages: Path, project: Path) -> None:
    """What `uv sync` writes for a packaged project: a dist-info whose RECORD lists a plain
    `.pth` to `src/`, direct_url.json pointing at the project, `editables` required."""
    info = site_packages / "own_site-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.3\nName: own-site\nVersion: 0.1.0\n"
        "Requires-Dist: webapi>=1\nRequires-Dist: editables\n"
    )
    (info / "INSTALLER").write_text("uv\n")
    direct = {"url": project.as_uri(), "dir_info": {"editable": True}}
    (info / "direct_url.json").write_text(json.dumps(direct))
    (site_packages / "own_site.pth").write_text(f"{project / 'src'}\n")
    names = [
        "own_site.pth",
        *(f"own_site-0.1.0.dist-info/{n}" for n in ("METADATA", "INSTALLER", "direct_url.json")),
    ]
    (info / "RECORD").write_text("\n".join([*names, "own_site-0.1.0.dist-info/RECORD,,"]) + "\n")


def test_the_projects_own_package_is_first_party(python: Path, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    wheels = tmp_path / "wheels"
    for name in ("webapi", "httpcore", "editables"):
        files, requires = WHEELS[name]
        build_wheel(wheels, name, files=files, requires=requires)
    pip_install(venv, "--no-index", "--find-links", str(wheels), "webapi", "httpcore", "editables")
    site = write_tree(
        tmp_path / "odd path" / "site",  # direct_url.json percent-encodes the space
        {
            "pyproject.toml": OWN_PYPROJECT,
            "src/own_site/__init__.py": "from own_site.greeting import GREETING\n",
            "src/own_site/greeting.py": "import webapi\n\nGREETING = 'hi from ' + webapi.NAME\n",
            "src/own_site/unused.py": "import pgdriver\n",
            "netlify/functions/own.py": (
                "from own_site import GREETING\n\n\ndef handler(event, context):\n"
                "    return {'statusCode': 200, 'body': GREETING}\n"
            ),
        },
    )
    site_packages = next(venv.parent.parent.glob("lib/python3*/site-packages"))
    _install_editable(site_packages, site)
    result = build(site, python=venv)
    (own,) = result.builds
    assert own.problems == ()  # never "add own-site to [project].dependencies"
    assert own.resolution.names() == ("httpcore", "webapi")  # not editables, not pgdriver
    names = zip_names(own.bundle.path)
    assert [n for n in names if not n.startswith(("webapi", "httpcore"))] == [
        "own.py",
        "own_site/__init__.py",
        "own_site/greeting.py",
    ]
    assert invoke(own.bundle.path, "own", api_event(), tmp_path)["body"] == "hi from webapi"
    answer = explain(Site.open(site, python=venv), "own-site")
    assert answer.role is not None and answer.role.describe() == (
        "the project itself (first-party code)"
    )
    assert [r.kind for r in answer.functions[0].reasons] == ["project"]


def test_exclude_file_patterns_drop_files_and_the_record_says_so(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "pyproject.toml": (
                '[project]\nname = "app"\ndependencies = ["tidylib"]\n\n'
                '[tool.bundler]\nexclude = ["**/tests/**", "*.pyi"]\n'
            ),
            "netlify/functions/tidy.py": (
                "from tidylib import tidy\n\n\ndef handler(event, context):\n"
                "    return {'statusCode': 200, 'body': tidy('  ok  ')}\n"
            ),
        },
    )
    (tidy,) = build(site, python=python).builds
    assert tidy.problems == ()
    names = zip_names(tidy.bundle.path)
    assert [n for n in names if not n.startswith("tidylib-1.0.dist-info")] == [
        "tidy.py",
        "tidylib/__init__.py",
        "tidylib/core.py",
    ]
    with zipfile.ZipFile(tidy.bundle.path) as archive:
        record = archive.read("tidylib-1.0.dist-info/RECORD").decode()
    listed = sorted(row[0] for row in csv.reader(io.StringIO(record)) if row)
    assert listed == sorted(n for n in names if n.startswith("tidylib"))  # exactly what ships
    assert [(p, e.arcname, e.owner) for p, e in tidy.contents.dropped] == [
        ("*.pyi", "tidylib/core.pyi", "tidylib"),
        ("**/tests/**", "tidylib/tests/__init__.py", "tidylib"),
        ("**/tests/**", "tidylib/tests/test_core.py", "tidylib"),
    ]
    assert invoke(tidy.bundle.path, "tidy", api_event(), tmp_path)["body"] == "ok"
    # the manifest keeps what each pattern saved, also when the zip comes from the cache
    dropped = [
        {"pattern": "**/tests/**", "files": 2, "bytes": 26},
        {"pattern": "*.pyi", "files": 1, "bytes": 32},
    ]
    manifest = site / "dist" / "functions" / "manifest.json"
    assert json.loads(manifest.read_text())["functions"][0]["droppedFiles"] == dropped
    first = manifest.read_bytes()
    (again,) = build(site, python=python).builds
    assert again.cached and manifest.read_bytes() == first
    # and the audit shows it
    monkeypatch.chdir(site)
    audited = CliRunner().invoke(main, ["audit", "--json"])
    assert audited.exit_code == 0, audited.output
    assert json.loads(audited.stdout)["functions"][0]["droppedFiles"] == dropped
    text = CliRunner().invoke(main, ["audit"]).stdout
    assert (
        "  saved by exclude patterns (unzipped): **/tests/** 2 files 26 B, *.pyi 1 files 32 B"
        in text
    )


def test_a_pattern_that_drops_a_whole_distribution_is_an_error(
    python: Path, tmp_path: Path
) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "pyproject.toml": '[project]\nname = "app"\ndependencies = ["tidylib"]\n\n'
            '[tool.bundler]\nexclude = ["tidylib/**"]\n',
            "netlify/functions/tidy.py": "import tidylib\n\n\ndef handler(e, c):\n    return 1\n",
        },
    )
    (tidy,) = build(site, python=python).builds
    assert [p.format(site) for p in tidy.errors] == [
        'pyproject.toml: the exclude patterns "tidylib/**" drop every file of tidylib, which '
        "a function needs; exclude the distribution by name (tidylib) if the runtime "
        "provides it, or narrow the pattern"
    ]


def test_an_exclude_naming_nothing_installed_is_a_warning(python: Path, tmp_path: Path) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "pyproject.toml": '[project]\nname = "app"\ndependencies = ["webapi"]\n\n'
            '[tool.bundler]\nexclude = ["webap", "boto3"]\n',
            **FUNCTIONS,
        },
    )
    result = build(site, python=python)
    prefix = python.parent.parent
    assert [p.format(site) for p in result.warnings if "exclude" in p.message] == [
        f"pyproject.toml: exclude names 'webap', which is not installed in {prefix}; did you "
        "mean 'webapi'? remove it, or write a file pattern with a `/` or `*` (e.g. "
        '"**/tests/**") to drop files from shipped distributions',
        f"pyproject.toml: exclude names 'boto3', which is not installed in {prefix}; remove "
        'it, or write a file pattern with a `/` or `*` (e.g. "**/tests/**") to drop files '
        "from shipped distributions",
    ]
