"""Every declaration format, read into requirements with their roles, and the lock files.

The fixtures are excerpts of what uv 0.13, Poetry 2.5, Pipenv 2026.10, PDM 2.29 and Hatch
1.18 wrote for real projects (trimmed to the tables that matter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import write_tree

from bundler.errors import UsageError
from bundler.project.config import SiteConfig
from bundler.project.declared import Declared, Manager


def _roles(config: SiteConfig) -> list[tuple[str, str, str | None, str]]:
    return [(d.name, d.kind, d.group, d.source) for d in config.declared]


def _read(tmp_path: Path, files: dict[str, str]) -> SiteConfig:
    return SiteConfig.from_root(write_tree(tmp_path / "site", files))


POETRY_CLASSIC = """\
[tool.poetry]
name = "site-poetry-classic"
version = "0.1.0"
packages = [{ include = "site_poetry_classic" }]

[tool.poetry.dependencies]
python = "^3.11"
requests = "^2.31"
pg8000 = { version = "^1.30", optional = true }
colorama = { version = "*", markers = "sys_platform == 'win32'" }
pyjwt = { version = "^2", extras = ["crypto"] }

[tool.poetry.extras]
postgres = ["pg8000"]

[tool.poetry.group.dev.dependencies]
pytest = "^8.0 || ^9.0"

[tool.poetry.group.typing]
optional = true

[tool.poetry.group.typing.dependencies]
mypy = "*"
"""


def test_poetry_classic_main_and_extras_are_runtime_groups_are_dev(tmp_path: Path) -> None:
    config = _read(tmp_path, {"pyproject.toml": POETRY_CLASSIC})
    assert _roles(config) == [
        ("requests", "runtime", None, "[tool.poetry.dependencies]"),
        ("colorama", "runtime", None, "[tool.poetry.dependencies]"),
        ("pyjwt", "runtime", None, "[tool.poetry.dependencies]"),
        ("pg8000", "extra", "postgres", "[tool.poetry.extras].postgres"),
        ("pytest", "dev", "dev", "[tool.poetry.group.dev.dependencies]"),
        ("mypy", "dev", "typing", "[tool.poetry.group.typing.dependencies]"),
    ]
    colorama, pyjwt = config.declared[1].requirement, config.declared[2].requirement
    assert str(colorama.marker) == 'sys_platform == "win32"'
    assert pyjwt.extras == {"crypto"}
    assert config.declarations.sources == ("pyproject.toml [tool.poetry]",)
    assert config.declarations.project_name == "site-poetry-classic"
    assert config.declarations.manager == Manager("poetry", "[tool.poetry.dependencies]")


def test_poetry_old_dev_dependencies(tmp_path: Path) -> None:
    pyproject = """\
        [tool.poetry]
        name = "site-poetry-old"

        [tool.poetry.dependencies]
        python = "^3.11"
        requests = "^2.31"

        [tool.poetry.dev-dependencies]
        pytest = "*"
        black = "*"
    """
    config = _read(tmp_path, {"pyproject.toml": pyproject.replace("        ", "")})
    assert _roles(config) == [
        ("requests", "runtime", None, "[tool.poetry.dependencies]"),
        ("pytest", "dev", "dev", "[tool.poetry.dev-dependencies]"),
        ("black", "dev", "dev", "[tool.poetry.dev-dependencies]"),
    ]


PIPFILE = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
requests = "*"
pyjwt = {version = "*", extras = ["crypto"]}

[dev-packages]
pytest = "*"

[requires]
python_version = "3.11"

[postgres]
pg8000 = "*"

[tests]
hypothesis = "*"
"""


def test_pipfile_packages_dev_packages_and_categories(tmp_path: Path) -> None:
    config = _read(tmp_path, {"Pipfile": PIPFILE})
    assert _roles(config) == [
        ("requests", "runtime", None, "Pipfile [packages]"),
        ("pyjwt", "runtime", None, "Pipfile [packages]"),
        ("pytest", "dev", "dev-packages", "Pipfile [dev-packages]"),
        ("pg8000", "extra", "postgres", "Pipfile [postgres]"),
        ("hypothesis", "dev", "tests", "Pipfile [tests]"),  # a dev tool's name
    ]
    assert config.declarations.sources == (
        "Pipfile [packages], [dev-packages], [postgres], [tests]",
    )
    assert config.declarations.manager == Manager("pipenv", "Pipfile [packages]")
    assert config.declarations.manager.install_extra("postgres") == (
        "pipenv install --categories postgres"
    )


