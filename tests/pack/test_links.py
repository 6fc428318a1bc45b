"""Nothing from outside the site ships: links to /proc, host files, outside folders, FIFOs.

Every scenario is built through the CLI beside two healthy functions: the bad one fails
with one exact message per file, the others build, and no byte from outside the site is
in any zip. Scenarios that could hang (a FIFO opened by mistake blocks forever) run
`bundle` in a subprocess with a timeout.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from build_support import (
    HEALTHY,
    PYPROJECT,
    assert_only_the_bad_one_failed,
    error_lines,
    make_environment,
    make_site,
    out_files,
    run,
)
from environment_support import write_editable, write_package
from support import zip_names

from bundler.environment.distributions import Environment
from bundler.pack.contents import distribution_entries

SECRET = b"outside-the-site-do-not-ship"
HANDLER = "def handler(event, context):\n    return 1\n"
COPY = "copy it into the site instead of linking to it"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the site holding secrets: a file, a folder, a module, a package."""
    folder = tmp_path / "outside"
    (folder / "tpl").mkdir(parents=True)
    (folder / "lib").mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    (folder / "tpl" / "page.html").write_bytes(SECRET)
    (folder / "helper.py").write_bytes(b"KEY = '" + SECRET + b"'\n")
    (folder / "lib" / "__init__.py").write_bytes(b"KEY = '" + SECRET + b"'\n")
    return folder


def every_member(out: Path) -> dict[str, bytes]:
    """Every member of every zip in `out`, by `zip/member`."""
    found = {}
    for bundle in sorted(out.glob("*.zip")):
        with zipfile.ZipFile(bundle) as archive:
            for name in archive.namelist():
                found[f"{bundle.name}/{name}"] = archive.read(name)
    return found


def assert_nothing_from_outside(site: Path, *secrets: bytes) -> None:
    members = every_member(site / "dist" / "functions")
    assert members, "no zip was written at all"
    for secret in (SECRET, Path("/etc/passwd").read_bytes()[:30], *secrets):
        leaked = [name for name, data in members.items() if secret in data]
        assert leaked == [], f"{secret!r} shipped in {leaked}"


def leaky_site(root: Path, files: dict[str, str] | None = None, pyproject: str = PYPROJECT) -> Path:
    """HEALTHY plus a function `leaky` whose folder the scenario fills."""
    return make_site(root, {**HEALTHY, "leaky/leaky.py": HANDLER, **(files or {})}, pyproject)


def real(path: str) -> str:
    return os.path.realpath(path)


# --- files of a function's folder ------------------------------------------------------

Scenario = Callable[[Path, Path], list[str]]  # (leaky folder, outside) -> expected errors


def _host_file(folder: Path, _outside: Path) -> list[str]:
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    return [f"netlify/functions/leaky/passwd.txt: links to /etc/passwd, outside the site; {COPY}"]


def _relative_link(folder: Path, outside: Path) -> list[str]:
    (folder / "rel.txt").symlink_to(Path("..", "..", "..", "..", "outside", "secret.txt"))
    return [
        f"netlify/functions/leaky/rel.txt: links to {outside}/secret.txt, outside the site; {COPY}"
    ]


def _chain_of_links(folder: Path, outside: Path) -> list[str]:
    (folder / "second").symlink_to(outside / "secret.txt")
    (folder / "first.txt").symlink_to(folder / "second")
    return [
        f"netlify/functions/leaky/first.txt: links to {outside}/secret.txt, outside the site; "
        f"{COPY}",
        f"netlify/functions/leaky/second: links to {outside}/secret.txt, outside the site; {COPY}",
    ]


def _linked_folder(folder: Path, outside: Path) -> list[str]:
    (folder / "tpl").symlink_to(outside / "tpl", target_is_directory=True)
    return [
        f"netlify/functions/leaky/tpl: links to {outside}/tpl, a folder outside the site; {COPY}"
    ]


def _deep_link(folder: Path, outside: Path) -> list[str]:
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "deep.html").symlink_to(outside / "tpl" / "page.html")
    return [
        f"netlify/functions/leaky/a/b/deep.html: links to {outside}/tpl/page.html, outside the "
        f"site; {COPY}"
    ]


def _device(folder: Path, _outside: Path) -> list[str]:
    (folder / "null.bin").symlink_to("/dev/null")
    return [f"netlify/functions/leaky/null.bin: links to /dev/null, outside the site; {COPY}"]


def _link_loop(folder: Path, _outside: Path) -> list[str]:
    (folder / "loop1").symlink_to(folder / "loop2")
    (folder / "loop2").symlink_to(folder / "loop1")
    hint = "Too many levels of symbolic links; remove or fix the link, or the file"
    return [
        f"netlify/functions/leaky/loop1: cannot read a file of the function: {hint}",
        f"netlify/functions/leaky/loop2: cannot read a file of the function: {hint}",
    ]


