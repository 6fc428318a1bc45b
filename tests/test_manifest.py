"""`manifest.json`: every field, hashes that match the zips, nothing host-specific."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from build_support import HEALTHY, VALID_MANIFEST, make_environment, make_site
from click.testing import CliRunner

from bundler import __version__
from bundler.build import build
from bundler.cli import main
from bundler.errors import UsageError
from bundler.manifest.document import MANIFEST_NAME, Manifest
from bundler.manifest.reader import read_manifest
from bundler.manifest.writer import manifest_document, write_document
from bundler.results import BuildResult

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


def test_a_manifest_with_the_same_bytes_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    write_document(path, VALID_MANIFEST)
    before = path.stat()
    write_document(path, VALID_MANIFEST)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (
        before.st_ino, before.st_mtime_ns, before.st_ctime_ns
    )  # fmt: skip
    changed = {**VALID_MANIFEST, "bundlerVersion": "9.9.9"}
    write_document(path, changed)
    assert path.stat().st_ino != before.st_ino  # a new file renamed into place
    assert json.loads(path.read_text(encoding="utf-8")) == changed


def test_a_manifest_that_is_a_link_is_replaced_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(VALID_MANIFEST, indent=2, sort_keys=True) + "\n")
    path = tmp_path / MANIFEST_NAME
    path.symlink_to(elsewhere)  # the same bytes behind a link: still written as a file
    write_document(path, VALID_MANIFEST)
    assert not path.is_symlink()
    assert path.read_text(encoding="utf-8") == elsewhere.read_text(encoding="utf-8")


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


# --- one validated reader: every malformed manifest is a clear error naming the file --------

SHA = "ab" * 32


def _changed(path: str, value: object) -> str:
    """VALID_MANIFEST as JSON text with the field at `path` (`functions.0.name`) set to `value`,
    or removed when `value` is REMOVE."""
    document = json.loads(json.dumps(VALID_MANIFEST))
    *parents, last = path.split(".")
    holder = document
    for part in parents:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    if value is REMOVE:
        del holder[last]
    elif isinstance(holder, list):
        holder[int(last)] = value
    else:
        holder[last] = value
    return json.dumps(document)


REMOVE = object()
MALFORMED: dict[str, tuple[str | bytes, str]] = {
    "not JSON": ("{not json", ":1: not valid JSON: Expecting property name enclosed in double "
                 "quotes"),
    "not UTF-8": (b"\xff\xfe{}", ": not UTF-8 text (byte 0)"),
    "a list": ("[]", ": the document: expected an object, found a list"),
    "functions is an object": (
        _changed("functions", {"good": {}}), ": functions: expected a list, found an object"
    ),
    "functions missing": (_changed("functions", REMOVE), ": functions: missing"),
    "system missing": (_changed("system", REMOVE), ": system: missing"),
    "a function is a string": (_changed("functions.0", "good"),
                               ": functions[0]: expected an object, found a string"),
    "missing key": (_changed("functions.0.sha256", REMOVE), ": functions[0].sha256: missing"),
    "string for a number": (
        _changed("functions.0.zippedSize", "700"),
        ": functions[0].zippedSize: expected a whole number, found a string",
    ),
    "true for a number": (
        _changed("functions.0.files", True),
        ": functions[0].files: expected a whole number, found true/false",
    ),
    "fraction": (
        _changed("functions.0.unzippedSize", 1.5),
        ": functions[0].unzippedSize: expected a whole number, found the number 1.5",
    ),
    "huge number": (
        _changed("functions.0.zippedSize", 10**30),
        ": functions[0].zippedSize: 1000000000000000000000000000000 is out of range "
        "(0 to 9223372036854775807)",
    ),
    "negative number": (
        _changed("functions.0.distributions.0.bytes", -1),
        ": functions[0].distributions[0].bytes: -1 is out of range (0 to 9223372036854775807)",
    ),
    "infinite number": (
        _changed("functions.0.zippedSize", 1).replace('"zippedSize": 1', '"zippedSize": 1e999'),
        ": functions[0].zippedSize: expected a whole number, found the number inf",
    ),
    "null name": (
        _changed("functions.0.name", None), ": functions[0].name: expected a string, found null"
    ),
    "name that is a path": (
        _changed("functions.0.name", "../../x"),
        ": functions[0].name: '../../x' is not a function name (letters, digits, '-' and '_' "
        "only)",
    ),
    "name with a newline": (
        _changed("functions.0.name", "good\n"),
        ": functions[0].name: 'good\\n' is not a function name (letters, digits, '-' and '_' "
        "only)",
    ),
    "path elsewhere": (
        _changed("functions.0.path", "../good.zip"),
        ": functions[0].path: '../good.zip' is not 'good.zip'",
    ),
    "handler of another module": (
        _changed("functions.0.handler", "os.system"),
        ": functions[0].handler: 'os.system' is not MODULE.handler",
    ),
    "handler with a path": (
        _changed("functions.0.handler", "../x.handler"),
        ": functions[0].handler: '../x.handler' is not MODULE.handler",
    ),
    "absolute main file": (
        _changed("functions.0.mainFile", "/etc/passwd.py"),
        ": functions[0].mainFile: '/etc/passwd.py' is not a .py file inside the site",
    ),
    "unknown kind": (
        _changed("functions.0.kind", "cron"),
        ": functions[0].kind: 'cron' is not one of sync, background, scheduled, event",
    ),
    "short sha256": (
        _changed("functions.0.sha256", "abc"),
        ": functions[0].sha256: 'abc' is not 64 lowercase hex digits",
    ),
    "distributions not a list": (
        _changed("functions.0.distributions", "tinydist"),
        ": functions[0].distributions: expected a list, found a string",
    ),
    "duplicate names": (
        json.dumps({**VALID_MANIFEST, "functions": VALID_MANIFEST["functions"] * 2}),
        ": functions[1].name: 'good' is listed twice",
    ),
    "another version": (
        _changed("version", 2), ": version: this bundler reads version 1, not 2"
    ),
}  # fmt: skip
HINT = "; pass a manifest.json written by `bundle build`, or build again"


def test_the_valid_document_reads_back_as_it_was() -> None:
    assert read_manifest_text(json.dumps(VALID_MANIFEST)).to_json() == VALID_MANIFEST


def read_manifest_text(text: str | bytes, name: str = "manifest.json") -> Manifest:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return read_manifest(path)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_manifest_is_a_clear_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    text, expected = MALFORMED[case]
    bad = tmp_path / "bad.json"
    bad.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(UsageError) as raised:
        read_manifest(bad)
    [problem] = raised.value.problems
    assert problem.file == bad
    where, _, message = expected.partition(": ")
    assert problem.line == (int(where[1:]) if where else None)
    assert problem.message == "not a manifest bundle build wrote: " + message
    # the same through the command line: exit 2, the message, no traceback
    (tmp_path / "good.json").write_text(json.dumps(VALID_MANIFEST))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["manifest", "merge", "good.json", "bad.json", "-o", "m"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: bad.json{where}: not a manifest bundle build wrote: {message}{HINT}\n"
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("[" * 100_000, "not valid JSON: maximum recursion depth exceeded"),
        ('{"version": ' + "9" * 5000 + "}", "not valid JSON: Exceeds the limit (4300 digits)"),
    ],
    ids=["deeply nested", "5000 digits"],
)
def test_json_that_python_refuses_to_parse(tmp_path: Path, text: str, start: str) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text(text)
    with pytest.raises(UsageError) as raised:
        read_manifest(bad)
    [problem] = raised.value.problems
    assert problem.file == bad
    assert problem.message.startswith("not a manifest bundle build wrote: " + start), problem


def test_a_folder_or_a_missing_file_is_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        read_manifest(tmp_path)
    assert str(raised.value) == (
        f"{tmp_path}: not a manifest bundle build wrote: this is a folder, not a manifest{HINT}"
    )
    with pytest.raises(UsageError) as raised:
        read_manifest(tmp_path / "manifest.json")
    assert str(raised.value) == (
        f"{tmp_path}/manifest.json: no manifest.json in {tmp_path}; run `bundle build` first "
        "(or pass --out with the folder it wrote)"
    )


def test_merge_names_a_directory_given_as_a_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shard").mkdir()
    (tmp_path / "good.json").write_text(json.dumps(VALID_MANIFEST))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["manifest", "merge", "good.json", "shard"])
    assert result.exit_code == 2
    assert "Invalid value for 'MANIFESTS...': File 'shard' is a directory." in result.stderr
    assert "Traceback" not in result.output


def test_merge_of_one_valid_manifest_is_that_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.json").write_text(json.dumps(VALID_MANIFEST))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["manifest", "merge", "good.json", "-o", "out/m.json"])
    assert (result.exit_code, result.stdout) == (0, "out/m.json: 1 functions from 1 manifests\n")
    assert json.loads((tmp_path / "out" / "m.json").read_text()) == VALID_MANIFEST


# --- merge -o and audit --html to places that cannot be written: exit 2 before any work ------


@pytest.mark.parametrize(
    ("command", "option"),
    [(["manifest", "merge", "good.json"], "-o"), (["audit"], "--html")],
)
def test_output_file_under_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], option: str
) -> None:
    (tmp_path / "good.json").write_text(json.dumps(VALID_MANIFEST))
    (tmp_path / "notes.txt").write_text("a file\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*command, option, "notes.txt/out.html"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert (result.exit_code, result.stdout) == (2, "")
    target = "notes.txt/out.html" if option == "-o" else f"{tmp_path}/notes.txt/out.html"
    folder = "notes.txt" if option == "-o" else f"{tmp_path}/notes.txt"
    assert result.stderr == (
        f"error: cannot write {target}: {folder} is a file, not a folder; choose a path you "
        f"can write for {option}\n"
    )
