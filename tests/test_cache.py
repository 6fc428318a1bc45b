"""Rebuild only what changed: the function-level cache, sharding and manifest merge."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from build_support import HEALTHY, PYPROJECT, make_environment, make_site, zips
from click.testing import CliRunner
from environment_support import write_editable, write_package

from bundler.build import build, in_shard
from bundler.cache import entries as function_cache
from bundler.cli import main
from bundler.results import BuildOptions


def cached(result: object) -> dict[str, bool]:
    return {b.name: b.cached for b in result.builds}  # type: ignore[attr-defined]


def test_an_unchanged_function_is_not_rebuilt(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY, pyproject=PYPROJECT)
    first = build(site, python=python)
    before = zips(first.out)
    second = build(site, python=python)
    assert cached(first) == {"good": False, "other": False}
    assert cached(second) == {"good": True, "other": True}
    assert zips(second.out) == before  # same zips, same manifest
    assert [b.bundle.sha256 for b in second.builds] == [b.bundle.sha256 for b in first.builds]


def test_a_changed_first_party_file_rebuilds_only_its_function(
    python: Path, tmp_path: Path
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    build(site, python=python)
    helper = site / "netlify" / "functions" / "other" / "helper.py"
    helper.write_text(helper.read_text() + "\nEXTRA = 1\n")
    again = build(site, python=python)
    assert cached(again) == {"good": True, "other": False}
    assert "EXTRA = 1" in _member(again.out / "other.zip", "helper.py")


def test_a_replaced_zip_is_rebuilt_not_trusted(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    first = build(site, python=python)
    good = first.out / "good.zip"
    original = good.read_bytes()
    good.write_bytes(original[:-10] + b"0123456789")  # same size, other bytes
    again = build(site, python=python)
    assert cached(again) == {"good": False, "other": True}
    assert good.read_bytes() == original


def test_a_zip_damaged_in_place_with_its_size_and_time_kept_is_rebuilt(
    python: Path, tmp_path: Path
) -> None:
    # what `cp -p`, `rsync -a` or a CI cache restore leave: other bytes, same size and time
    site = make_site(tmp_path / "site", HEALTHY)
    first = build(site, python=python)
    good = first.out / "good.zip"
    original, stat = good.read_bytes(), good.stat()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    good.write_bytes(bytes(damaged))
    os.utime(good, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (good.stat().st_size, good.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    again = build(site, python=python)
    assert cached(again) == {"good": False, "other": True}
    assert good.read_bytes() == original
    assert manifest_hashes(again.out) == {
        p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in again.out.glob("*.zip")
    }


def test_a_copied_zip_with_a_new_time_is_still_trusted(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    first = build(site, python=python)
    good = first.out / "good.zip"
    shutil.copyfile(good, tmp_path / "copy.zip")  # `cp` without -p: a new time, same bytes
    os.replace(tmp_path / "copy.zip", good)
    os.utime(good, (1_000_000, 1_000_000))
    assert cached(build(site, python=python)) == {"good": True, "other": True}


@pytest.mark.parametrize("change", ["cp -p", "touch -d", "edited in place, time restored"])
def test_a_zip_whose_identity_changed_is_hashed_before_it_is_trusted(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    first = build(site, python=python)
    good = first.out / "good.zip"
    before = good.stat()
    if change == "cp -p":  # a new file (inode, ctime) with the old bytes and times
        shutil.copy2(good, tmp_path / "copy.zip")
        os.replace(tmp_path / "copy.zip", good)
    elif change == "touch -d":
        os.utime(good, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))
    else:  # the same bytes written over themselves, the time set back
        good.write_bytes(good.read_bytes())
        os.utime(good, ns=(before.st_atime_ns, before.st_mtime_ns))
    hashed = counting_hashes(monkeypatch)
    again = build(site, python=python)
    assert cached(again) == {"good": True, "other": True}  # the same bytes: trusted
    assert hashed == [good]  # only the zip whose identity moved was read
    hashed.clear()
    assert cached(build(site, python=python)) == {"good": True, "other": True}
    assert hashed == []  # its new identity was remembered


def test_a_no_change_rebuild_reads_no_zip(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    build(site, python=python)
    hashed = counting_hashes(monkeypatch)
    assert cached(build(site, python=python)) == {"good": True, "other": True}
    assert hashed == []


def counting_hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The zips the function cache hashes from now on (the real hash still runs)."""
    hashed: list[Path] = []
    real = function_cache.file_sha256

    def counted(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(function_cache, "file_sha256", counted)
    return hashed


def manifest_hashes(out: Path) -> dict[str, str]:
    document = json.loads((out / "manifest.json").read_text())
    return {f["name"]: f["sha256"] for f in document["functions"]}


def test_a_cache_entry_that_lies_is_rebuilt(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    first = build(site, python=python)
    for entry in (site / ".bundle-cache" / "functions").glob("*.json"):
        document = json.loads(entry.read_text())
        document["entry"]["unzipped"] += 1  # well formed, and wrong
        entry.write_text(json.dumps(document))
    again = build(site, python=python)
    assert cached(again) == {"good": False, "other": False}
    assert [b.bundle.unzipped for b in again.builds] == [b.bundle.unzipped for b in first.builds]
    assert all(b.cached for b in build(site, python=python).builds)  # written again


def test_a_damaged_cache_entry_is_rebuilt(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    build(site, python=python)
    for entry in (site / ".bundle-cache" / "functions").glob("*.json"):
        entry.write_text("{not json")
    again = build(site, python=python)
    assert cached(again) == {"good": False, "other": False}
    assert all(b.ok for b in again.builds)


def test_no_cache_builds_everything_and_keeps_nothing(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    options = BuildOptions(use_cache=False, jobs=1)
    build(site, python=python, options=options)
    again = build(site, python=python, options=options)
    assert cached(again) == {"good": False, "other": False}
    assert not (site / ".bundle-cache").exists()


def test_a_cache_dir_elsewhere(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    options = BuildOptions(cache_dir=tmp_path / "cache")
    build(site, python=python, options=options)
    assert cached(build(site, python=python, options=options)) == {"good": True, "other": True}
    assert len(list((tmp_path / "cache" / "functions").glob("*.json"))) == 2


def test_cached_and_fresh_builds_write_the_same_manifest(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    fresh = build(site, python=python, options=BuildOptions(use_cache=False))
    manifest = fresh.manifest.read_bytes()
    build(site, python=python)
    again = build(site, python=python)
    assert all(b.cached for b in again.builds)
    assert again.manifest.read_bytes() == manifest


def test_shards_split_the_functions_and_merge_back(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    functions = {f"fn{i}.py": HEALTHY["good.py"] for i in range(12)}
    site = make_site(tmp_path / "site", functions)
    whole = build(site, python=python, out=Path("whole"))
    parts = []
    for index in (1, 2, 3):
        out = Path(f"shard{index}")
        result = build(site, python=python, out=out, options=BuildOptions(shard=(index, 3)))
        parts.append({b.name for b in result.builds})
        assert {p.stem for p in (site / out).glob("*.zip")} == parts[-1]
    assert set().union(*parts) == {b.name for b in whole.builds}
    assert sum(len(p) for p in parts) == 12  # each function in exactly one shard
    assert all(parts)  # every shard has work with 12 functions

    monkeypatch.chdir(site)
    merged = CliRunner().invoke(
        main,
        ["manifest", "merge", *(f"shard{i}/manifest.json" for i in (1, 2, 3)), "-o", "all.json"],
    )
    assert merged.exit_code == 0, merged.output
    assert merged.output == "all.json: 12 functions from 3 manifests\n"
    assert (site / "all.json").read_bytes() == (site / "whole" / "manifest.json").read_bytes()


def test_merging_a_function_twice_is_an_error(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    build(site, python=python)
    monkeypatch.chdir(site)
    result = CliRunner().invoke(
        main, ["manifest", "merge", "dist/functions/manifest.json", "dist/functions/manifest.json"]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: dist/functions/manifest.json: function 'good' is in two manifests (also "
        "dist/functions/manifest.json); give each shard its own --shard K/N of the same N",
        "error: dist/functions/manifest.json: function 'other' is in two manifests (also "
        "dist/functions/manifest.json); give each shard its own --shard K/N of the same N",
    ]


def test_shard_membership_is_stable_and_total() -> None:
    names = [f"function-{i}" for i in range(200)]
    for count in (1, 2, 5):
        owners = [[k for k in range(1, count + 1) if in_shard(n, (k, count))] for n in names]
        assert all(len(o) == 1 for o in owners)
    assert in_shard("anything", None)


def test_a_bad_shard_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "--shard", "4/3"])
    assert result.exit_code == 2
    assert "'4/3' is not K/N with 1 <= K <= N (e.g. 2/4)" in result.stderr


def test_jobs_give_the_same_bytes(python: Path, tmp_path: Path) -> None:
    functions = {f"fn{i}.py": HEALTHY["good.py"] for i in range(6)}
    site = make_site(tmp_path / "site", functions)
    one = build(site, python=python, out=Path("one"), options=BuildOptions(jobs=1, use_cache=False))
    four = build(
        site, python=python, out=Path("four"), options=BuildOptions(jobs=4, use_cache=False)
    )
    assert zips(one.out) == zips(four.out)
    assert json.loads(one.manifest.read_text())["functions"]


def _member(bundle: Path, name: str) -> str:
    import zipfile

    with zipfile.ZipFile(bundle) as archive:
        return archive.read(name).decode()


# --- what must invalidate a cached zip (each found by review: a cached build must give
# the bytes a --no-cache build gives) ------------------------------------------------------


def site_packages(python: Path) -> Path:
    [found] = python.parent.parent.glob("lib/python3*/site-packages")
    return found


def fresh_equals_cached(site: Path, python: Path) -> dict[str, bool]:
    """Build with the cache, then without into another folder; the bytes must agree."""
    cached_build = build(site, python=python)
    fresh = build(site, python=python, out=Path("fresh"), options=BuildOptions(use_cache=False))
    assert zips(fresh.out) == zips(cached_build.out)
    return cached(cached_build)


def test_a_distribution_file_edited_in_place_rebuilds(tmp_path: Path) -> None:
    python = make_environment(tmp_path / "environment")
    site = make_site(tmp_path / "site", HEALTHY)
    build(site, python=python)
    module = site_packages(python) / "tinydist.py"
    module.write_text(module.read_text() + "# edited after installation\n")
    assert fresh_equals_cached(site, python) == {"good": False, "other": True}


def test_an_executable_bit_on_a_first_party_file_rebuilds(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    build(site, python=python)
    (site / "netlify" / "functions" / "other" / "data.txt").chmod(0o755)
    assert fresh_equals_cached(site, python) == {"good": True, "other": False}


def test_an_editable_install_rebuilds_when_its_source_changes(tmp_path: Path) -> None:
    python = make_environment(tmp_path / "environment")
    project = write_package(tmp_path / "project", "edpkg")
    write_editable(
        site_packages(python), "ed", project, {"__editable__.ed-1.0.pth": f"{project}\n"}
    )
    site = make_site(
        tmp_path / "site",
        {"uses.py": "import edpkg\n\n\ndef handler(event, context):\n    return edpkg.VALUE\n"},
        pyproject='[project]\nname = "site"\nversion = "1"\ndependencies = ["ed"]\n',
    )
    build(site, python=python)
    (project / "edpkg" / "__init__.py").write_text("VALUE = 2\n")
    assert fresh_equals_cached(site, python) == {"uses": False}
    assert "VALUE = 2" in _member(site / "dist" / "functions" / "uses.zip", "edpkg/__init__.py")


def test_a_tampered_manifest_never_deletes_files_outside_the_output(
    python: Path, tmp_path: Path
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    victim = tmp_path / "victim.zip"
    victim.write_text("keep me")
    out = site / "dist" / "functions"
    out.mkdir(parents=True)
    (out / "manifest.json").write_text('{"functions": [{"name": "../../../../victim"}]}')
    build(site, python=python)
    assert victim.read_text() == "keep me"
