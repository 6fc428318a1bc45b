"""`bundle build` imports only what a build needs; `bundle --help` still lists every
command with its help text (`bundler.cli.LazyGroup`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from build_support import make_site
from click.testing import CliRunner

from bundler.cli import main

# Run in a fresh interpreter: this test process has imported every command already.
PROBE = """\
import json, sys
from bundler.cli import main
try:
    main(["build", "--python", "/usr/bin/python3", "--no-cache"], prog_name="bundle")
except SystemExit as stop:
    code = stop.code
loaded = sorted(m for m in sys.modules if m.startswith("bundler."))
print(json.dumps({"code": code, "loaded": loaded}))
"""


def test_a_build_imports_no_other_command(tmp_path: Path) -> None:
    hello = {"hello.py": "def handler(event, context):\n    return 1\n"}
    site = make_site(tmp_path / "site", hello, pyproject='[project]\nname = "site"\n')
    ran = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=site, capture_output=True, text=True, timeout=120
    )
    found = json.loads(ran.stdout.splitlines()[-1])
    assert found["code"] == 0, ran.stderr
    assert (site / "dist" / "functions" / "hello.zip").is_file()  # the build did run
    loaded = found["loaded"]
    assert "bundler.cli.build" in loaded
    others = ("bundler.cli.serve", "bundler.cli.audit", "bundler.cli.why", "bundler.cli.verify")
    assert [
        m for m in loaded if m in others or m.startswith(("bundler.serve", "bundler.inspection"))
    ] == []


def test_help_lists_every_command_with_its_help() -> None:
    result = CliRunner().invoke(main, ["--help"], prog_name="bundle")
    assert result.exit_code == 0
    commands = result.output.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in commands] == [
        "audit", "build", "invoke", "manifest", "serve", "verify", "why"
    ]  # fmt: skip
    assert commands[1].startswith("  build     Build one zip per function in FUNCTIONS_DIR")
    assert commands[4].startswith("  serve     Serve the site's functions from their built zips")


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["bulid"], prog_name="bundle")
    assert result.exit_code == 2
    assert "No such command 'bulid'." in result.output
