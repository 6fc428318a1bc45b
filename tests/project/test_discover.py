"""Discovery: Netlify's layout rules, kinds, schedules, triggers and handlers, read statically."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import support
from build_support import run

from bundler.errors import BundlerError, Problem, UsageError
from bundler.project.config import FunctionSettings, SiteConfig
from bundler.project.discover import NAME_RULE, Discovery, Function, discover_functions
from bundler.project.source import SourceMemo

F = "netlify/functions"
HANDLER = "def handler(event, context):\n    return {'statusCode': 200}\n"
TWO_SOURCES_HINT = "keep one of them; rename or delete the other"
BAD_NAME = "names may use only letters, digits, '-' and '_'"
BAD_NAME_HINT = "rename the file or folder; Netlify refuses other names at deploy time"
NO_HANDLER = "no top-level `handler` defined"
NO_HANDLER_HINT = (
    "define `def handler(event, context):` or assign one, e.g. `handler = Mangum(app)`"
)
CONFIG_HINT = 'write it as config = {"schedule": "@hourly"}'
CRON_HINT = 'write five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1"'


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def discover(root: Path, directory: str = F) -> Discovery:
    return discover_functions(root / directory, SiteConfig.from_root(root))


def names(found: Discovery) -> list[str]:
    return [f.name for f in found.functions]


def only(found: Discovery) -> Function:
    assert found.failures == {}
    [function] = found.functions
    return function


def failure(found: Discovery, name: str) -> Problem:
    [problem] = found.failures[name]
    return problem


# --- layouts -------------------------------------------------------------------------------


def test_the_three_layouts(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            f"{F}/one.py": HANDLER,
            f"{F}/two/two.py": HANDLER,
            f"{F}/two/helper.py": "",
            f"{F}/three/index.py": HANDLER,
        },
    )
    found = discover(root)
    assert found.failures == {}
    assert found.warnings == ()
    one, three, two = found.functions
    assert (one.name, one.main_file, one.layout) == ("one", root / F / "one.py", "file")
    assert (two.name, two.main_file, two.layout) == ("two", root / F / "two/two.py", "directory")
    assert (three.name, three.main_file, three.layout) == (
        "three",
        root / F / "three/index.py",
        "directory",
    )
    assert (one.folder, one.module, one.handler) == (root / F, "one", "one.handler")
    assert (three.folder, three.module, three.handler) == (
        root / F / "three",
        "index",
        "index.handler",
    )
    assert [f.kind for f in found.functions] == ["sync", "sync", "sync"]
    assert [f.invocation_mode for f in found.functions] == [None, None, None]
    assert one.handler_line == 1
    assert one.config == {}
    assert one.schedule is None and one.trigger is None


def test_names_are_case_sensitive(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            f"{F}/Hello.py": HANDLER,
            f"{F}/hello.py": HANDLER,
            f"{F}/Other/other.py": HANDLER,  # NAME/NAME.py needs the same case
            f"{F}/Index/Index.py": HANDLER,
        },
    )
    assert names(discover(root)) == ["Hello", "Index", "hello"]


def test_hidden_private_and_non_python_entries_are_ignored(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            f"{F}/api.py": HANDLER,
            f"{F}/.hidden.py": HANDLER,
            f"{F}/.hidden/index.py": HANDLER,
            f"{F}/_private.py": HANDLER,
            f"{F}/_shared/index.py": HANDLER,
            f"{F}/__init__.py": "",
            f"{F}/__pycache__/api.cpython-311.py": HANDLER,
            f"{F}/README.md": "functions",
            f"{F}/data/readme.txt": "",
            f"{F}/lib/util.py": "",
        },
    )
    assert names(discover(root)) == ["api"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("my.func.py", "my.func"),
        ("my func.py", "my func"),
        ("café.py", "café"),
        ("my.func/index.py", "my.func"),
        ("a+b/a+b.py", "a+b"),
        ("ok\n.py", "ok\n"),  # `$` would match before the newline
        ("ok\n/index.py", "ok\n"),
        ("ok .py", "ok "),
        ("naïve.py", "naïve"),
        ("\uff4f\uff4b.py", "\uff4f\uff4b"),  # fullwidth letters: still not ASCII
    ],
)
def test_names_outside_the_rule_are_an_error_naming_the_file(
    tmp_path: Path, path: str, name: str
) -> None:
    root = write(tmp_path, {f"{F}/{path}": HANDLER, f"{F}/ok_name-2.py": HANDLER})
    found = discover(root)
    assert names(found) == ["ok_name-2"]
    assert found.failures == {
        name: (
            Problem(
                f"function name {name!r} is not allowed: {BAD_NAME}",
                file=root / F / path,
                function=name,
                hint=BAD_NAME_HINT,
            ),
        )
    }
    assert failure(found, name).format(root) == (
        f"{F}/{path}: function name {name!r} is not allowed: {BAD_NAME}; {BAD_NAME_HINT}"
    )


@pytest.mark.parametrize(
    ("files", "listed"),
    [
        (["a.py", "a/index.py"], "a/index.py and a.py"),
        (["a/a.py", "a/index.py"], "a/a.py and a/index.py"),
    ],
)
def test_two_sources_for_one_name_is_an_error_naming_both(
    tmp_path: Path, files: list[str], listed: str
) -> None:
    root = write(tmp_path, {f"{F}/{f}": HANDLER for f in [*files, "b.py"]})
    found = discover(root)
    assert names(found) == ["b"]
    problem = failure(found, "a")
    assert problem.message == f"function 'a' has two sources: {listed}"
    assert problem.hint == TWO_SOURCES_HINT
    assert problem.function == "a"
    assert problem.file in {root / F / f for f in files}


def test_three_sources_for_one_name(tmp_path: Path) -> None:
    root = write(tmp_path, {f"{F}/a.py": HANDLER, f"{F}/a/a.py": HANDLER, f"{F}/a/index.py": ""})
    assert failure(discover(root), "a").message == (
        "function 'a' has two sources: a/a.py and a/index.py and a.py"
    )


def test_a_missing_functions_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        discover(tmp_path)
    assert caught.value.problems == (
        Problem(
            "the functions folder does not exist",
            file=tmp_path / F,
            hint="create it, or name another with FUNCTIONS_DIR or [tool.bundler] functions",
        ),
    )
    assert caught.value.problems[0].format(tmp_path) == (
        f"{F}: the functions folder does not exist; "
        "create it, or name another with FUNCTIONS_DIR or [tool.bundler] functions"
    )


def test_an_empty_functions_folder_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, {f"{F}/_private.py": HANDLER, f"{F}/notes.txt": ""})
    with pytest.raises(UsageError) as caught:
        discover(tmp_path)
    assert caught.value.problems == (
        Problem(
            "the functions folder has no functions",
            file=tmp_path / F,
            hint="add NAME.py, NAME/NAME.py or NAME/index.py with a top-level `handler`",
        ),
    )
    assert caught.value.exit_code == 2


def test_a_failure_in_one_function_does_not_hide_the_others(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            f"{F}/a.py": HANDLER,
            f"{F}/b.py": "def handler(event, context)\n",
            f"{F}/c.py": "x = 1\n",
            f"{F}/d/index.py": HANDLER,
        },
    )
    found = discover(root)
    assert names(found) == ["a", "d"]
    assert found.failures == {
        "b": (
            Problem(
                "syntax error: expected ':'",
                file=root / F / "b.py",
                line=1,
                function="b",
                hint="fix the syntax; the bundler reads your code without running it",
            ),
        ),
        "c": (Problem(NO_HANDLER, file=root / F / "c.py", function="c", hint=NO_HANDLER_HINT),),
    }


# --- kinds ---------------------------------------------------------------------------------


def test_background_functions(tmp_path: Path) -> None:
    root = write(tmp_path, {f"{F}/report-background.py": HANDLER})
    function = only(discover(root))
    assert (function.kind, function.invocation_mode) == ("background", "background")


def test_a_literal_config_makes_a_scheduled_function_without_importing_it(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {
            f"{F}/nightly.py": """\
                raise SystemExit("the bundler must never import this file")
                config = {"schedule": "@hourly", "tags": ["/a", "/b"], "retries": 3}
                def handler(event, context):
                    return {}
            """
        },
    )
    function = only(discover(root))
    assert function.kind == "scheduled"
    assert function.schedule == "@hourly"
    assert function.config == {"schedule": "@hourly", "tags": ["/a", "/b"], "retries": 3}
    assert function.handler_line == 3


def test_an_annotated_config_is_read(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {f"{F}/cron.py": f'config: dict = {{"schedule": "0 9 * * MON-FRI"}}\n{HANDLER}'},
    )
    function = only(discover(root))
    assert (function.kind, function.schedule) == ("scheduled", "0 9 * * MON-FRI")


def test_a_config_without_schedule_is_kept(tmp_path: Path) -> None:
    root = write(tmp_path, {f"{F}/api.py": f'config = {{"path": "/api/*"}}\n{HANDLER}'})
    function = only(discover(root))
    assert (function.kind, function.config) == ("sync", {"path": "/api/*"})


def test_a_non_literal_config_is_an_error_with_its_line(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {f"{F}/cron.py": f'import os\nconfig = {{"schedule": os.environ["S"]}}\n{HANDLER}'},
    )
    assert failure(discover(root), "cron") == Problem(
        "`config` must be a literal dict: the bundler reads it without running your code",
        file=root / F / "cron.py",
        line=2,
        function="cron",
        hint=CONFIG_HINT,
    )


def test_a_config_with_an_unhashable_key_is_an_error(tmp_path: Path) -> None:
    source = f'config = {{"schedule": "@daily", [1]: 2}}\n{HANDLER}'
    root = write(tmp_path, {f"{F}/cron.py": source})
    assert failure(discover(root), "cron").line == 1


def test_a_schedule_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path, {f"{F}/cron.py": f'\nconfig = {{"schedule": 5}}\n{HANDLER}'})
    assert failure(discover(root), "cron") == Problem(
        "`config['schedule']` must be a string",
        file=root / F / "cron.py",
        line=2,
        function="cron",
        hint=CONFIG_HINT,
    )


@pytest.mark.parametrize(
    "source",
    [
        # the Aurora DSQL connector's README: connection settings built from os.environ
        'import os\nconfig = {"host": os.environ.get("HOST", "x"), "user": "admin"}\n',
        'config = ["@hourly"]\n',
        "config = {[1]: 2}\n",
        "import json\nconfig = json.loads('{}')\n",
        "config: dict\n",
    ],
)
def test_a_config_without_netlify_keys_is_the_codes_own(tmp_path: Path, source: str) -> None:
    root = write(tmp_path, {f"{F}/db.py": source + HANDLER})
    found = discover(root)
    function = only(found)
    assert (function.kind, function.config, found.warnings) == ("sync", {}, ())


def test_an_invalid_schedule_in_the_source_is_an_error_with_its_line(tmp_path: Path) -> None:
    root = write(tmp_path, {f"{F}/cron.py": f'\nconfig = {{"schedule": "60 * * * *"}}\n{HANDLER}'})
    assert failure(discover(root), "cron") == Problem(
        "schedule '60 * * * *': '60' is out of range for the minute field (0-59)",
        file=root / F / "cron.py",
        line=2,
        function="cron",
        hint=CRON_HINT,
    )


def test_a_schedule_from_pyproject(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": """\
                [tool.bundler.functions]
                directory = "api"

                [tool.bundler.functions.nightly]
                schedule = "@daily"
            """,
            "api/nightly.py": HANDLER,
            "api/other.py": HANDLER,
        },
    )
    config = SiteConfig.from_root(root)
    assert config.functions_dir == Path("api")
    found = discover_functions(root / "api", config)
    nightly, other = found.functions
    assert (nightly.kind, nightly.schedule) == ("scheduled", "@daily")
    assert nightly.settings == FunctionSettings(schedule="@daily", source=root / "pyproject.toml")
    assert (other.kind, other.schedule) == ("sync", None)


def test_a_schedule_from_netlify_toml(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "netlify.toml": '[functions."nightly-background"]\nschedule = "0 0 * * *"\n',
            f"{F}/nightly-background/index.py": HANDLER,
        },
    )
    function = only(discover(root))
    assert (function.kind, function.schedule) == ("scheduled", "0 0 * * *")
    assert function.invocation_mode == "background"
    assert function.settings.source == root / "netlify.toml"


def test_the_same_schedule_in_source_and_configuration_is_accepted(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "netlify.toml": '[functions.cron]\nschedule = "@daily"\n',
            f"{F}/cron.py": f'config = {{"schedule": "@daily"}}\n{HANDLER}',
        },
    )
    assert only(discover(root)).schedule == "@daily"


def test_conflicting_schedules_are_an_error(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": '[tool.bundler.functions.cron]\nschedule = "@daily"\n',
            f"{F}/cron.py": f'"""Doc."""\nconfig = {{"schedule": "@hourly"}}\n{HANDLER}',
        },
    )
    assert failure(discover(root), "cron") == Problem(
        "two schedules: '@hourly' in the source and '@daily' in pyproject.toml",
        file=root / F / "cron.py",
        line=2,
        function="cron",
        hint="keep one of them",
    )


def test_conflicting_schedules_in_two_configuration_files_are_an_error(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": '[tool.bundler.functions.cron]\nschedule = "@daily"\n',
            "netlify.toml": '[functions.cron]\nschedule = "@hourly"\n',
            f"{F}/cron.py": HANDLER,
        },
    )
    with pytest.raises(BundlerError):
        discover(root)


def test_an_invalid_schedule_in_the_configuration_names_that_file(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "netlify.toml": '[functions.cron]\nschedule = "@every5m"\n',
            f"{F}/cron.py": HANDLER,
        },
    )
    assert failure(discover(root), "cron") == Problem(
        "unknown schedule '@every5m'; use one of "
        "@yearly, @annually, @monthly, @weekly, @daily, @hourly",
        file=root / "netlify.toml",
        function="cron",
        hint=CRON_HINT,
    )


def test_settings_for_an_unknown_function_are_a_warning(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "netlify.toml": '[functions.ghost]\nschedule = "@daily"\n',
            f"{F}/real.py": HANDLER,
        },
    )
    found = discover(root)
    assert names(found) == ["real"]
    assert found.warnings == (
        Problem(
            "settings for function 'ghost', which does not exist",
            file=root / "netlify.toml",
            hint="fix the name or remove the settings",
            severity="warning",
        ),
    )


@pytest.mark.parametrize(
    ("name", "trigger", "kind", "mode"),
    [
        ("deploy-succeeded", "deploy-succeeded", "event", None),
        ("Deploy-Succeeded", "deploy-succeeded", "event", None),
        ("submission-created", "submission-created", "event", None),
        ("split-test-modified", "split-test-modified", "event", None),
        ("identity-signup-background", "identity-signup", "event", "background"),
        ("Identity-Login-background", "identity-login", "event", "background"),
        ("deploy-succeeded-later", None, "sync", None),
        ("identity", None, "sync", None),
    ],
)
def test_event_triggered_names(
    tmp_path: Path, name: str, trigger: str | None, kind: str, mode: str | None
) -> None:
    root = write(tmp_path, {f"{F}/{name}.py": HANDLER})
    function = only(discover(root))
    assert (function.trigger, function.kind, function.invocation_mode) == (trigger, kind, mode)


def test_a_schedule_wins_over_a_trigger_name(tmp_path: Path) -> None:
    root = write(
        tmp_path, {f"{F}/deploy-failed.py": f'config = {{"schedule": "@weekly"}}\n{HANDLER}'}
    )
    function = only(discover(root))
    assert (function.kind, function.trigger) == ("scheduled", "deploy-failed")


# --- handlers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("def handler(event, context):\n    return {}\n", 1),
        ("from mangum import Mangum\napp = object()\nhandler = Mangum(app)\n", 3),
        ("from typing import Any\n\nhandler: Any = lambda event, context: {}\n", 3),
        ("from app.lambda_entry import handler\n", 1),
        ("from app import entry as handler\n", 1),
        ("import handler\n", 1),
        ("class handler:\n    pass\n", 1),
        ("app = handler = object()\n", 1),
        ("import os\nif os.environ.get('X'):\n    handler = 1\nelse:\n    handler = 2\n", 3),
        ("import os\nif os.environ.get('X'):\n    pass\nelse:\n    handler = 2\n", 5),
        ("try:\n    from fast import handler\nexcept ImportError:\n    pass\n", 2),
        ("try:\n    pass\nexcept ImportError:\n    def handler(e, c):\n        pass\n", 4),
        ("try:\n    pass\nfinally:\n    handler = 1\n", 4),
    ],
)
def test_handlers_are_found(tmp_path: Path, source: str, line: int) -> None:
    root = write(tmp_path, {f"{F}/api.py": source})
    assert only(discover(root)).handler_line == line


@pytest.mark.parametrize(
    "source",
    [
        "def main(event, context):\n    pass\n",
        "def outer():\n    def handler(event, context):\n        pass\n",
        "class App:\n    handler = 1\n",
        "handler_ = 1\n",
        "",
    ],
)
def test_a_missing_handler_is_an_error_with_a_hint(tmp_path: Path, source: str) -> None:
    root = write(tmp_path, {f"{F}/api.py": source})
    problem = failure(discover(root), "api")
    assert problem == Problem(
        NO_HANDLER, file=root / F / "api.py", function="api", hint=NO_HANDLER_HINT
    )
    assert problem.format(root) == f"{F}/api.py: {NO_HANDLER}; {NO_HANDLER_HINT}"


def test_an_async_handler_is_an_error(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {f"{F}/api.py": "import asyncio\n\nasync def handler(event, context):\n    pass\n"},
    )
    assert failure(discover(root), "api") == Problem(
        "`handler` is an `async def`; Lambda calls handler(event, context) and would get a "
        "coroutine back",
        file=root / F / "api.py",
        line=3,
        function="api",
        hint="make it a plain `def` that calls asyncio.run(...), or use an adapter such as mangum",
    )


def test_the_functions_folder_from_the_site_configuration(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": '[tool.bundler]\nfunctions = "backend/fns"\n',
            "backend/fns/a.py": HANDLER,
        },
    )
    config = SiteConfig.from_root(root)
    assert config.functions_dir is not None
    found = discover_functions(root / config.functions_dir, config)
    assert names(found) == ["a"]


def test_the_name_rule_is_a_full_match() -> None:
    # manifest reading uses the same rule: a name that passes it never becomes a path
    assert [NAME_RULE.match(n) is not None for n in ["ok", "ok\n", "\nok", "o/k", ""]] == [
        True,
        False,
        False,
        False,
        False,
    ]


# --- handlers bound in every way Python allows ---------------------------------------------


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("handler, other = make(), 1\n", 1),
        ("(first, [second, *handler]) = 1, [2, 3]\n", 1),
        ("with open('x') as handler:\n    pass\n", 1),
        ("with a() as x, b() as (y, handler):\n    pass\n", 1),
        ("(handler := make())\n", 1),
        ("values = [(handler := v) for v in range(3)]\n", 1),
        ("if (handler := make()):\n    pass\n", 1),
        ("for handler in [make()]:\n    pass\n", 1),
        ("import app.entry as handler\n", 1),
        ("import handler.sub\n", 1),
        ("x = 1\nmatch x:\n    case 0:\n        pass\n    case handler:\n        pass\n", 5),
        ("match [1]:\n    case [first, *handler]:\n        pass\n", 2),
        ("match {}:\n    case {'a': 1, **handler}:\n        pass\n", 2),
        ("match 1:\n    case int() as handler:\n        pass\n", 2),
        ("while True:\n    handler = make()\n    break\n", 2),
        ("with open('x'):\n    handler = make()\n", 2),
        ("x: int\nhandler: object = make()\n", 2),
        ("async def handler(event, context):\n    pass\nhandler = sync(handler)\n", 1),
    ],
)
def test_every_top_level_binding_of_handler_is_accepted(
    tmp_path: Path, source: str, line: int
) -> None:
    root = write(tmp_path, {f"{F}/api.py": source})
    assert only(discover(root)).handler_line == line


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    pass\nexcept ValueError as handler:\n    pass\n",  # deleted after the clause
        "run = lambda: (handler := 1)\n",  # the lambda's own name
        "def setup():\n    global handler\n    handler = 1\nsetup()\n",
        "class App:\n    handler = 1\n",
        "app.handler = 1\nroutes['handler'] = 2\n",
    ],
)
def test_bindings_outside_the_module_scope_are_not_a_handler(tmp_path: Path, source: str) -> None:
    root = write(tmp_path, {f"{F}/api.py": source})
    assert failure(discover(root), "api") == Problem(
        NO_HANDLER, file=root / F / "api.py", function="api", hint=NO_HANDLER_HINT
    )


@pytest.mark.parametrize(
    ("source", "line", "what"),
    [
        ("from typing import Callable\nhandler: Callable\n", 2, "an annotation"),
        ("handler += 1\n", 1, "an augmented assignment"),
    ],
)
def test_a_handler_never_assigned_is_an_error_that_says_so(
    tmp_path: Path, source: str, line: int, what: str
) -> None:
    root = write(tmp_path, {f"{F}/api.py": source})
    assert failure(discover(root), "api") == Problem(
        f"`handler` is never assigned at the top level: line {line} has only {what}",
        file=root / F / "api.py",
        line=line,
        function="api",
        hint=NO_HANDLER_HINT,
    )


def test_a_handler_from_a_star_import_is_an_error_with_a_hint(tmp_path: Path) -> None:
    root = write(tmp_path, {f"{F}/api.py": "import os\nfrom app.entry import *\n"})
    assert failure(discover(root), "api") == Problem(
        "no top-level `handler` the bundler can see: `from ... import *` may define it, "
        "but which names it binds is known only by running it",
        file=root / F / "api.py",
        line=2,
        function="api",
        hint="import it by name: `from module import handler`",
    )


def test_the_last_binding_of_handler_decides_an_async_def(tmp_path: Path) -> None:
    source = "def handler(event, context):\n    pass\n\nasync def handler(event, context):\n"
    root = write(tmp_path, {f"{F}/api.py": source + "    pass\n"})
    problem = failure(discover(root), "api")
    assert (problem.line, problem.message.startswith("`handler` is an `async def`")) == (4, True)


@pytest.mark.parametrize("branches", [1000, 2000])
def test_a_handler_at_the_end_of_a_long_elif_chain_is_found(tmp_path: Path, branches: int) -> None:
    chain = "".join(f"elif x == {i}:\n    pass\n" for i in range(branches))
    source = f"x = 1\nif x == -1:\n    pass\n{chain}else:\n    handler = make()\n"
    source += 'config = {"schedule": "@daily"}\n'
    root = write(tmp_path, {f"{F}/api.py": source})
    function = only(discover(root))
    assert (function.handler_line, function.schedule) == (3 + 2 * branches + 2, "@daily")


# --- `config` bound twice, annotated, or bound by other statements -------------------------


def test_config_assigned_twice_uses_the_last_with_a_warning(tmp_path: Path) -> None:
    source = 'config = {"schedule": "@daily"}\nimport os\nconfig = {"schedule": "@hourly"}\n'
    root = write(tmp_path, {f"{F}/cron.py": source + HANDLER})
    found = discover(root)
    assert only(found).schedule == "@hourly"
    assert found.warnings == (
        Problem(
            "`config` is bound more than once (lines 1 and 3): Python keeps the last one, "
            "and so does the bundler",
            file=root / F / "cron.py",
            line=3,
            function="cron",
            hint="remove the earlier ones",
            severity="warning",
        ),
    )


def test_config_bound_three_times_names_every_line(tmp_path: Path) -> None:
    source = "from app import config\nconfig = {}\nconfig: dict = {'path': '/x'}\n"
    root = write(tmp_path, {f"{F}/api.py": source + HANDLER})
    found = discover(root)
    assert only(found).config == {"path": "/x"}
    [warning] = found.warnings
    assert warning.message.startswith("`config` is bound more than once (lines 1, 2 and 3)")


def test_a_bare_config_annotation_after_a_netlify_config_is_an_error(tmp_path: Path) -> None:
    source = f'\nif False:\n    config = 1\nconfig: dict\nconfig = {{"path": "/x"}}\n{HANDLER}'
    root = write(tmp_path, {f"{F}/cron.py": source})
    assert only(discover(root)).config == {"path": "/x"}


def test_an_annotation_beside_a_literal_config_changes_nothing(tmp_path: Path) -> None:
    source = 'config: dict\nconfig = {"schedule": "@daily"}\nconfig: dict\n'
    root = write(tmp_path, {f"{F}/cron.py": source + HANDLER})
    found = discover(root)
    assert (only(found).schedule, found.warnings) == ("@daily", ())


@pytest.mark.parametrize(
    "source",
    [
        "def config():\n    return {}\n",
        "class config:\n    pass\n",
        "import config\n",
        "from app import settings as config\n",
        "for config in [{}]:\n    pass\n",
        "with open('c.json') as config:\n    pass\n",
        "(config := {})\n",
        "config, other = {}, 1\n",
    ],
)
def test_config_bound_by_other_statements_is_the_codes_own(tmp_path: Path, source: str) -> None:
    root = write(tmp_path, {f"{F}/api.py": source + HANDLER})
    found = discover(root)
    assert (only(found).config, found.warnings) == ({}, ())


@pytest.mark.parametrize(
    ("source", "line", "kind"),
    [
        (
            'config = {"schedule": "@daily"}\nconfig |= {"path": "/x"}\n',
            2,
            "an augmented assignment",
        ),
        ('config = {"schedule": "@daily"}\nfrom app import config\n', 2, "an import"),
        ('config = {"path": "/x"}\ndef config():\n    return {}\n', 2, "a def"),
    ],
)
def test_a_netlify_config_bound_again_by_other_statements_is_an_error(
    tmp_path: Path, source: str, line: int, kind: str
) -> None:
    root = write(tmp_path, {f"{F}/api.py": source + HANDLER})
    assert failure(discover(root), "api") == Problem(
        f"`config` is bound by {kind}: the bundler reads a function's settings only from a "
        "literal `config = {...}`",
        file=root / F / "api.py",
        line=line,
        function="api",
        hint="rename it if it is not the function's settings (e.g. `import config as "
        'settings`), else write config = {"schedule": "@hourly"}',
    )


def test_config_set_inside_a_block_is_not_read(tmp_path: Path) -> None:
    source = 'import os\nif os.environ.get("X"):\n    config = {"schedule": "@daily"}\n'
    root = write(tmp_path, {f"{F}/api.py": source + HANDLER})
    function = only(discover(root))
    assert (function.kind, function.config) == ("sync", {})


def test_config_keys_are_kept_as_written(tmp_path: Path) -> None:
    root = write(tmp_path, {f"{F}/api.py": f'config = {{"_line": 1, "path": "/x"}}\n{HANDLER}'})
    assert only(discover(root)).config == {"_line": 1, "path": "/x"}


# --- parsed once -----------------------------------------------------------------------------


def test_discovery_keeps_the_trees_of_the_functions_it_found(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {f"{F}/a.py": HANDLER, f"{F}/b/index.py": HANDLER, f"{F}/broken.py": "x = 1\n"},
    )
    memo = SourceMemo()
    found = discover_functions(root / F, SiteConfig.from_root(root), memo)
    assert (names(found), list(found.failures)) == (["a", "b"], ["broken"])
    assert len(memo) == 2  # never the failed function's: nothing would take it
    assert memo.parse(root / F / "a.py").tree.body[0].lineno == 1
    assert len(memo) == 1


# --- the functions folder: unreadable, or outside the site -------------------------------

PYTHON = str(support.SYSTEM_PYTHON) if support.SYSTEM_PYTHON.exists() else sys.executable
UNPRIVILEGED, WHY_NOT = support.can_run_unprivileged()
READ_HINT = "let the user running the build read and enter it (chmod u+rx)"


@pytest.fixture
def nobody_site() -> Iterator[Path]:
    """A site folder that `nobody` owns, with one healthy function."""
    if not UNPRIVILEGED:
        pytest.skip(WHY_NOT)
    site = support.unprivileged_folder()
    write(site, {f"{F}/fine.py": HANDLER})
    try:
        yield site
    finally:
        for folder, subfolders, _files in os.walk(site):
            for name in subfolders:
                os.chmod(Path(folder, name), 0o755)
        shutil.rmtree(site)


def build_as_nobody(site: Path, *modes: tuple[str, int]) -> subprocess.CompletedProcess[str]:
    support.give_to_nobody(site)
    for relative, mode in modes:
        os.chmod(site / relative, mode)
    done = support.run_unprivileged(["build", "--python", PYTHON, "--no-cache"], site)
    assert "Traceback" not in done.stderr
    return done


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def test_an_unreadable_function_folder_is_that_functions_failure(nobody_site: Path) -> None:
    write(nobody_site, {f"{F}/locked/locked.py": HANDLER, f"{F}/locked/helper.py": ""})
    done = build_as_nobody(nobody_site, (f"{F}/locked", 0))
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        f"error: {F}/locked: cannot read this folder: Permission denied; {READ_HINT}, or move "
        "it out of the functions folder"
    ]
    assert "failed: locked" in done.stderr
    assert (nobody_site / "dist/functions/fine.zip").is_file()


def test_a_function_folder_that_cannot_be_searched_is_reported(nobody_site: Path) -> None:
    write(nobody_site, {f"{F}/listed/index.py": HANDLER})
    done = build_as_nobody(nobody_site, (f"{F}/listed", 0o644))  # read, not enter
    assert done.returncode == 1
    assert error_lines(done.stderr)[0].startswith(f"error: {F}/listed: cannot read this folder")


def test_an_unreadable_main_file_is_that_functions_failure(nobody_site: Path) -> None:
    write(nobody_site, {f"{F}/secret.py": HANDLER})
    done = build_as_nobody(nobody_site, (f"{F}/secret.py", 0))
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        f"error: {F}/secret.py: cannot read this file: Permission denied; "
        "check that it exists and is readable"
    ]
    assert (nobody_site / "dist/functions/fine.zip").is_file()


@pytest.mark.parametrize("locked", [F, "netlify"])
def test_an_unreadable_functions_folder_is_a_usage_error(nobody_site: Path, locked: str) -> None:
    done = build_as_nobody(nobody_site, (locked, 0))
    assert done.returncode == 2
    assert error_lines(done.stderr) == [
        f"error: {F}: cannot read the functions folder: Permission denied; {READ_HINT}"
    ]


OUTSIDE_HINT = (
    "run bundle from a folder that holds both the site and its functions, or move the "
    "functions into the site"
)


@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_a_functions_folder_outside_the_site_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    write(tmp_path, {"elsewhere/api.py": HANDLER, "site/pyproject.toml": ""})
    site = (tmp_path / "site").resolve()
    argument = str(tmp_path / "elsewhere") if how == "absolute" else "../elsewhere"
    result = run(site, monkeypatch, argument, "--no-cache", python=Path(PYTHON))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"error: the functions folder {argument} is outside the site root {site}; {OUTSIDE_HINT}"
    )
    assert not (site / "dist").exists()


def test_a_functions_folder_setting_outside_the_site_names_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path,
        {"fns/api.py": HANDLER, "site/netlify.toml": '[functions]\ndirectory = "../fns"\n'},
    )
    site = (tmp_path / "site").resolve()
    result = run(site, monkeypatch, "--no-cache", python=Path(PYTHON))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "error: the functions folder ../fns (netlify.toml [functions] directory) is outside "
        f"the site root {site}; {OUTSIDE_HINT}"
    )


def test_a_linked_functions_folder_outside_the_site_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"shared/api.py": HANDLER, "site/pyproject.toml": ""})
    (tmp_path / "site/netlify").mkdir()
    (tmp_path / "site" / F).symlink_to(tmp_path / "shared")
    result = run(tmp_path / "site", monkeypatch, "--no-cache", python=Path(PYTHON))
    assert result.exit_code == 2
    assert "the functions folder netlify/functions is outside the site root" in result.stderr


@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_a_functions_folder_inside_the_site_may_be_named_any_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    site = write(tmp_path / "site", {"backend/fns/api.py": HANDLER, "pyproject.toml": ""})
    argument = str(site / "backend/fns") if how == "absolute" else "backend/../backend/fns"
    result = run(site, monkeypatch, argument, "--no-cache", python=Path(PYTHON))
    assert result.exit_code == 0, result.stderr
    assert (site / "dist/functions/api.zip").is_file()
