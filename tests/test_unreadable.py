"""Folders and files the build cannot read are problems of their function, never dropped.

Root reads through any mode, so `bundle build` runs as `nobody` here
(`support.run_unprivileged`), on a site that needs no installed distribution.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import (
    can_run_unprivileged,
    give_to_nobody,
    run_unprivileged,
    unprivileged_folder,
    write_tree,
    zip_names,
)

HANDLER = "def handler(event, context):\n    return 1\n"
FOLDER_HINT = "make it readable (chmod a+rx)"

usable, why = can_run_unprivileged()
pytestmark = pytest.mark.skipif(not usable, reason=why)


@pytest.fixture
def folder() -> Iterator[Path]:
    made = unprivileged_folder()
    yield made
    for path in [made, *made.rglob("*")]:  # give every mode back, so it can be removed
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(made)


def site_of(folder: Path, files: dict[str, str], pyproject: str = "") -> Path:
    """A site owned by nobody: `good` beside the functions in `files`."""
    site = folder / "site"
    write_tree(
        site, {"pyproject.toml": '[project]\nname = "site"\n' + pyproject, **files}, dedent=True
    )
    write_tree(site / "netlify" / "functions", {"good.py": HANDLER}, dedent=True)
    give_to_nobody(site)
    return site


def build_as_nobody(site: Path, bad: str) -> list[str]:
    """`bundle build` as nobody: `bad` fails, `good` builds; the error lines."""
    done = run_unprivileged(["build", "--python", "/usr/bin/python3", "--no-cache"], site)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    out = site / "dist" / "functions"
    assert sorted(p.name for p in out.iterdir()) == ["good.zip", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [f["name"] for f in manifest["functions"]] == ["good"]
    assert zip_names(out / "good.zip") == ["good.py"]
    assert done.stderr.splitlines()[-1] == f"failed: {bad}"
    return [line for line in done.stderr.splitlines() if line.startswith("error: ")]


def test_an_unreadable_folder_in_a_function_folder(folder: Path) -> None:
    site = site_of(
        folder,
        {
            "netlify/functions/tpl/tpl.py": HANDLER,
            "netlify/functions/tpl/index.html": "<p>\n",
            "netlify/functions/tpl/templates/page.html": "<p>\n",
        },
    )
    (site / "netlify" / "functions" / "tpl" / "templates").chmod(0)
    assert build_as_nobody(site, "tpl") == [
        "error: netlify/functions/tpl/templates: cannot read this folder: Permission denied; "
        + FOLDER_HINT
    ]


def test_an_unreadable_folder_deep_in_a_function_folder(folder: Path) -> None:
    site = site_of(
        folder,
        {
            "netlify/functions/tpl/tpl.py": HANDLER,
            "netlify/functions/tpl/a/b/c/page.html": "<p>\n",
        },
    )
    (site / "netlify" / "functions" / "tpl" / "a" / "b").chmod(0)
    assert build_as_nobody(site, "tpl") == [
        f"error: netlify/functions/tpl/a/b: cannot read this folder: Permission denied; "
        f"{FOLDER_HINT}"
    ]


def test_an_unreadable_folder_inside_an_included_folder(folder: Path) -> None:
    site = site_of(
        folder,
        {"netlify/functions/tpl.py": HANDLER, "shared/a.txt": "a\n", "shared/private/b.txt": "b"},
        '[tool.bundler.functions.tpl]\ninclude = ["shared/**"]\n',
    )
    (site / "shared" / "private").chmod(0)
    assert build_as_nobody(site, "tpl") == [
        f"error: shared/private: cannot read this folder: Permission denied; {FOLDER_HINT}"
    ]


def test_a_folder_that_can_be_listed_but_not_entered(folder: Path) -> None:
    site = site_of(
        folder,
        {
            "netlify/functions/tpl/tpl.py": HANDLER,
            "netlify/functions/tpl/listed/page.html": "<p>\n",
            "netlify/functions/tpl/listed/inner/more.html": "<p>\n",
        },
    )
    listed = site / "netlify" / "functions" / "tpl" / "listed"
    listed.chmod(0o644)  # names can be read, nothing inside can be reached
    assert build_as_nobody(site, "tpl") == [
        "error: netlify/functions/tpl/listed/page.html: cannot read a file of the function: "
        "Permission denied; check the file's permissions",
        "error: netlify/functions/tpl/listed/inner: cannot read this folder: Permission denied; "
        + FOLDER_HINT,
    ]


def test_an_unreadable_data_file(folder: Path) -> None:
    site = site_of(
        folder,
        {"netlify/functions/tpl/tpl.py": HANDLER, "netlify/functions/tpl/key.pem": "KEY\n"},
    )
    os.chmod(site / "netlify" / "functions" / "tpl" / "key.pem", 0)
    assert build_as_nobody(site, "tpl") == [
        "error: netlify/functions/tpl/key.pem: cannot read this file: permission denied; "
        "make it readable (chmod a+r)"
    ]


def test_an_unreadable_included_file(folder: Path) -> None:
    site = site_of(
        folder,
        {"netlify/functions/tpl.py": HANDLER, "data/a.json": "{}\n"},
        '[tool.bundler.functions.tpl]\ninclude = ["data/*.json"]\n',
    )
    os.chmod(site / "data" / "a.json", 0)
    assert build_as_nobody(site, "tpl") == [
        "error: data/a.json: cannot read this file: permission denied; make it readable (chmod a+r)"
    ]


def test_an_unreadable_imported_module(folder: Path) -> None:
    site = site_of(
        folder,
        {
            "netlify/functions/tpl/tpl.py": "import secret\n\n\n" + HANDLER,
            "netlify/functions/tpl/secret.py": "KEY = 1\n",
        },
    )
    os.chmod(site / "netlify" / "functions" / "tpl" / "secret.py", 0)
    assert build_as_nobody(site, "tpl") == [
        "error: netlify/functions/tpl/secret.py: cannot read this file: Permission denied; "
        "check that it exists and is readable"
    ]
