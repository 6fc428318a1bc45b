"""The conductor: one bad function never stops the others, output is atomic and reproducible.

The tiny environment and sites are build_support's, shared with the CLI, manifest and
report tests.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from build_support import GOOD, HEALTHY, PYPROJECT, make_site, manifest_names
from support import api_event, invoke, write_tree, zip_names

from bundler.build import build
from bundler.errors import BundlerError, UsageError


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_builds_every_function_with_whole_distributions(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    result = build(site, python=python)
    assert result.ok
    assert [b.name for b in result.builds] == ["good", "other"]
    out = site / "dist" / "functions"
    assert sorted(p.name for p in out.iterdir()) == ["good.zip", "manifest.json", "other.zip"]
    assert zip_names(out / "good.zip") == [
        "good.py",
        "tinydist-1.0.dist-info/INSTALLER",
        "tinydist-1.0.dist-info/METADATA",
        "tinydist-1.0.dist-info/RECORD",
        "tinydist-1.0.dist-info/REQUESTED",
        "tinydist-1.0.dist-info/WHEEL",
        "tinydist.py",
    ]
    assert zip_names(out / "other.zip") == ["data.txt", "helper.py", "other.py"]


def test_bundles_run_in_a_clean_interpreter(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    build(site, python=python)
    out = site / "dist" / "functions"
    work = tmp_path / "run"
    assert invoke(out / "good.zip", "good", api_event(), work) == {
        "statusCode": 200,
        "body": "42",
    }
    assert invoke(out / "other.zip", "other", api_event(), work) == {
        "statusCode": 200,
        "body": "hello other",
    }


def test_a_failing_function_does_not_stop_the_others(python: Path, tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "aaa.py": "import notinstalled\n\ndef handler(event, context):\n    pass\n"},
    )
    result = build(site, python=python)
    assert not result.ok
    assert {b.name: b.ok for b in result.builds} == {"aaa": False, "good": True, "other": True}
    [failed] = [b for b in result.builds if not b.ok]
    assert [(p.message, p.line, p.function) for p in failed.errors] == [
        ("cannot find module 'notinstalled' in the environment", 1, "aaa")
    ]
    out = site / "dist" / "functions"
    assert sorted(p.name for p in out.iterdir()) == ["good.zip", "manifest.json", "other.zip"]
    assert manifest_names(out) == ["good", "other"]


def test_stale_zip_of_a_now_failing_function_is_removed(python: Path, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    out = site / "dist" / "functions"
    assert build(site, python=python).ok
    assert (out / "good.zip").is_file()
    (site / "netlify" / "functions" / "good.py").write_text("def handler(:\n", encoding="utf-8")
    result = build(site, python=python)
    assert not result.ok
    assert not (out / "good.zip").exists()
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "other.zip"]
    assert manifest_names(out) == ["other"]


def test_a_crafted_previous_manifest_never_deletes_a_path(python: Path, tmp_path: Path) -> None:
    # the names of the last manifest decide which zips a build removes: a name that is a path
    # makes the whole manifest untrusted (a warning), and nothing outside is touched
    site = make_site(tmp_path / "site", HEALTHY)
    out = site / "dist" / "functions"
    assert build(site, python=python).ok
    victim = site / "victim.zip"
    victim.write_text("not the bundler's\n")
    document = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    document["functions"][0]["name"] = "../../victim"
    (out / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    (site / "netlify" / "functions" / "good.py").unlink()
    result = build(site, python=python)
    assert result.ok
    assert [p.format(site) for p in result.warnings if p.file == out / "manifest.json"] == [
        "dist/functions/manifest.json: not a manifest bundle build wrote: functions[0].name: "
        "'../../victim' is not a function name (letters, digits, '-' and '_' only); delete the "
        "zips of functions that no longer exist: this build cannot tell them"
    ]
    assert victim.read_text() == "not the bundler's\n"
    assert manifest_names(out) == ["other"]


OWN_FOLDER = "choose a folder of its own, e.g. --out dist/functions"
OUTSIDE = "choose a folder outside it, e.g. --out dist/functions"


@pytest.mark.parametrize(
    ("out", "what", "hint"),
    [
        (".", "is or contains the site root", OWN_FOLDER),
        ("..", "is or contains the site root", OWN_FOLDER),
        ("netlify", "is or contains the functions folder", OWN_FOLDER),
        ("netlify/functions", "is or contains the functions folder", OWN_FOLDER),
        ("netlify/functions/out", "is inside the functions folder", OUTSIDE),
    ],
)
def test_refuses_an_output_folder_that_holds_the_sources(
    python: Path, tmp_path: Path, out: str, what: str, hint: str
) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    before = tree_bytes(tmp_path)
    with pytest.raises(UsageError) as raised:
        build(site, out=Path(out), python=python)
    assert raised.value.exit_code == 2
    [problem] = raised.value.problems
    assert problem.message == f"the output folder {(site / out).resolve()} {what}"
    assert problem.hint == hint
    assert tree_bytes(tmp_path) == before  # nothing written anywhere


def test_missing_functions_folder_is_a_usage_error(python: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        build(site, python=python)
    assert raised.value.exit_code == 2
    assert not (site / "dist").exists()


def test_nonexistent_python_is_an_environment_problem(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", HEALTHY)
    with pytest.raises(BundlerError) as raised:
        build(site, python=Path("/nonexistent/python"))
    assert raised.value.exit_code == 1
    assert not (site / "dist").exists()


# --- reproducibility -------------------------------------------------------------------

DETERMINISM_SITE = {
    **HEALTHY,
    "app/app.py": """\
        import tinyapp
        from lib import util


        def handler(event, context):
            return {"statusCode": 200, "body": tinyapp.NAME + util.VALUE}
        """,
    "app/run.sh": "#!/bin/sh\necho hi\n",
    "app/zdata/b.json": '{"b": 1}\n',
    "app/zdata/a.json": '{"a": 1}\n',
}
DETERMINISM_EXTRA = {"lib/__init__.py": "", "lib/util.py": "VALUE = '!'\n"}


def _determinism_site(root: Path) -> Path:
    site = make_site(root, DETERMINISM_SITE, extra=DETERMINISM_EXTRA)
    (site / "netlify" / "functions" / "app" / "run.sh").chmod(0o755)
    (site / "netlify" / "functions" / "app" / "zdata" / "a.json").chmod(0o600)
    return site


def test_two_builds_give_identical_bytes(python: Path, tmp_path: Path) -> None:
    site = _determinism_site(tmp_path / "site")
    assert build(site, out=Path("out1"), python=python).ok
    for path in site.rglob("*"):
        if "out1" not in path.parts:
            os.utime(path, (1_000_000_000, 1_234_567_890))
    assert build(site, out=Path("out2"), python=python).ok
    first, second = tree_bytes(site / "out1"), tree_bytes(site / "out2")
    assert sorted(first) == ["app.zip", "good.zip", "manifest.json", "other.zip"]
    assert first == second


def test_identical_bytes_from_another_copy_of_the_site(python: Path, tmp_path: Path) -> None:
    one = build(_determinism_site(tmp_path / "one"), python=python)
    two = build(_determinism_site(tmp_path / "elsewhere" / "two"), python=python)
    assert tree_bytes(one.out) == tree_bytes(two.out)


def test_zip_entries_are_sorted_with_fixed_times_and_modes(python: Path, tmp_path: Path) -> None:
    site = _determinism_site(tmp_path / "site")
    result = build(site, python=python)
    with zipfile.ZipFile(result.out / "app.zip") as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert names == [
        "app.py",
        "lib/__init__.py",
        "lib/util.py",
        "run.sh",
        "tinyapp-2.0.dist-info/INSTALLER",
        "tinyapp-2.0.dist-info/METADATA",
        "tinyapp-2.0.dist-info/RECORD",
        "tinyapp-2.0.dist-info/REQUESTED",
        "tinyapp-2.0.dist-info/WHEEL",
        "tinyapp/__init__.py",
        "tinydist-1.0.dist-info/INSTALLER",
        "tinydist-1.0.dist-info/METADATA",
        "tinydist-1.0.dist-info/RECORD",
        "tinydist-1.0.dist-info/REQUESTED",
        "tinydist-1.0.dist-info/WHEEL",
        "tinydist.py",
        "zdata/a.json",
        "zdata/b.json",
    ]
    modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
    assert modes["run.sh"] == 0o755
    assert {mode for name, mode in modes.items() if name != "run.sh"} == {0o644}
    assert all(stat.S_ISREG(i.external_attr >> 16) for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_source_date_epoch_sets_the_zip_times(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _determinism_site(tmp_path / "site")
    plain = build(site, out=Path("plain"), python=python)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    dated = build(site, out=Path("dated"), python=python)
    with zipfile.ZipFile(dated.out / "good.zip") as archive:
        assert {i.date_time for i in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    assert (plain.out / "good.zip").read_bytes() != (dated.out / "good.zip").read_bytes()
    again = build(site, out=Path("again"), python=python)
    assert tree_bytes(again.out) == tree_bytes(dated.out)


def test_no_bytecode_in_zips(python: Path, tmp_path: Path) -> None:
    site = _determinism_site(tmp_path / "site")
    folder = site / "netlify" / "functions" / "app"
    write_tree(
        folder,
        {
            "__pycache__/app.cpython-311.pyc": b"\0bytecode",
            "stray.pyc": b"\0bytecode",
            "zdata/__pycache__/x.cpython-311.pyc": b"\0bytecode",
        },
    )
    write_tree(site, {"lib/__pycache__/util.cpython-311.pyc": b"\0bytecode"})
    # the environment's own bytecode, as an interpreter that imported tinyapp leaves it
    environment = python.parent.parent
    for package in environment.glob("lib/python*/site-packages/tinyapp"):
        write_tree(package, {"__pycache__/__init__.cpython-311.pyc": b"\0bytecode"})
    result = build(site, python=python)
    assert result.ok
    for zip_path in result.out.glob("*.zip"):
        for name in zip_names(zip_path):
            assert "__pycache__" not in name and not name.endswith(".pyc"), name


def test_no_bytecode_from_include_globs(python: Path, tmp_path: Path) -> None:
    pyproject = PYPROJECT + '\n[tool.bundler]\ninclude = ["data/**/*"]\n'
    site = make_site(
        tmp_path / "site",
        {"good.py": GOOD},
        pyproject=pyproject,
        extra={
            "data/a.txt": "a\n",
            "data/__pycache__/m.cpython-311.pyc": b"\0bytecode",
            "data/m.pyc": b"\0bytecode",
        },
    )
    result = build(site, python=python)
    assert result.ok
    assert [n for n in zip_names(result.out / "good.zip") if n.startswith("data/")] == [
        "data/a.txt"
    ]


def test_manifest_has_no_host_paths(python: Path, tmp_path: Path) -> None:
    site = _determinism_site(tmp_path / "site")
    result = build(site, python=python)
    text = (result.out / "manifest.json").read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    assert "/tmp" not in text
    assert str(python.parent.parent) not in text
    for zip_path in result.out.glob("*.zip"):
        data = zip_path.read_bytes()
        assert str(tmp_path).encode() not in data


def test_a_function_that_fails_to_resolve_keeps_its_scan_warnings(
    python: Path, tmp_path: Path
) -> None:
    source = (
        "import importlib\n"
        "import nosuchdist\n"
        "plugin = importlib.import_module(NAME)\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 200}\n"
    )
    site = make_site(tmp_path / "site", {**HEALTHY, "broken.py": source})
    [broken] = [b for b in build(site, python=python).builds if b.name == "broken"]
    assert [(p.severity, p.line, p.message) for p in broken.problems] == [
        ("warning", 3, "cannot follow a dynamic import whose name is not a literal"),
        ("error", 2, "cannot find module 'nosuchdist' in the environment"),
    ]
