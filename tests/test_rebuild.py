"""Rebuilds that do not grow with the site: each first-party file scanned once per build and
kept by content, unchanged functions found by stat without being analysed, and every
change that must rebuild a function still does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from build_support import PYPROJECT, make_site, zips

from bundler import build as conductor
from bundler.analysis import file_scans
from bundler.build import build
from bundler.cache import index
from bundler.pack.packer import Packer
from bundler.project import discover, source
from bundler.results import BuildOptions, BuildResult

SHARED = """\
import json

from lib.deep import depth


def shared(name):
    return json.dumps({"name": name, "depth": depth()})
"""

# Three functions over one shared first-party library, and one that does not use it.
SITE = {
    "one.py": "from lib.shared import shared\n\ndef handler(event, context):\n"
    "    return shared('one')\n",
    "two.py": "from lib.shared import shared\n\ndef handler(event, context):\n"
    "    return shared('two')\n",
    "three/three.py": "import tinydist\nfrom lib.shared import shared\n\n"
    "def handler(event, context):\n    return shared(str(tinydist.VALUE))\n",
    "alone.py": "import tinydist\n\ndef handler(event, context):\n    return tinydist.VALUE\n",
}
LIB = {
    "lib/__init__.py": "",
    "lib/shared.py": SHARED,
    "lib/deep.py": "def depth():\n    return 2\n",
}


class Parses:
    """Which files discovery parsed (`files`) and the scan read (`walks`): the real
    functions still run, only counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.files: list[Path] = []
        self.walks: list[Path] = []
        scan, parse = file_scans.FileScans._read, discover.parse_source

        def counted_scan(scans: file_scans.FileScans, path: Path, package: str) -> object:
            self.walks.append(path)
            return scan(scans, path, package)

        def counted_parse(path: Path) -> object:
            self.files.append(path)
            return parse(path)

        monkeypatch.setattr(file_scans.FileScans, "_read", counted_scan)
        monkeypatch.setattr(discover, "parse_source", counted_parse)

    def reset(self) -> None:
        self.files.clear()
        self.walks.clear()

    def names(self, root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in self.walks)


@pytest.fixture(autouse=True)
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files a test writes just before a build count as settled (the index's margin
    for coarse file-system times would otherwise leave them out for two seconds)."""
    monkeypatch.setattr(index, "_SETTLE_NS", 0)


class Analyses:
    """The functions the build analysed (scanned and resolved), the real analysis run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        analyse = conductor.analyse_function

        def counted(site: object, function: object) -> object:
            self.names.append(function.name)  # type: ignore[attr-defined]
            return analyse(site, function)  # type: ignore[arg-type]

        monkeypatch.setattr(conductor, "analyse_function", counted)


def cached(result: BuildResult) -> dict[str, bool]:
    return {b.name: b.cached for b in result.builds}


def member(bundle: Path, name: str) -> str:
    with zipfile.ZipFile(bundle) as opened:
        return opened.read(name).decode()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path / "site", SITE, PYPROJECT, extra=LIB)


