"""`bundle build` through click's CliRunner: messages, exit codes, what is left on disk."""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from build_support import (
    HEALTHY,
    PYPROJECT,
    assert_clean,
    assert_only_the_bad_one_failed,
    error_lines,
    make_site,
    manifest_names,
    out_files,
    run,
)
from click.testing import CliRunner, Result

from bundler import __version__
from bundler.cli import main

MiB = 1024 * 1024
HINT_SYNTAX = "fix the syntax; the bundler reads your code without running it"


# --- one bad function among good ones ---------------------------------------------------

BAD_INPUTS: dict[str, tuple[dict[str, str | bytes], str]] = {
    "syntax": (
        {"broken.py": "import tinydist\n\n\ndef handler(event, context)\n    return 1\n"},
        f"netlify/functions/broken.py:4: syntax error: expected ':'; {HINT_SYNTAX}",
    ),
    "syntax in an imported module": (
        {
            "helped/helped.py": "import lib\n\n\ndef handler(event, context):\n    pass\n",
            "helped/lib.py": "VALUE = 1\nVALUE +=\n",
        },
        f"netlify/functions/helped/lib.py:2: syntax error: invalid syntax; {HINT_SYNTAX}",
    ),
    "no handler": (
        {"nohandler.py": "import tinydist\n\nhandle = 1\n"},
        "netlify/functions/nohandler.py: no top-level `handler` defined; define "
        "`def handler(event, context):` or assign one, e.g. `handler = Mangum(app)`",
    ),
    "async handler": (
        {"asyncfn.py": "\nasync def handler(event, context):\n    return 1\n"},
        "netlify/functions/asyncfn.py:2: `handler` is an `async def`; Lambda calls "
        "handler(event, context) and would get a coroutine back; make it a plain `def` that "
        "calls asyncio.run(...), or use an adapter such as mangum",
    ),
    "missing import": (
        {
            "missing.py": "import os\nimport notinstalled\n\n\ndef handler(event, context):\n"
            "    return 1\n"
        },
        "netlify/functions/missing.py:2: cannot find module 'notinstalled' in the environment; "
        "install the distribution that provides it into {prefix} and add it to "
        "[project].dependencies",
    ),
    "misspelt import": (
        {
            "typo.py": "def handler(event, context):\n    from tinydst import VALUE\n"
            "    return VALUE\n"
        },
        "netlify/functions/typo.py:2: cannot find module 'tinydst' in the environment; "
        "did you mean 'tinydist'? install the distribution that provides it into {prefix} and "
        "add it to [project].dependencies",
    ),
    "dev-only import": (
        {
            "devonly.py": "import json\nimport devtool\n\n\ndef handler(event, context):\n"
            "    return 1\n"
        },
        "netlify/functions/devonly.py:2: imports 'devtool' from devtool, which is a dev-only "
        "dependency (from [project.optional-dependencies].dev (devtool)); add devtool to "
        "[project].dependencies, or import it only under `if TYPE_CHECKING:`",
    ),
    "two sources": (
        {
            "dup.py": "def handler(event, context):\n    return 1\n",
            "dup/index.py": "def handler(event, context):\n    return 2\n",
        },
        "netlify/functions/dup/index.py: function 'dup' has two sources: dup/index.py and "
        "dup.py; keep one of them; rename or delete the other",
    ),
    "bad name": (
        {"bad.name.py": "def handler(event, context):\n    return 1\n"},
        "netlify/functions/bad.name.py: function name 'bad.name' is not allowed: names may use "
        "only letters, digits, '-' and '_'; rename the file or folder; Netlify refuses other "
        "names at deploy time",
    ),
    "bad schedule": (
        {
            "nightly.py": '"""Nightly."""\n\nconfig = {"schedule": "61 * * * *"}\n\n\n'
            "def handler(event, context):\n    return 1\n"
        },
        "netlify/functions/nightly.py:3: schedule '61 * * * *': '61' is out of range for the "
        "minute field (0-59); write five fields (minute hour day-of-month month "
        'day-of-week), e.g. "0 9 * * 1"',
    ),
    "unknown named schedule": (
        {
            "often.py": 'config = {"schedule": "@often"}\n\n\ndef handler(event, context):\n'
            "    return 1\n"
        },
        "netlify/functions/often.py:1: unknown schedule '@often'; use one of @yearly, "
        "@annually, @monthly, @weekly, @daily, @hourly; write five fields (minute hour "
        'day-of-month month day-of-week), e.g. "0 9 * * 1"',
    ),
}
BAD_NAMES = {
    "syntax": "broken",
    "syntax in an imported module": "helped",
    "no handler": "nohandler",
    "async handler": "asyncfn",
    "missing import": "missing",
    "misspelt import": "typo",
    "dev-only import": "devonly",
    "two sources": "dup",
    "bad name": "bad.name",
    "bad schedule": "nightly",
    "unknown named schedule": "often",
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_alone_with_a_clear_message(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    files, message = BAD_INPUTS[case]
    site = make_site(tmp_path / "site", {**HEALTHY, **files})
    result = run(site, monkeypatch, python=python)
    prefix = python.parent.parent
    assert error_lines(result) == ["error: " + message.format(prefix=prefix)]
    assert_only_the_bad_one_failed(site, result, BAD_NAMES[case])


def test_every_bad_function_is_reported_in_one_run(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, str | bytes] = {}
    for case_files, _message in BAD_INPUTS.values():
        files.update(case_files)
    site = make_site(tmp_path / "site", {**HEALTHY, **files})
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 1
    prefix = python.parent.parent
    expected = sorted("error: " + m.format(prefix=prefix) for _f, m in BAD_INPUTS.values())
    assert sorted(error_lines(result)) == expected
    assert out_files(site) == ["good.zip", "manifest.json", "other.zip"]
    assert result.stderr.splitlines()[-1] == "failed: " + ", ".join(sorted(BAD_NAMES.values()))


CLASH = {
    "clash/clash.py": "import tinyapp\nimport tinydist\n\n\ndef handler(event, context):\n"
    "    return 1\n",
    "clash/tinydist.py": "VALUE = 'mine'\n",
}


def test_first_party_module_clashing_with_a_distribution_file(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `import tinydist` finds the function's own tinydist.py; tinyapp needs the tinydist
    # distribution, whose tinydist.py would land in the same place in the zip.
    site = make_site(tmp_path / "site", {**HEALTHY, **CLASH})
    result = run(site, monkeypatch, python=python)
    [line] = error_lines(result)
    assert line.startswith("error: netlify/functions/clash/tinydist.py: two files want the same ")
    assert "place 'tinydist.py' in the zip: first-party " in line
    assert line.endswith(
        "tinydist.py and distribution tinydist; rename the first-party module so it does not "
        "shadow the distribution"
    )
    assert_only_the_bad_one_failed(site, result, "clash")


def test_clash_message_names_the_file_relative_to_the_site(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", {**HEALTHY, **CLASH})
    result = run(site, monkeypatch, python=python)
    assert error_lines(result) == [
        "error: netlify/functions/clash/tinydist.py: two files want the same place "
        "'tinydist.py' in the zip: first-party netlify/functions/clash/tinydist.py and "
        "distribution tinydist; rename the first-party module so it does not shadow the "
        "distribution"
    ]


def test_vanished_file_of_a_function(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a dangling symlink cannot be read by anyone, root included
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "linked/linked.py": "def handler(event, context):\n    return 1\n"},
    )
    (site / "netlify" / "functions" / "linked" / "gone.txt").symlink_to(tmp_path / "nowhere")
    result = run(site, monkeypatch, python=python)
    assert error_lines(result) == [
        "error: netlify/functions/linked/gone.txt: cannot read a file of the function: "
        "No such file or directory; remove or fix the link, or the file"
    ]
    assert_only_the_bad_one_failed(site, result, "linked")


def _deny_reading(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the OS refuse to read `path` to this process, as chmod 000 does for a user."""
    real_access, real_read = os.access, Path.read_bytes

    def access(target: object, mode: int, *args: object, **kwargs: object) -> bool:
        if Path(str(target)) == path and mode & os.R_OK:
            return False
        return real_access(target, mode, *args, **kwargs)  # type: ignore[arg-type]

    def read_bytes(target: Path) -> bytes:
        if target == path:
            raise PermissionError(13, "Permission denied", str(target))
        return real_read(target)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_unreadable_files_simulated(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same two cases as above, where chmod cannot be used (root): the OS answers
    # are faked for exactly these files
    site = make_site(
        tmp_path / "site",
        {
            **HEALTHY,
            "locked/locked.py": "import secret\n\n\ndef handler(event, context):\n    pass\n",
            "locked/secret.py": "KEY = 1\n",
            "keyed/keyed.py": "def handler(event, context):\n    pass\n",
            "keyed/key.pem": "KEY\n",
        },
    )
    functions = site / "netlify" / "functions"
    _deny_reading(functions / "locked" / "secret.py", monkeypatch)
    _deny_reading(functions / "keyed" / "key.pem", monkeypatch)
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: netlify/functions/keyed/key.pem: cannot read this file: permission denied; "
        "make it readable (chmod a+r)",
        "error: netlify/functions/locked/secret.py: cannot read this file: Permission denied; "
        "check that it exists and is readable",
    ]
    assert out_files(site) == ["good.zip", "manifest.json", "other.zip"]


# --- Lambda's size limits --------------------------------------------------------------


def test_over_the_unzipped_limit(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        {
            **HEALTHY,
            "huge/huge.py": "import tinydist\n\n\ndef handler(event, context):\n    pass\n",
        },
    )
    big = site / "netlify" / "functions" / "huge" / "model.bin"
    big.touch()
    os.truncate(big, 260 * MiB)  # sparse: costs no disk, never compressed (checked first)
    result = run(site, monkeypatch, python=python)
    [line] = error_lines(result)
    # the exact bytes of tinydist's metadata depend on the pip that installed it
    assert re.fullmatch(
        r"error: netlify/functions/huge/huge\.py: the zip is 260\.0 MiB unzipped, over "
        r"Lambda's limit of 250\.0 MiB; largest distributions: first-party code 260\.0 MiB, "
        r"tinydist \d+ B; largest files: model\.bin 260\.0 MiB, "
        r"tinydist-1\.0\.dist-info/RECORD \d+ B, [^,;]+ \d+ B; keep model\.bin \(260\.0 MiB\) "
        r"out of the zip and fetch it at run time \(from S3, say\) or split the function",
        line,
    ), line
    assert_only_the_bad_one_failed(site, result, "huge")


@pytest.fixture
def incompressible_site(tmp_path: Path) -> Path:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "noisy/noisy.py": "def handler(event, context):\n    pass\n"},
    )
    noise = site / "netlify" / "functions" / "noisy" / "noise.bin"
    with noise.open("wb") as stream:
        for _ in range(51):
            stream.write(os.urandom(MiB))
    return site


def test_over_the_zipped_limit(
    python: Path, incompressible_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = incompressible_site
    result = run(site, monkeypatch, python=python)
    [line] = error_lines(result)
    assert line.startswith(
        "error: netlify/functions/noisy/noisy.py: the zip is 51.0 MiB zipped, over Lambda's "
        "limit of 50.0 MiB; largest distributions: first-party code 51.0 MiB; largest files: "
        "noise.bin 51.0 MiB, noisy.py 38 B; keep noise.bin (51.0 MiB) out of the zip"
    ), line
    # nothing half-written: no zip and no temporary file left in the output folder
    assert_only_the_bad_one_failed(site, result, "noisy")


# --- exit codes and streams ------------------------------------------------------------


def test_success_prints_the_table_on_stdout_and_progress_on_stderr(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site", HEALTHY, pyproject=PYPROJECT.replace('"tinyapp"', '"tinydist"')
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0
    *lines, last = result.stderr.splitlines()
    assert lines == [
        f"environment: {python} (Python 3.11.{result.stderr.split('3.11.')[1].split(')')[0]}), "
        "--python",
        "declarations: pyproject.toml [project]",
        "building good",
        "building other",
    ]
    assert re.fullmatch(
        r"built 2 functions \(0 unchanged\) in \d+\.\d s, peak memory \d+\.\d MiB", last
    ), last
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "function", "kind", "files", "zipped", "%", "of", "50M", "unzipped", "%", "of", "250M",
        "dists",
    ]  # fmt: skip
    assert [line.split()[:3] for line in lines[2:4]] == [
        ["good", "sync", "7"],
        ["other", "sync", "3"],
    ]
    assert lines[-1].startswith("2 of 2 built")
    assert out_files(site) == ["good.zip", "manifest.json", "other.zip"]


def test_warnings_go_to_stderr_and_do_not_fail(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = PYPROJECT.replace('dependencies = ["tinydist", "tinyapp"]', "dependencies = []")
    site = make_site(tmp_path / "site", HEALTHY, pyproject=pyproject)
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0
    assert (
        "warning: netlify/functions/good.py:1: imports 'tinydist' from tinydist, which the "
        "project does not declare; it works only because something else installed it; add "
        "tinydist to [project].dependencies" in result.stderr.splitlines()
    )
    assert "warning" not in result.stdout


def test_functions_dir_argument(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", {}, extra={"fns/good.py": HEALTHY["good.py"]})
    result = run(site, monkeypatch, "fns", "--out", "build/zips", python=python)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (site / "build" / "zips").iterdir()) == [
        "good.zip",
        "manifest.json",
    ]


def test_manifest_hashes_match_the_zips(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    run(site, monkeypatch, python=python)
    out = site / "dist" / "functions"
    document = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for function in document["functions"]:
        data = (out / function["path"]).read_bytes()
        assert function["sha256"] == hashlib.sha256(data).hexdigest()
        assert function["zippedSize"] == len(data)
        with zipfile.ZipFile(out / function["path"]) as archive:
            assert archive.testzip() is None
            assert function["unzippedSize"] == sum(i.file_size for i in archive.infolist())


def test_two_cli_builds_are_byte_identical(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    run(site, monkeypatch, "--out", "one", python=python)
    for path in (site / "netlify").rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    run(site, monkeypatch, "--out", "two", python=python)
    one = {p.name: p.read_bytes() for p in (site / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (site / "two").iterdir()}
    assert sorted(one) == ["good.zip", "manifest.json", "other.zip"]
    assert one == two


def test_stale_zip_is_removed_when_the_function_now_fails(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    assert run(site, monkeypatch, python=python).exit_code == 0
    good = site / "netlify" / "functions" / "good.py"
    good.write_text("import notinstalled\n\n\ndef handler(event, context):\n    pass\n")
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 1
    assert out_files(site) == ["manifest.json", "other.zip"]
    assert manifest_names(site / "dist" / "functions") == ["other"]


# --- --json ----------------------------------------------------------------------------


def test_json_report(python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", {**HEALTHY, **BAD_INPUTS["missing import"][0]})
    result = run(site, monkeypatch, "--json", python=python)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["version"] == 1
    assert report["ok"] is False
    assert report["out"] == "dist/functions"
    assert report["manifest"] == "dist/functions/manifest.json"
    statuses = {f["name"]: f["status"] for f in report["functions"]}
    assert statuses == {"good": "built", "missing": "failed", "other": "built"}
    missing = next(f for f in report["functions"] if f["name"] == "missing")
    [problem] = missing["problems"]
    assert problem["severity"] == "error"
    assert problem["file"] == "netlify/functions/missing.py"
    assert problem["line"] == 2
    assert problem["function"] == "missing"
    assert problem["message"] == "cannot find module 'notinstalled' in the environment"
    assert "zip" not in missing
    good = next(f for f in report["functions"] if f["name"] == "good")
    data = (site / good["zip"]).read_bytes()
    assert good["sha256"] == hashlib.sha256(data).hexdigest()
    assert good["zippedSize"] == len(data)
    assert [(d["name"], d["version"]) for d in good["distributions"]] == [("tinydist", "1.0")]
    # the problems are still on stderr for people
    assert error_lines(result) == [
        "error: " + BAD_INPUTS["missing import"][1].format(prefix=python.parent.parent)
    ]


def test_json_report_success(python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, "--json", python=python)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["version"] == 1 and report["ok"] is True
    assert [f["status"] for f in report["functions"]] == ["built", "built"]


# --- usage errors: exit 2, nothing written ---------------------------------------------


def _usage(result: Result, site: Path, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert error_lines(result) == ["error: " + message]
    assert result.stdout == ""
    assert not (site / "dist").exists()


def test_missing_functions_folder(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "pyproject.toml").write_text(PYPROJECT)
    result = run(site, monkeypatch, python=python)
    _usage(
        result,
        site,
        "netlify/functions: the functions folder does not exist; create it, or name another "
        "with FUNCTIONS_DIR or [tool.bundler] functions",
    )


@pytest.mark.parametrize(
    "files",
    [{}, {"__init__.py": "", "_shared.py": "X = 1\n", "README.md": "hi\n", "notes/a.txt": "a"}],
    ids=["empty", "no-function-files"],
)
def test_functions_folder_without_functions(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    site = make_site(tmp_path / "site", files)
    (site / "netlify" / "functions").mkdir(parents=True, exist_ok=True)
    result = run(site, monkeypatch, python=python)
    _usage(
        result,
        site,
        "netlify/functions: the functions folder has no functions; add NAME.py, NAME/NAME.py "
        "or NAME/index.py with a top-level `handler`",
    )


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        (".", "{out} is or contains the site root; choose a folder of its own"),
        ("..", "{out} is or contains the site root; choose a folder of its own"),
        ("netlify", "{out} is or contains the functions folder; choose a folder of its own"),
        (
            "netlify/functions",
            "{out} is or contains the functions folder; choose a folder of its own",
        ),
        (
            "netlify/functions/zips",
            "{out} is inside the functions folder; choose a folder outside it",
        ),
    ],
)
def test_output_folder_holding_the_sources_is_refused(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str, problem: str
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, "--out", out, python=python)
    resolved = (site / out).resolve()
    _usage(
        result,
        site,
        "the output folder " + problem.format(out=resolved) + ", e.g. --out dist/functions",
    )
    assert not (site / "netlify" / "functions" / "zips").exists()
    assert not list(tmp_path.glob("*.zip")) and not list(site.glob("*.zip"))


def test_unknown_option_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, "--zip-level", "9")
    assert result.exit_code == 2
    assert "No such option '--zip-level'" in result.stderr


def test_nonexistent_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a path that does not exist is a bad command-line value: a usage error
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, python=Path("/nonexistent"))
    assert result.exit_code == 2
    assert "'--python': Path '/nonexistent' does not exist." in result.stderr
    assert "Traceback" not in result.stderr
    assert not (site / "dist").exists()


def test_python_that_is_not_an_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    fake.chmod(0o755)
    result = run(site, monkeypatch, python=fake)
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"error: {fake}: this is not a working Python interpreter: it failed with exit code 3: "
        "broken; point --python at a Python 3.8 or later, or at a virtualenv folder that has one"
    ]


def test_invalid_pyproject(python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", HEALTHY, pyproject='[project]\nname = "site\n')
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: pyproject.toml:2: invalid TOML: Illegal character '\\n' (at line 2, column 13); "
        "fix the syntax of this file"
    ]
    assert not (site / "dist").exists()


def test_invalid_pyproject_names_the_line(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY, pyproject='[project]\nname = "site\n')
    result = run(site, monkeypatch, python=python)
    [line] = error_lines(result)
    assert line.startswith("error: pyproject.toml:2: invalid TOML: ")


def test_output_folder_below_a_file(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    monkeypatch.chdir(site)
    result = CliRunner().invoke(
        main, ["build", "--out", "pyproject.toml/zips", "--python", str(python)]
    )
    assert_clean(result)
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert "pyproject.toml" in line


def test_source_date_epoch_beyond_zip_range(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    monkeypatch.chdir(site)
    result = CliRunner().invoke(
        main,
        ["build", "--python", str(python)],
        env={"SOURCE_DATE_EPOCH": "4354819200"},  # 2108-01-01
    )
    assert_clean(result)
    assert result.exit_code in (0, 2)


def test_version_option() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"bundle, version {__version__}\n"


# --- audits during the build: annotations and unused declarations -------------------------


def test_github_actions_get_annotations_on_stdout(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "broken.py": "import os\n\ndef handler(event, context)\n    pass\n"},
    )
    result = run(site, monkeypatch, python=python, env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error file=netlify/functions/broken.py,line=3,title=bundle broken::"
        "syntax error: expected ':'; fix the syntax; the bundler reads your code without "
        "running it"
    ]


def test_annotations_keep_json_on_stdout_parseable(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", {**HEALTHY, "bad.py": "x = 1\n"})
    result = run(site, monkeypatch, "--json", python=python, env={"GITHUB_ACTIONS": "true"})
    assert json.loads(result.stdout)["ok"] is False
    assert "::error file=netlify/functions/bad.py,title=bundle bad::no top-level" in result.stderr


def test_a_declared_runtime_dependency_no_function_uses_is_a_warning(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", {"good.py": HEALTHY["good.py"]})
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0
    assert [line for line in result.stderr.splitlines() if line.startswith("warning")] == [
        "warning: pyproject.toml: tinyapp is a declared runtime dependency "
        "([project].dependencies) that no function uses; remove it from the runtime "
        "dependencies, or move it to a dev group"
    ]


def test_an_unknown_runtime_in_the_settings_names_pyproject(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        HEALTHY,
        pyproject=PYPROJECT + '\n[tool.bundler]\nruntime = "python2.7"\n',
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: pyproject.toml: unknown Lambda runtime 'python2.7'; use one of python3.8, "
        "python3.9, python3.10, python3.11, python3.12, python3.13, python3.14"
    ]