def _helper_module(folder: Path, outside: Path) -> list[str]:
    (folder / "leaky.py").write_text("import helper\n\n\n" + HANDLER)
    (folder / "helper.py").symlink_to(outside / "helper.py")
    return [
        f"netlify/functions/leaky/helper.py: links to {outside}/helper.py, outside the site; {COPY}"
    ]


def _linked_package(folder: Path, outside: Path) -> list[str]:
    (folder / "leaky.py").write_text("import lib\n\n\n" + HANDLER)
    site = folder.parent.parent.parent
    (site / "lib").symlink_to(outside / "lib", target_is_directory=True)
    return [f"lib/__init__.py: links to {outside}/lib/__init__.py, outside the site; {COPY}"]


FOLDER_SCENARIOS: dict[str, Scenario] = {
    "a host file": _host_file,
    "a relative link": _relative_link,
    "a chain of links": _chain_of_links,
    "a linked folder": _linked_folder,
    "a link deep in the folder": _deep_link,
    "a device": _device,
    "a link loop": _link_loop,
    "an imported module": _helper_module,
    "an imported package at the site root": _linked_package,
}


@pytest.mark.parametrize("case", sorted(FOLDER_SCENARIOS))
def test_a_link_out_of_the_site_is_refused(
    python: Path,
    tmp_path: Path,
    outside: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    site = leaky_site(tmp_path / "site")
    expected = FOLDER_SCENARIOS[case](site / "netlify" / "functions" / "leaky", outside)
    result = run(site, monkeypatch, python=python)
    assert error_lines(result) == [f"error: {line}" for line in expected]
    assert_only_the_bad_one_failed(site, result, "leaky")
    assert_nothing_from_outside(site)


def bundle(
    site: Path, python: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`bundle build` in a child process, bounded in time (a FIFO opened would block)."""
    return subprocess.run(
        [sys.executable, "-m", "bundler", "build", "--python", str(python), "--no-cache"],
        cwd=site,
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def errors_of(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in done.stderr, done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("error: ")]


def test_the_build_environment_never_ships(python: Path, tmp_path: Path) -> None:
    # `config.txt -> /proc/self/environ` read by the build would hold every CI secret
    site = leaky_site(tmp_path / "site")
    (site / "netlify" / "functions" / "leaky" / "config.txt").symlink_to("/proc/self/environ")
    secret = "ci-token-that-must-not-ship"
    done = bundle(site, python, {"CI_SECRET": secret})
    assert done.returncode == 1, done.stderr
    [line] = errors_of(done)
    # the child resolves /proc/self to its own pid
    assert line.startswith("error: netlify/functions/leaky/config.txt: links to /proc/"), line
    assert line.endswith(f"/environ, outside the site; {COPY}"), line
    assert out_files(site) == ["good.zip", "manifest.json", "other.zip"]
    assert_nothing_from_outside(site, secret.encode())


def test_fifos_are_never_opened(python: Path, tmp_path: Path, outside: Path) -> None:
    site = leaky_site(
        tmp_path / "site",
        pyproject=PYPROJECT + '\n[tool.bundler.functions.leaky]\ninclude = ["pipes/*"]\n',
    )
    folder = site / "netlify" / "functions" / "leaky"
    os.mkfifo(folder / "pipe")
    os.mkfifo(outside / "pipe")
    (folder / "outer").symlink_to(outside / "pipe")
    (site / "pipes").mkdir()
    os.mkfifo(site / "pipes" / "named")
    done = bundle(site, python)  # an open() of any of them would block until the timeout
    assert done.returncode == 1, done.stderr
    not_regular = (
        "not a regular file (a pipe, socket or device cannot ship in a zip); remove it from "
        "the function's folder or the include patterns"
    )
    assert errors_of(done) == [
        f"error: netlify/functions/leaky/outer: links to {outside}/pipe, outside the site; {COPY}",
        f"error: netlify/functions/leaky/pipe: {not_regular}",
        f"error: pipes/named: {not_regular}",
    ]
    assert out_files(site) == ["good.zip", "manifest.json", "other.zip"]


# --- include and netlify.toml's included_files -------------------------------------------


def test_include_patterns_reaching_out_are_refused(
    python: Path, tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = leaky_site(
        tmp_path / "site",
        pyproject=PYPROJECT
        + '\n[tool.bundler.functions.leaky]\ninclude = ["shared/*.html", "passwd.txt"]\n',
    )
    (site / "shared").symlink_to(outside / "tpl", target_is_directory=True)
    (site / "passwd.txt").symlink_to("/etc/passwd")
    (site / "data").mkdir()
    (site / "data" / "config.txt").symlink_to(outside / "secret.txt")
    (site / "netlify.toml").write_text('[functions."leaky"]\nincluded_files = ["data/**"]\n')
    result = run(site, monkeypatch, python=python)
    assert error_lines(result) == [
        f"error: data/config.txt: links to {outside}/secret.txt, outside the site; {COPY}",
        f"error: shared: links to {outside}/tpl, a folder outside the site; {COPY}",
        f"error: passwd.txt: links to /etc/passwd, outside the site; {COPY}",
    ]
    assert_only_the_bad_one_failed(site, result, "leaky")
    assert_nothing_from_outside(site)


# --- distributions ---------------------------------------------------------------------


def test_a_distribution_file_linked_out_of_site_packages_is_refused(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_environment(tmp_path / "environment")  # changed below: a venv of its own
    [module] = (tmp_path / "environment" / "venv").glob("lib/python3*/site-packages/tinydist.py")
    module.unlink()
    module.symlink_to(outside / "helper.py")
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, python=python)
    assert error_lines(result) == [
        f"error: {module}: links to {outside}/helper.py, outside the site-packages folder of "
        "tinydist; reinstall tinydist so that its files are copied into the environment, not "
        "linked (uv: UV_LINK_MODE=copy)"
    ]
    assert result.exit_code == 1
    assert out_files(site) == ["manifest.json", "other.zip"]  # `good` imports tinydist
    assert_nothing_from_outside(site)


def test_an_editable_source_linked_out_of_its_project_is_refused(
    site_environment: Environment, tmp_path: Path, outside: Path
) -> None:
    project = write_package(tmp_path / "proj", "handpkg")
    (project / "handpkg" / "key.txt").symlink_to(outside / "secret.txt")
    (project / "handpkg" / "tpl").symlink_to(outside / "tpl", target_is_directory=True)
    site = tmp_path / "sp"
    write_editable(site, "hand", project, {"__editable__.hand-1.0.pth": f"{project}\n"})
    environment = Environment.from_interpreter(
        dataclasses.replace(site_environment.interpreter, site_packages=(site,))
    )
    entries, problems = distribution_entries(environment.distributions["hand"])
    assert entries == ()
    source = project / "handpkg"
    where = f"outside the source folder of editable hand ({source})"
    hint = "copy it into the project instead of linking to it"
    assert [(p.file, p.message, p.hint) for p in problems] == [
        (source / "key.txt", f"links to {outside}/secret.txt, {where}", hint),
        (source / "tpl", f"links to {outside}/tpl, a folder {where}", hint),
    ]


# --- links that stay inside keep working -------------------------------------------------


def test_links_inside_the_site_still_ship_and_loops_end(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "leaky/leaky.py": HANDLER, "leaky/index.txt": "index\n"},
        PYPROJECT + '\n[tool.bundler.functions.leaky]\ninclude = ["assets/**"]\n',
        {"shared/tpl/page.html": "<p>page</p>\n", "media/logo.svg": "<svg/>\n"},
    )
    folder = site / "netlify" / "functions" / "leaky"
    (folder / "tpl").symlink_to(Path("..", "..", "..", "shared", "tpl"), target_is_directory=True)
    (folder / "same.txt").symlink_to(folder / "index.txt")
    (site / "shared" / "tpl" / "up").symlink_to(site / "shared", target_is_directory=True)
    (site / "assets").symlink_to(site / "media", target_is_directory=True)
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0, result.output
    assert zip_names(site / "dist" / "functions" / "leaky.zip") == [
        "assets/logo.svg",
        "index.txt",
        "leaky.py",
        "same.txt",
        "tpl/page.html",
    ]


def test_a_cached_build_does_not_hide_a_new_link(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = leaky_site(tmp_path / "site")
    assert run(site, monkeypatch, python=python).exit_code == 0
    (site / "netlify" / "functions" / "leaky" / "passwd.txt").symlink_to("/etc/passwd")
    result = run(site, monkeypatch, python=python)
    assert error_lines(result) == [
        f"error: netlify/functions/leaky/passwd.txt: links to /etc/passwd, outside the site; {COPY}"
    ]
    assert_only_the_bad_one_failed(site, result, "leaky")


def test_an_environment_reached_through_a_link_still_builds(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # site-packages named through a linked folder: its files' real paths are still inside
    linked = tmp_path / "linked-environment"
    linked.symlink_to(python.parent.parent.parent, target_is_directory=True)
    site = make_site(tmp_path / "site", HEALTHY)
    result = run(site, monkeypatch, python=linked / "venv" / "bin" / "python")
    assert result.exit_code == 0, result.output
    assert "tinydist.py" in zip_names(site / "dist" / "functions" / "good.zip")