def test_pdm_legacy_dev_dependencies_beside_pep_735(tmp_path: Path) -> None:
    pyproject = """\
        [project]
        name = "site-pdm-legacy"
        dependencies = ["requests>=2.31"]

        [project.optional-dependencies]
        postgres = ["pg8000>=1.30"]

        [tool.pdm.dev-dependencies]
        test = ["pytest>=8", "-e file:///${PROJECT_ROOT}/packages/helper"]
        lint = ["black>=24"]

        [dependency-groups]
        dev = ["iniconfig>=2.3.1"]
    """
    config = _read(tmp_path, {"pyproject.toml": pyproject.replace("        ", "")})
    assert _roles(config) == [
        ("requests", "runtime", None, "[project].dependencies"),
        ("pg8000", "extra", "postgres", "[project.optional-dependencies].postgres"),
        ("iniconfig", "dev", "dev", "[dependency-groups].dev"),
        ("black", "dev", "lint", "[tool.pdm.dev-dependencies].lint"),
        ("pytest", "dev", "test", "[tool.pdm.dev-dependencies].test"),
    ]
    assert config.warnings == ()  # the `-e` line is the project's own path, not an error
    assert config.declarations.sources == (
        "pyproject.toml [project], [dependency-groups], [tool.pdm.dev-dependencies]",
    )
    assert config.declarations.manager.install_extra("postgres") == "pdm install -G postgres"


def test_uv_legacy_dev_dependencies_and_include_group(tmp_path: Path) -> None:
    pyproject = """\
        [project]
        name = "site-uv-legacy"
        dependencies = ["requests>=2.31"]

        [project.optional-dependencies]
        postgres = ["pg8000>=1.30"]
        test = ["pytest>=8"]

        [dependency-groups]
        lint = ["black>=24"]
        typing = ["mypy>=1.10", {include-group = "lint"}]

        [tool.uv]
        dev-dependencies = ["coverage>=7"]
    """
    config = _read(tmp_path, {"pyproject.toml": pyproject.replace("        ", "")})
    assert _roles(config) == [
        ("requests", "runtime", None, "[project].dependencies"),
        ("pg8000", "extra", "postgres", "[project.optional-dependencies].postgres"),
        ("pytest", "dev", "test", "[project.optional-dependencies].test"),
        ("black", "dev", "lint", "[dependency-groups].lint"),
        ("mypy", "dev", "typing", "[dependency-groups].typing"),
        ("coverage", "dev", "dev", "[tool.uv].dev-dependencies"),
    ]
    assert config.declarations.manager.install_extra("postgres") == "uv sync --extra postgres"


def test_hatch_environments_are_dev_and_features_stay_extras(tmp_path: Path) -> None:
    pyproject = """\
        [project]
        name = "site-hatch"
        dependencies = ["requests>=2.31"]

        [project.optional-dependencies]
        postgres = ["pg8000>=1.30"]

        [tool.hatch.envs.default]
        dependencies = ["pytest>=8", "black>=24", "helper @ {root:uri}/helper"]
        features = ["postgres"]

        [tool.hatch.envs.types]
        extra-dependencies = ["mypy>=1.0.0"]
    """
    config = _read(tmp_path, {"pyproject.toml": pyproject.replace("        ", "")})
    assert _roles(config) == [
        ("requests", "runtime", None, "[project].dependencies"),
        ("pg8000", "extra", "postgres", "[project.optional-dependencies].postgres"),
        ("pytest", "dev", "default", "[tool.hatch.envs.default].dependencies"),
        ("black", "dev", "default", "[tool.hatch.envs.default].dependencies"),
        ("mypy", "dev", "types", "[tool.hatch.envs.types].extra-dependencies"),
    ]
    assert config.declarations.manager.name == "hatch"


def test_extras_are_features_unless_named_like_dev_tools_or_listed(tmp_path: Path) -> None:
    pyproject = """\
        [project]
        name = "app"
        dependencies = []

        [project.optional-dependencies]
        postgres = ["pg8000"]
        Docs = ["sphinx"]
        integration = ["moto"]

        [tool.bundler]
        dev-groups = ["integration"]
    """
    config = _read(tmp_path, {"pyproject.toml": pyproject.replace("        ", "")})
    assert [(d.name, d.kind) for d in config.declared] == [
        ("sphinx", "dev"),
        ("moto", "dev"),
        ("pg8000", "extra"),
    ]
    assert config.declarations.sources == ("pyproject.toml [project]",)