def test_a_shared_library_is_scanned_once_per_build(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = Parses(monkeypatch)
    result = build(site, python=python)
    assert result.ok
    assert len(parses.files) == 4  # discovery parsed each main file: the counter sees it
    walked = parses.names(site)
    assert sorted(set(walked)) == walked  # not one file twice, however many reach it
    assert walked == [
        "lib/__init__.py",
        "lib/deep.py",
        "lib/shared.py",
        "netlify/functions/alone.py",
        "netlify/functions/one.py",
        "netlify/functions/three/three.py",
        "netlify/functions/two.py",
    ]


def test_a_no_change_rebuild_reads_no_source_and_writes_the_same_bytes(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build(site, python=python)
    before = zips(first.out)
    parses, analyses = Parses(monkeypatch), Analyses(monkeypatch)
    again = build(site, python=python)
    print("AGAIN", cached(again))
    assert parses.files == [] and parses.walks == []  # neither discovery nor the scan
    assert analyses.names == []  # nor the resolution: each function found by stat
    assert all(cached(again).values())
    assert zips(again.out) == before
    fresh = build(site, python=python, out=Path("fresh"), options=BuildOptions(use_cache=False))
    assert zips(fresh.out) == before  # the manifest too: the same as a build from nothing
    assert [b.problems for b in again.builds] == [b.problems for b in first.builds]


def test_a_no_change_rebuild_stats_each_input_once(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file many functions read (lib/shared.py: three of them) is stat'ed once per build,
    and a main file only by discovery: the index takes the stat discovery took."""
    build(site, python=python)
    build(site, python=python)
    by_index: list[str] = []
    by_discovery: list[str] = []

    def counted(into: list[str], real: Callable[[Any], tuple[int, ...]]) -> Any:
        def stat(path: Any) -> tuple[int, ...]:
            into.append(str(path))
            return real(path)

        return stat

    monkeypatch.setattr(index, "file_signature", counted(by_index, index.file_signature))
    monkeypatch.setattr(source, "file_signature", counted(by_discovery, source.file_signature))
    again = build(site, python=python)
    assert all(cached(again).values())
    lib = site / "lib"
    assert sorted(p for p in by_index if p.startswith(str(site))) == [
        str(lib / "__init__.py"),
        str(lib / "deep.py"),
        str(lib / "shared.py"),
    ]
    mains = site / "netlify" / "functions"
    assert sorted(by_discovery) == [
        str(mains / "alone.py"), str(mains / "one.py"),
        str(mains / "three" / "three.py"), str(mains / "two.py"),
    ]  # fmt: skip


def test_a_fresh_checkout_with_a_restored_cache_parses_only_to_discover(
    python: Path, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a CI job sees: the same bytes at new inodes and times, the cache restored."""
    build(site, python=python)
    moved = tmp_path / "checkout"
    shutil.copytree(site, moved)  # new inodes, new change times
    shutil.rmtree(moved / "dist")
    parses = Parses(monkeypatch)
    result = build(moved, python=python)
    assert result.ok
    assert parses.walks == []  # every file's imports came from the cache, by content
    assert zips(result.out) == zips(site / "dist" / "functions")


def edit_shared(site: Path) -> None:
    path = site / "lib" / "deep.py"
    path.write_text("def depth():\n    return 3\n")


def shadow_a_distribution(site: Path) -> None:
    # a module beside three.py now answers `import tinydist` (first-party shadows)
    (site / "netlify" / "functions" / "three" / "tinydist.py").write_text("VALUE = 7\n")


def edit_a_distribution(site: Path) -> None:
    installed = Path(os.environ["TINYDIST_FILE"])
    installed.write_text(installed.read_text().replace("42", "43"))


def add_a_site_module(site: Path) -> None:
    # a top-level `json.py` in the site root shadows the standard library's for everyone
    (site / "json.py").write_text("def dumps(value):\n    return 'mine'\n")


def set_source_date_epoch(site: Path) -> None:
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"  # the test's monkeypatch restores it


CHANGES: dict[str, tuple[Callable[[Path], None], set[str]]] = {
    "a shared module": (edit_shared, {"one", "two", "three"}),
    "a module shadows a distribution": (shadow_a_distribution, {"three"}),
    "an installed distribution's file": (edit_a_distribution, {"three", "alone"}),
    "a new top-level module": (add_a_site_module, {"one", "two", "three"}),
    "SOURCE_DATE_EPOCH": (set_source_date_epoch, {"one", "two", "three", "alone"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_change_rebuilds_exactly_the_functions_it_touches(
    tmp_path: Path, site: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from build_support import make_environment

    python = make_environment(tmp_path / "environment")  # its own: one test edits it
    installed = next((python.parent.parent / "lib").glob("python3*/site-packages/tinydist.py"))
    monkeypatch.setenv("TINYDIST_FILE", str(installed))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")  # restored after the test
    build(site, python=python)
    build(site, python=python)  # the second build records the stat of what each read
    apply, touched = CHANGES[change]
    apply(site)
    again = build(site, python=python)
    print("AGAIN", cached(again))
    assert again.ok, [p.message for b in again.builds for p in b.problems]
    assert {n for n, hit in cached(again).items() if not hit} == touched
    fresh = build(site, python=python, out=Path("fresh"), options=BuildOptions(use_cache=False))
    assert zips(again.out) == zips(fresh.out)  # what changed is in the zips, nothing stale


def test_a_main_file_that_loses_its_handler_fails_on_the_next_build(
    python: Path, site: Path
) -> None:
    build(site, python=python)
    build(site, python=python)
    (site / "netlify" / "functions" / "two.py").write_text("from lib.shared import shared\n")
    again = build(site, python=python)
    print("AGAIN", cached(again))
    assert cached(again) == {"alone": True, "one": True, "three": True, "two": False}
    assert [p.message for p in next(b for b in again.builds if b.name == "two").problems] == [
        "no top-level `handler` defined"
    ]
    assert not (again.out / "two.zip").exists()


def test_a_damaged_scan_cache_is_parsed_again(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build(site, python=python)
    cache = site / ".bundle-cache" / "sources" / "first-party.json"
    cache.write_text('{"format": 1, "generation": 0, "stats": {}, "scans": {"x": [0, [[')
    shutil.rmtree(site / ".bundle-cache" / "sites")  # no index: every function is analysed
    parses = Parses(monkeypatch)
    again = build(site, python=python)
    print("AGAIN", cached(again))
    assert len(parses.walks) == 7  # parsed again, not trusted
    assert zips(again.out) == zips(first.out)


FINGERPRINT = """\
import sys
import time
from pathlib import Path
from bundler.analysis.session import Site
from bundler.cache.index import _site_fingerprint
site = Site.open(Path(sys.argv[1]), python=Path(sys.argv[2]))
print(_site_fingerprint(site, [True, False]))
"""

MANY_GROUPS = """\
[project]
name = "site"
version = "0.1.0"
dependencies = ["tinydist", "tinyapp"]

[project.optional-dependencies]
dev = ["devtool"]
lint = ["devtool"]
postgres = ["tinyapp"]
docs = ["devtool"]

[tool.bundler]
dev-groups = ["lint", "docs", "tests", "typing"]
"""


def test_the_site_fingerprint_is_the_same_in_every_process(python: Path, tmp_path: Path) -> None:
    """Sets in the settings print in the order of the process's hash seed: a fingerprint
    that followed it would never match the last build's, and nothing would be fast."""
    site = make_site(tmp_path / "site", SITE, MANY_GROUPS, extra=LIB)
    printed = {
        subprocess.run(
            [sys.executable, "-c", FINGERPRINT, str(site), str(python)],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in range(1, 6)
    }
    assert len(printed) == 1


def test_a_function_saved_by_rename_is_the_only_one_read_again(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editors and `git checkout` write a new file and rename it over the old one: the
    folder's times move, its names do not, so the other functions are not read."""
    build(site, python=python)
    build(site, python=python)
    path = site / "netlify" / "functions" / "one.py"
    temporary = path.with_name(".one.py.swp")
    temporary.write_text(path.read_text() + "\n# saved\n")
    os.replace(temporary, path)
    parses, analyses = Parses(monkeypatch), Analyses(monkeypatch)
    again = build(site, python=python)
    print("AGAIN", cached(again))
    assert parses.names(site) == ["netlify/functions/one.py"]
    assert analyses.names == ["one"]
    assert {n for n, hit in cached(again).items() if not hit} == {"one"}


def test_a_new_function_is_built_and_the_others_kept(python: Path, site: Path) -> None:
    build(site, python=python)
    build(site, python=python)
    (site / "netlify" / "functions" / "four.py").write_text(
        "from lib.deep import depth\n\ndef handler(event, context):\n    return depth()\n"
    )
    again = build(site, python=python)
    print("AGAIN", cached(again))
    assert {n for n, hit in cached(again).items() if not hit} == {"four"}
    fresh = build(site, python=python, out=Path("fresh"), options=BuildOptions(use_cache=False))
    assert zips(again.out) == zips(fresh.out)


def test_a_file_saved_during_the_build_is_not_trusted_by_stat(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user saves a shared module after the build zipped it and before it recorded
    what it read: the next build must see the new bytes. (A file is expected not to change
    during one build: the blob store knows a file by path and size within a build, so the
    new bytes here are of another size, and only the next build is asked to be right.)"""
    deep = site / "lib" / "deep.py"
    write_zip = Packer.write_zip
    saved: list[str] = []

    def save_while_building(packer: Packer, contents: Any, destination: Path, **kw: Any) -> Any:
        found = write_zip(packer, contents, destination, **kw)
        if destination.stem != "alone" and not saved:  # once, after a zip that holds it
            deep.write_text("def depth():\n    return 55\n")  # another size: see above
            saved.append(destination.stem)
        return found

    monkeypatch.setattr(Packer, "write_zip", save_while_building)
    build(site, python=python, options=BuildOptions(jobs=1))
    assert saved
    monkeypatch.setattr(Packer, "write_zip", write_zip)
    again = build(site, python=python)
    print("AGAIN", cached(again))
    fresh = build(site, python=python, out=Path("fresh"), options=BuildOptions(use_cache=False))
    assert "return 55" in member(fresh.out / "one.zip", "lib/deep.py")
    assert zips(again.out) == zips(fresh.out)


def test_a_cold_build_then_a_rebuild_at_once_reads_and_analyses_nothing(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cold build creates `dist/` and `.bundle-cache/` in the site root, so the root's
    change time falls in the settle margin; the functions that looked modules up there
    are still recorded, and the rebuild straight after finds every one by stat."""
    monkeypatch.setattr(index, "_SETTLE_NS", 10**9 // 2)  # a real margin (the fixture's is 0)
    time.sleep(0.6)  # the site's own files are older than the margin; the cold build's are not
    first = build(site, python=python)
    assert (site / "dist" / "functions").is_dir() and (site / ".bundle-cache").is_dir()
    parses, analyses = Parses(monkeypatch), Analyses(monkeypatch)
    again = build(site, python=python)
    print("AGAIN", cached(again))
    assert parses.files == [] and parses.walks == []
    assert analyses.names == []
    assert all(cached(again).values())
    assert zips(again.out) == zips(first.out)


def test_a_module_added_while_the_build_runs_is_seen_by_the_next_build(
    python: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The site root's names are read before any function is analysed: a `json.py` saved
    there after a function's analysis and before its record (it shadows the standard
    library's) must not be recorded as if that analysis had seen it."""
    (site / "netlify" / "functions" / "alone.py").unlink()  # `one` is analysed first
    build(site, python=python)
    for recorded in (site / ".bundle-cache" / "sites").iterdir():
        recorded.unlink()  # so no lookup reads the root's names before the analysis
    analyse = conductor.analyse_function

    def save_after_analysing(opened: Any, function: Any) -> Any:
        found = analyse(opened, function)
        add_a_site_module(site)
        return found

    monkeypatch.setattr(conductor, "analyse_function", save_after_analysing)
    build(site, python=python, options=BuildOptions(jobs=1))
    monkeypatch.setattr(conductor, "analyse_function", analyse)
    again = build(site, python=python)
    assert not cached(again)["one"]
    fresh = build(site, python=python, out=Path("fresh"), options=BuildOptions(use_cache=False))
    assert "'mine'" in member(fresh.out / "one.zip", "json.py")
    assert zips(again.out) == zips(fresh.out)
