"""`manifest.json`: every field, hashes that match the zips, nothing host-specific."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from test_build import HEALTHY, make_environment, make_site

from bundler import __version__
from bundler.build import BuildResult, build
from bundler.manifest import MANIFEST_NAME, manifest_document

FUNCTIONS = {
    **HEALTHY,
    "send-background.py": "import tinyapp\n\n\ndef handler(event, context):\n    pass\n",
    "nightly/nightly.py": 'config = {"schedule": "@daily"}\n\n\ndef handler(event, context):\n'
    "    pass\n",
    "deploy-succeeded.py": "def handler(event, context):\n    pass\n",
    "broken.py": "def handler(:\n",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    python = make_environment(tmp_path_factory.mktemp("environment"))
    site = make_site(tmp_path_factory.mktemp("manifest") / "site", FUNCTIONS)
    return build(site, python=python)


@pytest.fixture(scope="module")
def manifest(result: BuildResult) -> dict[str, Any]:
    return json.loads(result.manifest.read_text(encoding="utf-8"))


def by_name(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in manifest["functions"]}


def test_written_in_the_output_folder(result: BuildResult) -> None:
    assert result.manifest == result.out / MANIFEST_NAME
    assert result.manifest.parent == result.site / "dist" / "functions"


def test_top_level_fields(manifest: dict[str, Any]) -> None:
    assert manifest["version"] == 1
    assert manifest["bundlerVersion"] == __version__
    assert manifest["system"] == {
        "platform": "linux",
        "arch": manifest["system"]["arch"],
        "runtime": "python3.11",
    }
    assert manifest["system"]["arch"] in {"x86_64", "aarch64"}


def test_lists_only_built_functions_sorted(manifest: dict[str, Any]) -> None:
    assert [f["name"] for f in manifest["functions"]] == [
        "deploy-succeeded",
        "good",
        "nightly",
        "other",
        "send-background",
    ]


def test_function_fields(manifest: dict[str, Any]) -> None:
    good = by_name(manifest)["good"]
    assert set(good) >= {
        "name", "path", "mainFile", "handler", "runtime", "invocationMode", "schedule",
        "trigger", "zippedSize", "unzippedSize", "sha256", "distributions",
    }  # fmt: skip
    assert good["path"] == "good.zip"
    assert good["mainFile"] == "netlify/functions/good.py"
    assert good["handler"] == "good.handler"
    assert good["runtime"] == "python3.11"
    assert good["invocationMode"] is None
    assert good["schedule"] is None
    assert good["trigger"] is None
    assert good["kind"] == "sync"
    other = by_name(manifest)["other"]
    assert other["mainFile"] == "netlify/functions/other/other.py"
    assert other["handler"] == "other.handler"
    assert other["distributions"] == []


@pytest.mark.parametrize(
    ("name", "kind", "mode", "schedule", "trigger"),
    [
        ("send-background", "background", "background", None, None),
        ("nightly", "scheduled", None, "@daily", None),
        ("deploy-succeeded", "event", None, None, "deploy-succeeded"),
    ],
)
def test_function_kinds(
    manifest: dict[str, Any],
    name: str,
    kind: str,
    mode: str | None,
    schedule: str | None,
    trigger: str | None,
) -> None:
    function = by_name(manifest)[name]
    assert (function["kind"], function["invocationMode"], function["schedule"]) == (
        kind,
        mode,
        schedule,
    )
    assert function["trigger"] == trigger


def test_sizes_and_hashes_are_those_of_the_zips(
    result: BuildResult, manifest: dict[str, Any]
) -> None:
    for function in manifest["functions"]:
        path = result.out / function["path"]
        data = path.read_bytes()
        assert function["sha256"] == hashlib.sha256(data).hexdigest()
        assert function["zippedSize"] == len(data) == path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        assert function["unzippedSize"] == sum(i.file_size for i in infos)
        assert function["files"] == len(infos)


def test_distributions_with_versions_and_bytes(
    result: BuildResult, manifest: dict[str, Any]
) -> None:
    functions = by_name(manifest)
    background = functions["send-background"]
    assert [(d["name"], d["version"]) for d in background["distributions"]] == [
        ("tinyapp", "2.0"),
        ("tinydist", "1.0"),
    ]
    with zipfile.ZipFile(result.out / "send-background.zip") as archive:
        infos = archive.infolist()
    for distribution in background["distributions"]:
        prefixes = (f"{distribution['name']}/", f"{distribution['name']}.py")
        info = f"{distribution['name']}-{distribution['version']}.dist-info/"
        expected = sum(i.file_size for i in infos if i.filename.startswith((*prefixes, info)))
        assert distribution["bytes"] == expected > 0
    good = functions["good"]
    assert [d["name"] for d in good["distributions"]] == ["tinydist"]
    assert good["distributions"][0]["bytes"] == next(
        d["bytes"] for d in background["distributions"] if d["name"] == "tinydist"
    )


def test_file_format_is_stable(result: BuildResult, manifest: dict[str, Any]) -> None:
    text = result.manifest.read_text(encoding="utf-8")
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def test_no_host_paths(result: BuildResult) -> None:
    text = result.manifest.read_text(encoding="utf-8")
    assert "/tmp" not in text
    assert str(result.site) not in text
    assert str(result.environment.interpreter.prefix) not in text


def test_manifest_document_skips_failed_builds(result: BuildResult) -> None:
    document = manifest_document(result.builds, result.environment, result.site)
    assert "broken" not in [f["name"] for f in document["functions"]]
    assert document == json.loads(result.manifest.read_text(encoding="utf-8"))
    assert manifest_document((), result.environment, result.site)["functions"] == []


def test_manifest_written_when_everything_fails(tmp_path: Path, result: BuildResult) -> None:
    site = make_site(tmp_path / "site", {"broken.py": "def handler(:\n"})
    failed = build(site, python=result.environment.interpreter.executable)
    assert not failed.ok
    document = json.loads(failed.manifest.read_text(encoding="utf-8"))
    assert document["functions"] == []
    assert sorted(p.name for p in failed.out.iterdir()) == ["manifest.json"]
