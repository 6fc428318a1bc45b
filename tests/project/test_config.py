"""Site configuration: functions folder, include/exclude settings, declared requirements."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement

from bundler.errors import Problem, UsageError
from bundler.project.config import Declared, FunctionSettings, IncludeEntry, SiteConfig

PARSE_HINT = "fix it, or the bundler cannot tell runtime from dev dependencies"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def config_of(tmp_path: Path, files: dict[str, str | bytes]) -> SiteConfig:
    return SiteConfig.from_root(write(tmp_path, files))


def usage_error(tmp_path: Path, files: dict[str, str | bytes]) -> Problem:
    with pytest.raises(UsageError) as caught:
        config_of(tmp_path, files)
    [problem] = caught.value.problems
    return problem


def parse_error(text: str) -> str:
    try:
        Requirement(text)
    except InvalidRequirement as error:
        return str(error).splitlines()[0]
    raise AssertionError(f"{text!r} parses")


def summary(declared: tuple[Declared, ...]) -> list[tuple[str, str, str | None]]:
    return [(str(d.requirement), d.source, d.group) for d in declared]


def test_a_site_without_configuration(tmp_path: Path) -> None:
    config = SiteConfig.from_root(tmp_path)
    assert config == SiteConfig(
        root=tmp_path, defaults=FunctionSettings(source=tmp_path / "pyproject.toml")
    )
    assert config.settings_for("any") == FunctionSettings(source=tmp_path / "pyproject.toml")


# --- the functions folder ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "folder", "source"),
    [
        (
            {"pyproject.toml": '[tool.bundler]\nfunctions = "a/fns"\n'},
            "a/fns",
            "pyproject.toml [tool.bundler] functions",
        ),
        (
            {"pyproject.toml": '[tool.bundler.functions]\ndirectory = "b"\n'},
            "b",
            "pyproject.toml [tool.bundler.functions] directory",
        ),
        (
            {"netlify.toml": '[functions]\ndirectory = "c"\n'},
            "c",
            "netlify.toml [functions] directory",
        ),
        (
            {"netlify.toml": '[build]\nfunctions = "d"\n'},
            "d",
            "netlify.toml [build] functions",
        ),
        (
            {"netlify.toml": '[build]\nfunctions = "d"\n\n[functions]\ndirectory = "c"\n'},
            "c",
            "netlify.toml [functions] directory",
        ),
        (
            {
                "pyproject.toml": '[tool.bundler]\nfunctions = "a"\n',
                "netlify.toml": '[build]\nfunctions = "d"\n[functions]\ndirectory = "c"\n',
            },
            "a",
            "pyproject.toml [tool.bundler] functions",
        ),
        (
            {
                "pyproject.toml": '[tool.bundler.functions]\ndirectory = "b"\n',
                "netlify.toml": '[functions]\ndirectory = "c"\n',
            },
            "b",
            "pyproject.toml [tool.bundler.functions] directory",
        ),
    ],
)
def test_the_functions_folder(
    tmp_path: Path, files: dict[str, str | bytes], folder: str, source: str
) -> None:
    config = config_of(tmp_path, files)
    assert (config.functions_dir, config.functions_dir_source) == (Path(folder), source)


# --- include and exclude -------------------------------------------------------------------


def test_include_and_exclude_are_merged_per_function(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "pyproject.toml": """\
                [tool.bundler]
                include = ["certifi"]
                included_files = ["data/*.json"]
                exclude = ["**/*.md"]

                [tool.bundler.functions]
                directory = "fns"

                [tool.bundler.functions.api]
                include = ["pyjwt"]
                exclude = ["tests/**"]
                schedule = "@daily"
            """,
            "netlify.toml": """\
                [functions]
                included_files = ["templates/**"]

                [functions."mailer"]
                included_files = ["emails/*.html"]
            """,
        },
    )
    pyproject, netlify = tmp_path / "pyproject.toml", tmp_path / "netlify.toml"
    certifi = IncludeEntry("certifi", pyproject, "tool.bundler.include")
    data = IncludeEntry("data/*.json", pyproject, "tool.bundler.included_files")
    templates = IncludeEntry("templates/**", netlify, "functions.included_files")
    emails = IncludeEntry("emails/*.html", netlify, 'functions."mailer".included_files')
    pyjwt = IncludeEntry("pyjwt", pyproject, "tool.bundler.functions.api.include")
    assert config.defaults == FunctionSettings(
        included=(certifi, data, templates), exclude=("**/*.md",), source=pyproject
    )
    assert config.functions == {
        "mailer": FunctionSettings(included=(emails,), source=netlify),
        "api": FunctionSettings(
            included=(pyjwt,), exclude=("tests/**",), schedule="@daily", source=pyproject
        ),
    }
    assert config.settings_for("api") == FunctionSettings(
        included=(certifi, data, templates, pyjwt),
        exclude=("**/*.md", "tests/**"),
        schedule="@daily",
        source=pyproject,
    )
    assert config.settings_for("api").include == (
        "certifi",
        "data/*.json",
        "templates/**",
        "pyjwt",
    )
    assert config.settings_for("mailer") == FunctionSettings(
        included=(certifi, data, templates, emails), exclude=("**/*.md",), source=netlify
    )
    assert config.settings_for("other") == FunctionSettings(
        included=(certifi, data, templates), exclude=("**/*.md",), source=pyproject
    )


def test_a_global_schedule_does_not_reach_functions(tmp_path: Path) -> None:
    config = config_of(tmp_path, {"pyproject.toml": '[tool.bundler]\nschedule = "@daily"\n'})
    assert config.settings_for("api").schedule is None


def test_included_distributions_and_patterns(tmp_path: Path) -> None:
    write(tmp_path, {"templates/base.html": "", "VERSION": "1"})
    include = (
        "certifi",
        "email-validator",
        "templates",
        "VERSION",
        "data/*.json",
        "a?b",
        "[ab]",
        "static/",
        "!drafts/*",
        "!certifi",
    )
    settings = FunctionSettings(
        included=(
            *(IncludeEntry(t, tmp_path / "pyproject.toml") for t in include),
            # netlify.toml's included_files are always paths, even when they look like names
            IncludeEntry("LICENSE", tmp_path / "netlify.toml", "functions.included_files"),
        )
    )
    assert settings.included_distributions(tmp_path) == ("certifi", "email-validator")
    assert [e.text for e in settings.included_patterns(tmp_path)] == [
        "templates",
        "VERSION",
        "data/*.json",
        "a?b",
        "[ab]",
        "static/",
        "!drafts/*",
        "!certifi",
        "LICENSE",
    ]


def test_a_single_string_is_accepted_as_one_entry(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {"pyproject.toml": '[tool.bundler]\ninclude = "certifi"\nexclude = "*.md"\n'},
    )
    assert (config.defaults.include, config.defaults.exclude) == (("certifi",), ("*.md",))


@pytest.mark.parametrize(
    ("files", "message", "hint", "file"),
    [
        (
            {"pyproject.toml": "[tool.bundler]\nexclude = 3\n"},
            "`tool.bundler.exclude` must be a list of strings",
            'write it as exclude = ["..."]',
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": '[tool.bundler]\ninclude = ["a", 1]\n'},
            "`tool.bundler.include` must be a list of strings",
            'write it as include = ["..."]',
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": "[tool.bundler.functions.api]\nexclude = {a = 1}\n"},
            "`tool.bundler.functions.api.exclude` must be a list of strings",
            'write it as exclude = ["..."]',
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": "[tool.bundler.functions.api]\nschedule = 3\n"},
            "`tool.bundler.functions.api.schedule` must be a string",
            'write it as schedule = "@hourly" or a cron expression',
            "pyproject.toml",
        ),
        (
            {"netlify.toml": '[functions."api"]\nincluded_files = true\n'},
            '`functions."api".included_files` must be a list of strings',
            'write it as included_files = ["..."]',
            "netlify.toml",
        ),
        (
            {"netlify.toml": "[functions]\nincluded_files = [1]\n"},
            "`functions.included_files` must be a list of strings",
            'write it as included_files = ["..."]',
            "netlify.toml",
        ),
        (
            {"pyproject.toml": "[tool.bundler.functions]\napi = 3\n"},
            "`tool.bundler.functions.api` must be a table of settings",
            "write it as [tool.bundler.functions.api]",
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": "[tool.bundler]\nfunctions = 3\n"},
            "`tool.bundler.functions` must be a folder name or a table",
            'write functions = "netlify/functions"',
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": "tool = 3\n"},
            "`tool` must be a table",
            "write it as [tool]",
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": '[tool]\nbundler = "x"\n'},
            "`tool.bundler` must be a table",
            "write it as [tool.bundler]",
            "pyproject.toml",
        ),
    ],
)
def test_settings_of_the_wrong_type_are_a_usage_error(
    tmp_path: Path, files: dict[str, str | bytes], message: str, hint: str, file: str
) -> None:
    assert usage_error(tmp_path, files) == Problem(message, file=tmp_path / file, hint=hint)


def test_invalid_toml_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    problem = usage_error(tmp_path, {"netlify.toml": "[build]\nfunctions =\n"})
    assert problem.file == tmp_path / "netlify.toml"
    assert problem.message == "invalid TOML: Invalid value (at line 2, column 12)"
    assert problem.hint == "fix the syntax of this file"


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    problem = usage_error(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\nbad\n"})
    assert problem.line == 3
    assert problem.format(tmp_path).startswith("pyproject.toml:3: invalid TOML: ")


# --- declared requirements -----------------------------------------------------------------


def test_requirements_declared_in_pyproject(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "pyproject.toml": """\
                [project]
                name = "site"
                dependencies = ["requests>=2", "pyjwt[crypto]; python_version >= '3.9'"]

                [project.optional-dependencies]
                test = ["pytest"]
                docs = ["mkdocs"]

                [dependency-groups]
                lint = ["ruff"]
                dev = ["black", {include-group = "lint"}]
            """
        },
    )
    assert summary(config.declared) == [
        ("requests>=2", "[project].dependencies", None),
        ('pyjwt[crypto]; python_version >= "3.9"', "[project].dependencies", None),
        ("mkdocs", "[project.optional-dependencies].docs", "docs"),
        ("pytest", "[project.optional-dependencies].test", "test"),
        ("black", "[dependency-groups].dev", "dev"),
        ("ruff", "[dependency-groups].lint", "lint"),
    ]
    assert [str(d.requirement) for d in config.runtime_requirements] == [
        "requests>=2",
        'pyjwt[crypto]; python_version >= "3.9"',
    ]
    assert [str(d.requirement) for d in config.dev_requirements] == [
        "mkdocs",
        "pytest",
        "black",
        "ruff",
    ]
    assert config.warnings == ()


PIP_COMPILE = """\
    #
    # This file is autogenerated by pip-compile with Python 3.11
    # by the following command:
    #
    #    pip-compile --generate-hashes requirements.in
    #
    -c constraints.txt
    --index-url https://pypi.org/simple
    certifi==2024.2.2 \\
        --hash=sha256:0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f \\
        --hash=sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1
        # via requests
    requests==2.31.0 \\
        --hash=sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f
        # via -r requirements.in
    urllib3==2.2.1 ; python_version >= "3.8"  # via requests
    -r extra.txt
    -e ./local-package
