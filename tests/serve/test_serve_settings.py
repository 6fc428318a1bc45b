"""Serve's settings (limits per function, publish, [build.environment]) and the variables a
worker sees (the env file, the shell's own values, Lambda's reserved ones)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bundler.errors import UsageError
from bundler.project.discover import Function
from bundler.serve.settings import ServeConfig
from bundler.serve.variables import (
    LAMBDA_PATH,
    LambdaIdentity,
    read_env_file,
    site_variables,
    worker_environment,
)


def function(name: str, kind: str = "sync") -> Function:
    return Function(
        name=name, main_file=Path(f"{name}.py"), layout="file", kind=kind, handler_line=1
    )  # type: ignore[arg-type]


def site(tmp_path: Path, pyproject: str = "", netlify: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(pyproject))
    (tmp_path / "netlify.toml").write_text(textwrap.dedent(netlify))
    return tmp_path


def test_netlify_limits_by_kind(tmp_path: Path) -> None:
    config = ServeConfig.from_root(site(tmp_path))
    limits = {
        kind: config.limits_for(function(name, kind))
        for kind, name in (
            ("sync", "a"),
            ("scheduled", "b"),
            ("event", "deploy-succeeded"),
            ("background", "c-background"),
        )
    }
    assert {k: (v.timeout, v.memory) for k, v in limits.items()} == {
        "sync": (60.0, 1024),
        "scheduled": (30.0, 1024),
        "event": (60.0, 1024),
        "background": (900.0, 1024),
    }
    # an event-triggered background function has the background limit
    assert config.limits_for(function("deploy-succeeded-background", "event")).timeout == 900.0


def test_limits_from_both_files_most_specific_first(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        """
        [tool.bundler]
        timeout = 20
        [tool.bundler.functions.slow]
        timeout = 120
        """,
        """
        [functions]
        memory = 512
        timeout = 10
        [functions."slow"]
        memory = 2048
        timeout = 5
        [functions."small"]
        memory = 256
        """,
    )
    config = ServeConfig.from_root(root)
    assert config.limits_for(function("slow")).timeout == 120.0
    assert config.limits_for(function("slow")).memory == 2048
    assert (
        config.limits_for(function("small")).timeout,
        config.limits_for(function("small")).memory,
    ) == (20.0, 256)
    assert (
        config.limits_for(function("other")).timeout,
        config.limits_for(function("other")).memory,
    ) == (20.0, 512)


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        (
            "[tool.bundler]\ntimeout = 0\n",
            "`tool.bundler.timeout` must be a number of seconds from 1 to 900, not 0",
        ),
        (
            "[tool.bundler.functions.f]\nmemory = 64\n",
            "`tool.bundler.functions.f.memory` must be a whole number of MB from 128 to 10240, "
            "not 64",
        ),
        (
            '[tool.bundler]\nmemory = "1GB"\n',
            "`tool.bundler.memory` must be a whole number of MB from 128 to 10240, not '1GB'",
        ),
    ],
)
def test_bad_limits(tmp_path: Path, pyproject: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        ServeConfig.from_root(site(tmp_path, pyproject))
    (problem,) = caught.value.problems
    assert (problem.message, problem.file) == (message, tmp_path / "pyproject.toml")


def test_publish_and_build_environment(tmp_path: Path) -> None:
    (tmp_path / "public").mkdir()
    root = site(
        tmp_path,
        netlify="""
        [build]
        publish = "public"
        [build.environment]
        GREETING = "hi"
        RETRIES = 3
        DEBUG = true
        """,
    )
    config = ServeConfig.from_root(root)
    assert config.publish == tmp_path / "public"
    assert config.environment == {"GREETING": "hi", "RETRIES": "3", "DEBUG": "true"}


def test_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        textwrap.dedent(
            """\
            # a comment
            PLAIN=value
            export EXPORTED = spaced   # trailing comment
            SINGLE='no $escapes\\n here'
            DOUBLE="line one\\nline \\"two\\""
            MULTI="first
            second"
            EMPTY=
            HASH=a#b
            not a variable
            """
        )
    )
    values, problems = read_env_file(env)
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "spaced",
        "SINGLE": "no $escapes\\n here",
        "DOUBLE": 'line one\nline "two"',
        "MULTI": "first\nsecond",
        "EMPTY": "",
        "HASH": "a#b",
    }
    assert [(p.message, p.line, p.severity) for p in problems] == [
        ("not a KEY=value line; it is ignored", 10, "warning")
    ]


def test_netlify_toml_then_env_file_then_the_shell(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=from-env\nB=from-env\n")
    variables = site_variables({"A": "toml", "C": "toml"}, env, {"B": "shell", "Z": "other"})
    assert variables.values == {"A": "from-env", "B": "shell", "C": "toml"}
    assert variables.sources == {
        "A": ".env",
        "B": "the shell",
        "C": "netlify.toml [build.environment]",
    }
    missing = site_variables({}, tmp_path / "absent.env", {})
    assert missing.values == {} and missing.warnings == ()


def test_the_worker_environment(tmp_path: Path) -> None:
    identity = LambdaIdentity(
        function="hello",
        handler="hello.handler",
        runtime="python3.11",
        memory=512,
        runtime_api="127.0.0.1:4000",
        task_root=tmp_path / "task",
        runtime_dir=tmp_path / "ric",
        python_path=(tmp_path / "provided", tmp_path / "ric"),
    )
    process = {
        "HOME": "/root",
        "PATH": "/venv/bin:/usr/bin",
        "PYTHONPATH": "/somewhere",
        "PYTHONHOME": "/x",
        "VIRTUAL_ENV": "/venv",
        "AWS_REGION": "eu-west-3",
        "SHELL_ONLY": "1",
    }
    environment = worker_environment(
        identity,
        {"MONGODB_URI": "mongodb://x", "PYTHONPATH": "/evil"},
        process,
        "http://localhost:9999",
    )
    assert environment["SHELL_ONLY"] == "1" and environment["MONGODB_URI"] == "mongodb://x"
    assert "VIRTUAL_ENV" not in environment and "PYTHONHOME" not in environment
    assert environment["PYTHONPATH"] == f"{tmp_path}/provided:{tmp_path}/ric"
    assert environment["PATH"] == LAMBDA_PATH
    assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"] == "us-east-1"
    assert {
        k: environment[k]
        for k in (
            "_HANDLER",
            "AWS_EXECUTION_ENV",
            "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_RUNTIME_API",
            "LAMBDA_TASK_ROOT",
            "LAMBDA_RUNTIME_DIR",
            "TZ",
            "LANG",
            "NETLIFY_DEV",
            "URL",
        )
    } == {
        "_HANDLER": "hello.handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_LAMBDA_FUNCTION_NAME": "hello",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/hello",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:4000",
        "LAMBDA_TASK_ROOT": str(tmp_path / "task"),
        "LAMBDA_RUNTIME_DIR": str(tmp_path / "ric"),
        "TZ": "UTC",
        "LANG": "en_US.UTF-8",
        "NETLIFY_DEV": "true",
        "URL": "http://localhost:9999",
    }
    assert environment["AWS_LAMBDA_LOG_STREAM_NAME"].count("/[$LATEST]") == 1
    assert "TMPDIR" not in environment
