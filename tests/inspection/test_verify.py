"""`bundle verify`: each handler imported in a clean interpreter, as Lambda would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import SAMPLE_SITE

from bundler.cli import main
from bundler.errors import UsageError
from bundler.files import record_hash
from bundler.inspection.verify import verify_bundles

PYTHON = Path(sys.executable)
RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
HELLO = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"


def write_out(
    out: Path,
    functions: Mapping[str, Mapping[str, str | bytes]],
    arch: str = "x86_64",
    runtime: str = RUNTIME,
) -> Path:
    """A manifest and one zip per function (name -> {arcname: text}); handler NAME.handler."""
    out.mkdir(parents=True, exist_ok=True)
    listed = []
    for name, files in functions.items():
        with zipfile.ZipFile(out / f"{name}.zip", "w") as archive:
            for arcname, text in files.items():
                archive.writestr(arcname, text)
        listed.append(manifest_entry(out, name, runtime))
    manifest = {
        "version": 1,
        "bundlerVersion": "0.1.0",
        "system": {"arch": arch, "platform": "linux", "runtime": runtime},
        "functions": listed,
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def manifest_entry(out: Path, name: str, runtime: str = RUNTIME) -> dict[str, object]:
    """The manifest entry `bundle build` would write for the zip `out/NAME.zip`."""
    data = (out / f"{name}.zip").read_bytes()
    with zipfile.ZipFile(out / f"{name}.zip") as archive:
        infos = archive.infolist()
    return {
        "name": name, "path": f"{name}.zip", "mainFile": f"netlify/functions/{name}.py",
        "handler": f"{name}.handler", "runtime": runtime, "kind": "sync",
        "invocationMode": None, "schedule": None, "trigger": None, "files": len(infos),
        "zippedSize": len(data), "unzippedSize": sum(i.file_size for i in infos),
        "sha256": hashlib.sha256(data).hexdigest(), "distributions": [],
    }  # fmt: skip


def rewrite_manifest(out: Path) -> None:
    """Make `out/manifest.json` describe the zips as they are now (after a test changed one)."""
    document = json.loads((out / "manifest.json").read_text())
    for function in document["functions"]:
        fresh = manifest_entry(out, function["name"])
        for key in ("files", "zippedSize", "unzippedSize", "sha256"):
            function[key] = fresh[key]
    (out / "manifest.json").write_text(json.dumps(document))


def lines(output: str) -> list[str]:
    return [re.sub(r"\d+ ms", "N ms", line) for line in output.splitlines()]


def test_ok_and_failing_imports(tmp_path: Path) -> None:
    out = write_out(
        tmp_path / "out",
        {
            "hello": {"hello.py": HELLO},
            "todos": {"todos.py": "import bson\n" + HELLO},
            "nohandler": {"nohandler.py": "handler = 3\n"},
        },
    )
    result = verify_bundles(out, PYTHON, machine="x86_64")
    assert [(c.name, c.ok, re.sub(r"\d+ ms", "N ms", c.detail)) for c in result.checks] == [
        ("hello", True, "imported in N ms"),
        ("nohandler", False, "nohandler.handler is missing or not callable"),
        ("todos", False, "ModuleNotFoundError: No module named 'bson'"),
    ]
    assert not result.ok


def test_cli_invoke(tmp_path: Path) -> None:
    background = "def handler(event, context):\n    assert event['httpMethod'] == 'GET'\n"
    out = write_out(
        tmp_path / "out",
        {"hello": {"hello.py": HELLO}, "send-background": {"send-background.py": background}},
        arch=_machine(),
    )
    done = CliRunner().invoke(main, ["verify", "--out", str(out), "--python", sys.executable,
                                     "--invoke"])  # fmt: skip
    assert (done.exit_code, lines(done.stdout)) == (
        0,
        [
            "ok   hello            imported in N ms, statusCode 200",
            "ok   send-background  imported in N ms, invoked",
        ],
    )


def test_cli_fails_with_exit_1(tmp_path: Path) -> None:
    out = write_out(tmp_path / "out", {"todos": {"todos.py": "import bson\n"}}, arch=_machine())
    done = CliRunner().invoke(main, ["verify", "--out", str(out), "--python", sys.executable])
    assert (done.exit_code, done.stdout) == (
        1,
        "FAIL todos  ModuleNotFoundError: No module named 'bson'\n",
    )


def test_foreign_arch_checks_the_files_only(tmp_path: Path) -> None:
    elf_x86 = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00\x3e\x00\x01\x00\x00\x00" + bytes(40)
    out = tmp_path / "out"
    write_out(out, {"hello": {"hello.py": "import bson\n" + HELLO}}, "arm64", "python3.11")
    with zipfile.ZipFile(out / "hello.zip", "a") as archive:
        archive.writestr("native.cpython-311-x86_64-linux-gnu.so", elf_x86)
    rewrite_manifest(out)
    result = verify_bundles(out, PYTHON, machine="x86_64")
    assert not result.ran
    (check,) = result.checks
    assert (
        (check.ok, check.detail)
        == (
            False,
            "the function's own files has 1 file of native code for x86_64: "
            "native.cpython-311-x86_64-linux-gnu.so; python3.11 on arm64 (Amazon Linux 2, "
            "glibc 2.26) needs aarch64 Linux code for cp311",
        )
        if RUNTIME == "python3.11"
        else (False, check.detail)
    )
    write_out(out, {"hello": {"hello.py": HELLO}}, arch="arm64")
    (check,) = verify_bundles(out, PYTHON, machine="x86_64").checks
    assert (check.ok, check.detail) == (True, "files checked; arm64 code cannot run on x86_64")


def test_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        verify_bundles(tmp_path, PYTHON)
    assert str(raised.value) == (
        f"{tmp_path}/manifest.json: no manifest.json in {tmp_path}; run `bundle build` first "
        "(or pass --out with the folder it wrote)"
    )


def test_python_of_another_version(tmp_path: Path) -> None:
    out = write_out(tmp_path / "out", {"hello": {"hello.py": HELLO}}, arch=_machine())
    document = json.loads((out / "manifest.json").read_text())
    document["system"]["runtime"] = "python3.12"
    (out / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(UsageError) as raised:
        verify_bundles(out, PYTHON)
    assert str(raised.value) == (
        f"the bundles are for python3.12, and {PYTHON} is Python {RUNTIME[6:]}; "
        "pass --python with a Python 3.12 interpreter"
    )


@pytest.mark.slow
@pytest.mark.sample_site
def test_sample_site_verifies_and_a_missing_module_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site, ignore=shutil.ignore_patterns(".venv", "dist"))
    python = SAMPLE_SITE / ".venv" / "bin" / "python"
    out = tmp_path / "out"
    bundle = [sys.executable, "-m", "bundler"]
    subprocess.run([*bundle, "build", "--out", str(out), "--python", str(python)], cwd=site,
                   check=True, capture_output=True)  # fmt: skip
    verify = [*bundle, "verify", "--out", str(out), "--python", str(python)]
    done = subprocess.run(verify, cwd=site, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert [line.split()[:2] for line in done.stdout.splitlines()] == [
        ["ok", name]
        for name in ("api", "daily-report", "fastapi-app", "hello", "notes", "quote",
                     "send-report-background", "stats", "todos")
    ]  # fmt: skip
    zipped = out / "todos.zip"
    with zipfile.ZipFile(zipped) as archive:
        kept = [
            (i, archive.read(i)) for i in archive.infolist() if not i.filename.startswith("bson/")
        ]
    with zipfile.ZipFile(zipped, "w") as archive:
        for info, data in kept:
            archive.writestr(info, data)
    failures = (
        # the zip against its manifest entry
        r"FAIL todos +todos\.zip is [\d,]+ bytes, and manifest\.json says [\d,]+: it changed "
        r"after the build; build again",
        # a manifest rewritten to match: the shipped RECORD still names what is missing
        r"FAIL todos +bson/\S+ of distribution pymongo is listed in its RECORD but missing "
        r"from todos\.zip; build again",
    )
    for index, failure in enumerate(failures):
        if index:
            rewrite_manifest(out)
        done = subprocess.run(verify, cwd=site, capture_output=True, text=True, check=False)
        assert done.returncode == 1
        [line] = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
        assert re.fullmatch(failure, line), line


def _machine() -> str:
    import platform

    return platform.machine()


# --- integrity: the zip against its manifest entry and its RECORD, before anything runs ----

MARKER_HANDLER = (
    "import pathlib, tinydist\n"
    "pathlib.Path({marker!r}).write_text('imported')\n\n"
    "def handler(event, context):\n    return {{'statusCode': 200}}\n"
)


def distribution_files() -> dict[str, str | bytes]:
    """tinydist 1.0 as it ships: its module and a RECORD with the module's real hash."""
    record = (
        f"tinydist.py,{record_hash(b'VALUE = 42' + bytes([10]))},11\n"
        "tinydist-1.0.dist-info/METADATA,,\n"
        "tinydist-1.0.dist-info/RECORD,,\n"
    )
    return {
        "tinydist.py": b"VALUE = 42\n",
        "tinydist-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinydist\nVersion: 1.0\n",
        "tinydist-1.0.dist-info/RECORD": record,
    }


