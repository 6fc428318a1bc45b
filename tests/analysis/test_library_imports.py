"""The walk through the modules a function reaches inside installed distributions: each
module parsed once per build, its imports kept in the cache folder for the next build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bundler.analysis.library_imports import LibraryImport, LibraryIndex
from bundler.store.folder import CacheFolder


def test_a_reached_module_s_imports_are_reported_with_file_and_line(
    site_environment: Any,
) -> None:
    index = LibraryIndex(site_environment)
    found = list(index.walk(["runtimelib"], frozenset({"runtimelib", "sharedlib"})))
    assert found == [
        (
            LibraryImport(
                importer="runtimelib", path="runtimelib/__init__.py", line=1, module="sharedlib"
            ),
            ("sharedlib",),
        )
    ]
    assert index.parsed == 2  # runtimelib, then sharedlib, which it reaches


def test_a_distribution_outside_the_shipped_ones_is_not_entered(site_environment: Any) -> None:
    index = LibraryIndex(site_environment)
    found = list(index.walk(["runtimelib"], frozenset({"runtimelib"})))
    assert [(f.module, owners) for f, owners in found] == [("sharedlib", ("sharedlib",))]
    assert index.parsed == 1


def test_guarded_imports_are_reported_as_such_and_not_followed(site_environment: Any) -> None:
    # webthing imports cryptolib under try/except; `bundle why` asks for every import
    index = LibraryIndex(site_environment, complete=True)
    assert list(index.walk(["webthing"], frozenset({"webthing", "cryptolib"}))) == [
        (
            LibraryImport(
                importer="webthing",
                path="webthing/__init__.py",
                line=2,
                module="cryptolib",
                names=(),
                how="guarded",
            ),
            ("cryptolib",),
        )
    ]
    assert index.parsed == 1


def test_a_build_reads_only_top_level_imports(site_environment: Any) -> None:
    index = LibraryIndex(site_environment)  # a build: what runs when the module is imported
    assert list(index.walk(["webthing"], frozenset({"webthing", "cryptolib"}))) == []
    assert index.parsed == 1


def test_a_warm_walk_parses_nothing(site_environment: Any, tmp_path: Path) -> None:
    cold = LibraryIndex(site_environment)
    cold.use_cache(CacheFolder(tmp_path))
    first = list(cold.walk(["runtimelib"], frozenset({"runtimelib", "sharedlib"})))
    cold.close()
    names = sorted(p.name for p in (tmp_path / "libraries").iterdir())
    assert [n.rsplit("-", 1)[0] for n in names] == ["runtimelib-1.0", "sharedlib-1.0"]
    warm = LibraryIndex(site_environment)
    warm.use_cache(CacheFolder(tmp_path))
    assert list(warm.walk(["runtimelib"], frozenset({"runtimelib", "sharedlib"}))) == first
    assert warm.parsed == 0


def test_a_damaged_cache_file_is_parsed_again(site_environment: Any, tmp_path: Path) -> None:
    cold = LibraryIndex(site_environment)
    cold.use_cache(CacheFolder(tmp_path))
    list(cold.walk(["runtimelib"], frozenset({"runtimelib", "sharedlib"})))
    cold.close()
    for path in (tmp_path / "libraries").iterdir():
        path.write_text("{not json")
    again = LibraryIndex(site_environment)
    again.use_cache(CacheFolder(tmp_path))
    found = list(again.walk(["runtimelib"], frozenset({"runtimelib", "sharedlib"})))
    assert [f.module for f, _owners in found] == ["sharedlib"]
    assert again.parsed == 2


def test_threads_walking_the_same_modules_parse_each_once(site_environment: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    index = LibraryIndex(site_environment)
    shipped = frozenset({"runtimelib", "sharedlib"})
    with ThreadPoolExecutor(max_workers=4) as pool:
        walks = list(pool.map(lambda _n: list(index.walk(["runtimelib"], shipped)), range(8)))
    assert all(walk == walks[0] for walk in walks)
    assert index.parsed == 2