def test_requirement_files_are_sources_and_pip_manages_them(tmp_path: Path) -> None:
    config = _read(
        tmp_path,
        {
            "requirements.txt": "requests>=2.31\npg8000>=1.30\n",
            "requirements-dev.txt": "-r requirements.txt\npytest>=8\n",
        },
    )
    assert [(d.name, d.kind, d.source) for d in config.declared] == [
        ("requests", "runtime", "requirements.txt:1"),
        ("pg8000", "runtime", "requirements.txt:2"),
        ("requests", "dev", "requirements.txt:1"),  # -r: runtime wins over it
        ("pg8000", "dev", "requirements.txt:2"),
        ("pytest", "dev", "requirements-dev.txt:2"),
    ]
    assert config.declarations.sources == ("requirements.txt", "requirements-dev.txt")
    assert config.declarations.manager == Manager("pip", "requirements.txt")
    assert config.declarations.manager.install_extra("s3") == "pip install -e '.[s3]'"


def test_a_site_without_declarations_reads_nothing(tmp_path: Path) -> None:
    config = _read(tmp_path, {"netlify.toml": "[build]\npublish = 'public'\n"})
    assert config.declared == ()
    assert config.declarations.sources == ()


# -- lock files ----------------------------------------------------------------------------

UV_LOCK = """\
version = 1
revision = 5
requires-python = ">=3.11"

[[package]]
name = "site-uv"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[package.optional-dependencies]
postgres = [{ name = "pg8000" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }, { name = "Requests", extra = ["socks"] }]

[[package]]
name = "requests"
version = "2.34.2"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "urllib3" }]

[package.optional-dependencies]
socks = [{ name = "pysocks" }]

[[package]]
name = "pg8000"
version = "1.31.6"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "scramp" }]

[[package]]
name = "pytest"
version = "9.2.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "pluggy" }, { name = "colorama", marker = "sys_platform == 'win32'" }]
"""

POETRY_LOCK = """\
[[package]]
name = "pg8000"
version = "1.31.6"
optional = true
groups = ["main"]
markers = "extra == \\"postgres\\""

[[package]]
name = "requests"
version = "2.34.2"
optional = false
groups = ["main"]

[[package]]
name = "packaging"
optional = false
groups = ["main", "dev"]

[[package]]
name = "pytest"
optional = false
groups = ["dev"]

[[package]]
name = "colorama"
optional = false
groups = ["dev"]
markers = {dev = "sys_platform == \\"win32\\""}

[extras]
postgres = ["pg8000"]

[metadata]
lock-version = "2.1"
python-versions = "^3.11"
"""

PDM_LOCK = """\
[metadata]
groups = ["default", "dev", "postgres"]
strategy = ["inherit_metadata"]
lock_version = "4.5.1"

[[package]]
name = "requests"
groups = ["default"]

[[package]]
name = "pg8000"
groups = ["postgres"]

[[package]]
name = "pytest"
groups = ["dev"]

[[package]]
name = "packaging"
groups = ["default", "dev"]
"""

PIPFILE_LOCK = {
    "_meta": {"pipfile-spec": 6},
    "default": {"requests": {"version": "==2.34.2"}, "urllib3": {"version": "==2.8.0"}},
    "develop": {"pytest": {"version": "==9.2.0"}, "urllib3": {"version": "==2.8.0"}},
    "postgres": {"pg8000": {"version": "==1.31.6"}},
}


@pytest.mark.parametrize(
    ("name", "text", "runtime", "extras", "dev_only"),
    [
        (
            "uv.lock",
            UV_LOCK,
            {"requests", "urllib3"},
            {"postgres": {"pg8000", "scramp"}},
            {
                "pytest": ("uv.lock group dev", "dev"),
                "pluggy": ("uv.lock group dev", "dev"),
                "colorama": ("uv.lock group dev", "dev"),
                "pysocks": ("uv.lock group dev", "dev"),  # requests[socks] only for dev
            },
        ),
        (
            "poetry.lock",
            POETRY_LOCK,
            {"requests", "packaging"},
            {"postgres": {"pg8000"}},
            {
                "pytest": ("poetry.lock group dev", "dev"),
                "colorama": ("poetry.lock group dev", "dev"),
            },
        ),
        (
            "pdm.lock",
            PDM_LOCK,
            {"requests", "packaging"},
            {"postgres": {"pg8000"}},
            {"pytest": ("pdm.lock group dev", "dev")},
        ),
        (
            "Pipfile.lock",
            json.dumps(PIPFILE_LOCK),
            {"requests", "urllib3"},
            {"postgres": {"pg8000"}},
            {"pytest": ("Pipfile.lock group develop", "develop")},
        ),
    ],
)
def test_lock_files_split_runtime_extras_and_dev(
    tmp_path: Path,
    name: str,
    text: str,
    runtime: set[str],
    extras: dict[str, set[str]],
    dev_only: dict[str, tuple[str, str]],
) -> None:
    pyproject = '[project]\nname = "site-uv"\n[project.optional-dependencies]\npostgres = []\n'
    config = _read(tmp_path, {name: text, "pyproject.toml": pyproject})
    (lock,) = config.declarations.locks
    assert lock.file == tmp_path / "site" / name
    assert lock.runtime == runtime
    assert lock.extras == extras
    assert lock.dev_only() == dev_only
    assert config.declarations.sources[-1] == name