"""


def test_requirements_txt_from_pip_compile(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "requirements.txt": PIP_COMPILE,
            "extra.txt": "# more\nboto3==1.34.0\n--requirement=more.txt\n",
            "more.txt": "\n-r extra.txt\nPyYAML==6.0.1\n",
            "constraints.txt": "never-this==1\n",
        },
    )
    assert summary(config.declared) == [
        ("certifi==2024.2.2", "requirements.txt:9", None),
        ("requests==2.31.0", "requirements.txt:13", None),
        ('urllib3==2.2.1; python_version >= "3.8"', "requirements.txt:16", None),
        ("boto3==1.34.0", "extra.txt:2", None),
        ("PyYAML==6.0.1", "more.txt:3", None),
    ]
    assert config.warnings == ()
    assert config.dev_requirements == ()


def test_requirements_in_and_dev_files(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "requirements.in": "fastapi\nmangum  # the Lambda adapter\n",
            "requirements-dev.txt": "pytest==8.0\n",
            "dev-requirements.in": "black\n",
        },
    )
    assert summary(config.declared) == [
        ("fastapi", "requirements.in:1", None),
        ("mangum", "requirements.in:2", None),
        ("black", "dev-requirements.in:1", "dev-requirements.in"),
        ("pytest==8.0", "requirements-dev.txt:1", "requirements-dev.txt"),
    ]
    assert [d.is_dev for d in config.declared] == [False, False, True, True]


def test_a_dev_file_including_the_runtime_file(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {"requirements.txt": "requests\n", "requirements-dev.txt": "-r requirements.txt\nmypy\n"},
    )
    assert summary(config.declared) == [
        ("requests", "requirements.txt:1", None),
        ("requests", "requirements.txt:1", "requirements-dev.txt"),
        ("mypy", "requirements-dev.txt:2", "requirements-dev.txt"),
    ]
    assert summary(config.runtime_requirements) == [("requests", "requirements.txt:1", None)]


def test_an_unparsable_requirement_is_a_warning_with_file_and_line(tmp_path: Path) -> None:
    config = config_of(tmp_path, {"requirements.txt": "requests\n\nfoo==\nyaml\n"})
    assert [str(d.requirement) for d in config.declared] == ["requests", "yaml"]
    assert config.warnings == (
        Problem(
            f"cannot parse requirement 'foo==': {parse_error('foo==')}",
            file=tmp_path / "requirements.txt",
            line=3,
            hint=PARSE_HINT,
            severity="warning",
        ),
    )
    assert (
        config.warnings[0]
        .format(tmp_path)
        .startswith("requirements.txt:3: cannot parse requirement 'foo==': ")
    )


def test_an_unparsable_requirement_warning_prints_on_one_line(tmp_path: Path) -> None:
    config = config_of(tmp_path, {"requirements.txt": "foo==\n"})
    assert "\n" not in config.warnings[0].format(tmp_path)


def test_an_unparsable_requirement_in_pyproject_is_a_warning_naming_the_file(
    tmp_path: Path,
) -> None:
    config = config_of(
        tmp_path, {"pyproject.toml": '[project]\ndependencies = ["ok", "not valid!"]\n'}
    )
    assert [str(d.requirement) for d in config.declared] == ["ok"]
    [warning] = config.warnings
    assert warning.message == f"cannot parse requirement 'not valid!': {parse_error('not valid!')}"
    assert warning.file == tmp_path / "pyproject.toml"
    assert warning.severity == "warning"
    assert warning.location(tmp_path) == "pyproject.toml"


def test_dependencies_that_are_not_a_list_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        config_of(tmp_path, {"pyproject.toml": '[project]\ndependencies = "requests"\n'})


def test_an_unreadable_requirements_file_is_a_usage_error(tmp_path: Path) -> None:
    problem = usage_error(tmp_path, {"requirements.txt": b"requests\n\xff\n"})
    assert problem.file == tmp_path / "requirements.txt"
    assert problem.message.startswith("cannot read requirements: 'utf-8' codec can't decode")


def test_a_missing_included_requirements_file_is_a_warning(tmp_path: Path) -> None:
    config = config_of(tmp_path, {"requirements.txt": "requests\n-r missing.txt\n"})
    assert config.warnings == (
        Problem(
            "included requirements file 'missing.txt' does not exist",
            file=tmp_path / "requirements.txt",
            line=2,
            hint="fix the path; pip would fail on it",
            severity="warning",
        ),
    )


def test_only_dev_named_requirement_files_are_dev(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "requirements-prod.txt": "gunicorn\n",
            "requirements-test.txt": "pytest\n",
            "requirements/docs.in": "sphinx\n",
        },
    )
    assert summary(config.declared) == [
        ("sphinx", "docs.in:1", "docs.in"),
        ("pytest", "requirements-test.txt:1", "requirements-test.txt"),
    ]