@pytest.fixture
def marked(tmp_path: Path) -> tuple[Path, Path]:
    """An out folder with good.zip (which writes `marker` when imported) and its marker."""
    marker = tmp_path / "imported"
    files = {"good.py": MARKER_HANDLER.format(marker=str(marker)), **distribution_files()}
    return write_out(tmp_path / "out", {"good": files}, arch=_machine()), marker


def _verify_line(out: Path) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["verify", "--out", str(out), "--python", sys.executable])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exc_info
    return done.exit_code, re.sub(r"\d+ ms", "N ms", done.stdout)


def test_an_intact_zip_is_imported(marked: tuple[Path, Path]) -> None:
    out, marker = marked
    assert _verify_line(out) == (0, "ok   good  imported in N ms\n")
    assert marker.read_text() == "imported"


def _flip_a_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_flipped_byte_fails_the_zip_by_its_sha256(marked: tuple[Path, Path]) -> None:
    out, marker = marked
    _flip_a_byte(out / "good.zip", 40)
    assert _verify_line(out) == (
        1,
        "FAIL good  good.zip does not match its sha256 in manifest.json: it changed after the "
        "build; build again\n",
    )
    assert not marker.exists()  # nothing of a changed zip runs


def test_a_truncated_zip_fails_by_its_size(marked: tuple[Path, Path]) -> None:
    out, marker = marked
    size = (out / "good.zip").stat().st_size
    os.truncate(out / "good.zip", 100)
    assert _verify_line(out) == (
        1,
        f"FAIL good  good.zip is 100 bytes, and manifest.json says {size:,}: it changed after "
        "the build; build again\n",
    )
    assert not marker.exists()