def test_old_locks_without_labels_give_no_evidence(tmp_path: Path) -> None:
    old_poetry = (
        '[[package]]\nname = "pytest"\ncategory = "dev"\n[metadata]\nlock-version = "2.0"\n'
    )
    old_pdm = '[metadata]\nstrategy = ["cross_platform"]\n[[package]]\nname = "pytest"\n'
    config = _read(tmp_path, {"poetry.lock": old_poetry, "pdm.lock": old_pdm})
    assert config.declarations.locks == ()
    assert config.warnings == ()


def test_a_broken_lock_file_is_a_warning(tmp_path: Path) -> None:
    config = _read(tmp_path, {"Pipfile.lock": "{not json", "uv.lock": "version = 1\n["})
    assert config.declarations.locks == ()
    assert [(p.severity, p.file, p.message.split(":")[0]) for p in config.warnings] == [
        ("warning", tmp_path / "site" / "uv.lock", "cannot read the lock file"),
        ("warning", tmp_path / "site" / "Pipfile.lock", "cannot read the lock file"),
    ]
    assert config.warnings[0].hint == (
        "lock again with its tool; the declarations alone are used meanwhile"
    )


# -- settings that say when they are wrong -------------------------------------------------


def test_unknown_settings_are_errors_with_did_you_mean(tmp_path: Path) -> None:
    pyproject = """\
        [tool.bundler]
        exlude = ["boto3"]
        runtme = "python3.12"

        [tool.bundler.functions.api]
        includ = ["data/*.json"]
    """
    with pytest.raises(UsageError) as raised:
        _read(tmp_path, {"pyproject.toml": pyproject.replace("        ", "")})
    known = (
        "the settings are arch, dev-groups, exclude, functions, include, included_files, "
        "memory, python, runtime, schedule, timeout"
    )
    assert [(p.message, p.hint) for p in raised.value.problems] == [
        ("unknown setting `exlude` in [tool.bundler]", f"did you mean `exclude`? {known}"),
        ("unknown setting `runtme` in [tool.bundler]", f"did you mean `runtime`? {known}"),
    ]
    fixed = pyproject.replace("exlude", "exclude").replace("runtme", "runtime")
    with pytest.raises(UsageError) as raised:
        _read(tmp_path / "again", {"pyproject.toml": fixed.replace("        ", "")})
    assert [(p.message, p.hint) for p in raised.value.problems] == [
        (
            "unknown setting `includ` in [tool.bundler.functions.api]",
            "did you mean `include`? the settings are exclude, include, included_files, "
            "memory, schedule, timeout",
        )
    ]


def test_exclude_file_patterns_are_checked_before_any_work(tmp_path: Path) -> None:
    pyproject = '[tool.bundler]\nexclude = ["boto3", "**/tests/**", "*.pyi", "../x/*"]\n'
    with pytest.raises(UsageError) as raised:
        _read(tmp_path, {"pyproject.toml": pyproject})
    (problem,) = raised.value.problems
    assert "../x/*" in problem.message
    ok = _read(tmp_path / "ok", {"pyproject.toml": pyproject.replace(', "../x/*"', "")})
    assert ok.defaults.excluded_distributions == ("boto3",)
    assert ok.defaults.excluded_files == ("**/tests/**", "*.pyi")


def test_declared_keeps_its_positional_shape() -> None:
    """bundle serve builds Declared(requirement, source) for the runtime's packages."""
    from packaging.requirements import Requirement

    declared = Declared(requirement=Requirement("Boto3"), source="the Lambda runtime")
    assert (declared.name, declared.kind, declared.is_dev) == ("boto3", "runtime", False)