def test_not_a_zip_is_a_clean_failure(marked: tuple[Path, Path]) -> None:
    out, marker = marked
    (out / "good.zip").write_bytes(b"this is not a zip at all\n")
    _describe_as_built(out, "good", b"this is not a zip at all\n")
    assert _verify_line(out) == (
        1,
        "FAIL good  good.zip is not a readable zip: File is not a zip file; build again\n",
    )
    assert not marker.exists()


def _describe_as_built(out: Path, name: str, data: bytes) -> None:
    """Make the manifest entry of `name` describe `data` (a tampered manifest, too)."""
    document = json.loads((out / "manifest.json").read_text())
    for function in document["functions"]:
        if function["name"] == name:
            function["zippedSize"] = len(data)
            function["sha256"] = hashlib.sha256(data).hexdigest()
    (out / "manifest.json").write_text(json.dumps(document))


def _replace_member(bundle: Path, member: str, data: bytes | None) -> None:
    """Rewrite `bundle` with `member` replaced by `data` (None: left out)."""
    with zipfile.ZipFile(bundle) as archive:
        kept = [(i.filename, archive.read(i)) for i in archive.infolist()]
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, content in kept:
            if name != member:
                archive.writestr(name, content)
            elif data is not None:
                archive.writestr(name, data)


@pytest.mark.parametrize(
    ("member", "data", "expected"),
    [
        (
            "tinydist.py",
            b"VALUE = 666\n",
            "FAIL good  tinydist.py in distribution tinydist does not match its RECORD hash in "
            "good.zip; build again\n",
        ),
        (
            "tinydist.py",
            None,
            "FAIL good  tinydist.py of distribution tinydist is listed in its RECORD but missing "
            "from good.zip; build again\n",
        ),
        (
            "tinydist-1.0.dist-info/RECORD",
            b"\xff\xfe\x00",
            "FAIL good  good.zip is not a readable zip: tinydist-1.0.dist-info/RECORD is not a "
            "valid RECORD ('utf-8' codec can't decode byte 0xff in position 0: invalid start "
            "byte); build again\n",
        ),
    ],
    ids=["changed", "missing", "RECORD not text"],
)
def test_a_distribution_file_is_checked_against_the_shipped_record(
    marked: tuple[Path, Path], member: str, data: bytes | None, expected: str
) -> None:
    out, marker = marked
    _replace_member(out / "good.zip", member, data)
    rewrite_manifest(out)  # whoever changed the zip changed the manifest too
    assert _verify_line(out) == (1, expected)
    assert not marker.exists()


def test_a_damaged_member_of_a_consistent_zip_fails_when_unzipped(
    marked: tuple[Path, Path],
) -> None:
    # a first-party member (no RECORD names it) with a flipped byte, manifest to match:
    # the zip's own CRC catches it while unzipping, before the import
    out, marker = marked
    bundle = out / "good.zip"
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("good.py")
    _flip_a_byte(bundle, info.header_offset + 30 + len(info.filename) + 3)  # stored data
    _describe_as_built(out, "good", bundle.read_bytes())
    assert _verify_line(out) == (
        1,
        "FAIL good  cannot unzip good.zip: Bad CRC-32 for file 'good.py'\n",
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "name",
            "../../escape",
            "functions[0].name: '../../escape' is not a function name (letters, digits, '-' "
            "and '_' only)",
        ),
        ("path", "../../escape.zip", "functions[0].path: '../../escape.zip' is not 'good.zip'"),
    ],
)
def test_a_crafted_name_never_becomes_a_path(
    marked: tuple[Path, Path], field: str, value: str, message: str
) -> None:
    out, marker = marked
    # a bundle planted outside the output folder, where the crafted name points
    escape = out.parent.parent / "escape.zip"
    shutil.copy(out / "good.zip", escape)
    document = json.loads((out / "manifest.json").read_text())
    document["functions"][0][field] = value
    (out / "manifest.json").write_text(json.dumps(document))
    done = CliRunner().invoke(main, ["verify", "--out", str(out), "--python", sys.executable])
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        f"error: {out}/manifest.json: not a manifest bundle build wrote: {message}; pass a "
        "manifest.json written by `bundle build`, or build again\n"
    )
    assert not marker.exists()
