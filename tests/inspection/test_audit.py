"""`bundle audit` over a real tiny site built by `bundle build`: numbers agree with the zips.

The site and `run_audit` are in audit_support.py (test_treemap uses them too); the
`built_site` fixture is in conftest.py.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from audit_support import BLOB, FUNCTIONS, LIB, SO, TEST_FILE, run_audit

from bundler.cli.audit import bar
from bundler.inspection.audit import Weight, audit_site, kind_of


@pytest.fixture
def site(built_site: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built_site, tmp_path / "site"))


def audit_json(site: Path, *arguments: str) -> dict[str, Any]:
    result = run_audit(site, "--json", *arguments)
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def infos(site: Path, name: str) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(site / "dist" / "functions" / f"{name}.zip") as archive:
        return archive.infolist()


def prefix_bytes(site: Path, name: str, *prefixes: str) -> int:
    return sum(i.file_size for i in infos(site, name) if i.filename.startswith(prefixes))


def test_json_sums_agree_with_the_zips_to_the_byte(built_site: Path) -> None:
    document = audit_json(built_site)
    assert document["version"] == 1
    assert document["limits"] == {"zipped": 52428800, "unzipped": 262144000}
    for function in document["functions"]:
        members = infos(built_site, function["name"])
        parts = [*function["distributions"], function["firstParty"]]
        assert sum(p["bytes"] for p in parts) == sum(i.file_size for i in members)
        assert sum(p["compressedBytes"] for p in parts) == sum(i.compress_size for i in members)
        assert sum(p["files"] for p in parts) == len(members) == function["files"]
        size = (built_site / "dist" / "functions" / f"{function['name']}.zip").stat().st_size
        assert function["zippedBytes"] == size
        assert sum(p["zippedBytes"] for p in parts) + function["zipOverheadBytes"] == size
        assert function["zipOverheadBytes"] == 22  # the end-of-central-directory record
        assert function["unzippedBytes"] == sum(i.file_size for i in members)
        kinds = function["kinds"].values()
        assert sum(k["bytes"] for k in kinds) == function["unzippedBytes"]
        assert function["limits"]["zipped"]["share"] == size / 52428800


def test_distributions_are_attributed_by_record_sorted_and_shared(built_site: Path) -> None:
    functions = {f["name"]: f for f in audit_json(built_site)["functions"]}
    alpha = functions["alpha"]
    assert [(d["name"], d["version"], d["shippedBy"]) for d in alpha["distributions"]] == [
        ("nativepkg", "3.1", 1),
        ("tinydist", "1.0", 2),
    ]
    native = alpha["distributions"][0]
    assert native["bytes"] == prefix_bytes(
        built_site, "alpha", "nativepkg/", "nativepkg.libs/", "nativepkg-3.1.dist-info/"
    )
    assert native["files"] == 5 + 5  # its files; INSTALLER, METADATA, RECORD, REQUESTED, WHEEL
    assert native["share"] == native["bytes"] / alpha["unzippedBytes"]
    (first,) = alpha["firstParty"]["members"]
    assert (first["name"], first["bytes"]) == ("alpha.py", len(FUNCTIONS["alpha.py"]))
    beta = functions["beta"]
    assert [m["name"] for m in beta["firstParty"]["members"]] == [
        "data.txt",
        "beta.py",
        "helper.py",
    ]
    assert [d["name"] for d in beta["distributions"]] == ["tinydist"]
    document = audit_json(built_site)
    assert {"name": "tinydist", "functions": ["alpha", "beta"]} in document["distributions"]
    assert [f["name"] for f in document["functions"]] == ["alpha", "cloud", "beta"]
    sizes = [f["unzippedBytes"] for f in document["functions"]]
    assert sizes == sorted(sizes, reverse=True)


def test_bytes_by_kind_and_largest_files(built_site: Path) -> None:
    alpha = next(f for f in audit_json(built_site)["functions"] if f["name"] == "alpha")
    kinds = alpha["kinds"]
    assert kinds["native"]["bytes"] == len(SO) + len(LIB)
    assert kinds["native"]["files"] == 2
    metadata = prefix_bytes(built_site, "alpha", "nativepkg-3.1.dist-info/", "tinydist-1.0.dist")
    assert kinds["metadata"]["bytes"] == metadata
    py = sum(i.file_size for i in infos(built_site, "alpha") if i.filename.endswith(".py"))
    assert kinds["source"]["bytes"] == py
    assert kinds["data"]["bytes"] == len(BLOB)
    largest = alpha["largestFiles"]
    assert [(m["name"], m["kind"], m["owner"]) for m in largest[:3]] == [
        ("nativepkg/table.bin", "data", "nativepkg"),
        ("nativepkg/_speed.cpython-311-x86_64-linux-gnu.so", "native", "nativepkg"),
        ("nativepkg.libs/libfast-1a2b.so.1.2", "native", "nativepkg"),
    ]


def test_savings_name_runtime_provided_distributions_and_tests_folders(built_site: Path) -> None:
    functions = {f["name"]: f for f in audit_json(built_site)["functions"]}
    (saving,) = functions["cloud"]["savings"]
    assert saving["action"] == '[tool.bundler] exclude = ["boto3", "botocore"]'
    assert saving["distributions"] == ["boto3", "botocore"]
    assert saving["bytes"] == sum(d["bytes"] for d in functions["cloud"]["distributions"])
    (tests,) = functions["alpha"]["savings"]
    assert tests["action"] is None
    assert tests["bytes"] == len(TEST_FILE)
    assert tests["title"].startswith("tests/ folders inside nativepkg: the bundler ships whole")
    assert functions["beta"]["savings"] == []


def test_terminal_view(built_site: Path) -> None:
    result = run_audit(built_site)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "\x1b[" not in text
    assert text.index("alpha  alpha.zip") < text.index("cloud  cloud.zip") < text.index("beta")
    assert "  tinydist          1.0          6     588 B   1.8%  1.2 KiB  2 of 3\n" in text
    assert "  zipped       4.5 KiB  ······························  0.01% of 50.0 MiB\n" in text
    assert "2 of 3" in text
    assert '    add to pyproject.toml: [tool.bundler] exclude = ["boto3", "botocore"]' in text
    assert "  first-party files:\n    500 B  data.txt\n" in text
    assert "by kind: native 8.0 KiB (" in text


def test_colour_only_when_allowed(built_site: Path) -> None:
    assert "\x1b[" in run_audit(built_site, color=True).stdout
    assert "\x1b[" not in run_audit(built_site, env={"NO_COLOR": "1"}, color=True).stdout


def test_function_option_limits_the_report(built_site: Path) -> None:
    document = audit_json(built_site, "--function", "beta", "--function", "cloud")
    assert [f["name"] for f in document["functions"]] == ["cloud", "beta"]
    assert document["functions"][1]["distributions"][0]["shippedBy"] == 2  # alpha counts


def test_unknown_function_is_a_usage_error(built_site: Path) -> None:
    result = run_audit(built_site, "--function", "alpah")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: no function named 'alpah' in {built_site}/dist/functions/manifest.json; "
        "did you mean 'alpha'? known functions: alpha, beta, cloud\n"
    )


def test_fail_over(built_site: Path) -> None:
    assert run_audit(built_site, "--fail-over", "50").exit_code == 0
    result = run_audit(built_site, "--fail-over", "0.01", "--function", "alpha")
    assert result.exit_code == 1
    unzipped = sum(i.file_size for i in infos(built_site, "alpha"))
    share = unzipped / 262144000
    assert share > 0.0001
    assert result.stderr.splitlines() == [
        f"error: dist/functions/alpha.zip: function alpha is {unzipped / 1024:.1f} KiB unzipped, "
        f"{share:.1%} of Lambda's 250.0 MiB limit, over --fail-over 0.01%; "
        "run `bundle audit` to see what takes the space"
    ]


def test_missing_manifest_or_folder(site: Path) -> None:
    (site / "dist" / "functions" / "manifest.json").unlink()
    result = run_audit(site)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: dist/functions/manifest.json: no manifest.json in "
        f"{site}/dist/functions; run `bundle build` first (or pass --out with the folder it "
        "wrote)\n"
    )
    result = run_audit(site, "--out", "elsewhere")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: no output folder {site}/elsewhere; run `bundle")


def test_a_zip_changed_after_the_build(site: Path) -> None:
    with zipfile.ZipFile(site / "dist" / "functions" / "beta.zip", "a") as archive:
        archive.writestr("extra.txt", "added later\n")
    result = run_audit(site, "--json")
    assert result.exit_code == 1
    beta = next(f for f in json.loads(result.stdout)["functions"] if f["name"] == "beta")
    assert "extra.txt" in [m["name"] for m in beta["firstParty"]["members"]]
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: dist/functions/beta.zip: the zip does not match manifest.json")
    assert ": its sha256 differs; zippedSize " in line
    assert "; files 10 (the manifest says 9); it was changed" in line
    assert line.endswith("; it was changed after the build; run `bundle build` again")


def test_a_missing_zip(site: Path) -> None:
    (site / "dist" / "functions" / "cloud.zip").unlink()
    assert run_audit(site, "--function", "alpha").exit_code == 0
    result = run_audit(site)
    assert result.exit_code == 1
    assert "error: dist/functions/cloud.zip: cannot read the zip of function cloud: " in (
        result.stderr
    )


def test_library_returns_data(built_site: Path) -> None:
    audit = audit_site(built_site / "dist" / "functions")
    assert audit.names == ("alpha", "beta", "cloud")
    assert audit.shipped_by["tinydist"] == ("alpha", "beta")
    alpha = audit.functions[0]
    assert Weight.of(alpha.members).size == alpha.unzipped


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a/_x.cpython-311-x86_64-linux-gnu.so", "native"),
        ("numpy.libs/libopenblas-r0.3.so.0.3", "native"),
        ("a/b.pyd", "native"),
        ("a/b.dylib", "native"),
        ("a/b.py", "source"),
        ("x-1.0.dist-info/RECORD", "metadata"),
        ("x-1.0.dist-info/licenses/a.py", "metadata"),
        ("a/cacert.pem", "data"),
        ("a/b.pyi", "data"),
        ("a/so.txt", "data"),
    ],
)
def test_kind_of(name: str, kind: str) -> None:
    assert kind_of(name) == kind


def test_bar() -> None:
    assert bar(0, 4) == "····"
    assert bar(0.5, 4) == "██··"
    assert bar(1 / 32, 4) == "▏···"
    assert bar(2.0, 4) == "████"


def test_a_crafted_manifest_is_refused_before_any_zip_is_read(site: Path) -> None:
    manifest = site / "dist" / "functions" / "manifest.json"
    document = json.loads(manifest.read_text())
    document["functions"][0]["path"] = "../../../etc/passwd"
    manifest.write_text(json.dumps(document))
    result = run_audit(site, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["problems"][0]["message"] == (
        "not a manifest bundle build wrote: functions[0].path: '../../../etc/passwd' is not "
        "'alpha.zip'"
    )
    assert result.stderr == (
        "error: dist/functions/manifest.json: not a manifest bundle build wrote: "
        "functions[0].path: '../../../etc/passwd' is not 'alpha.zip'; pass a manifest.json "
        "written by `bundle build`, or build again\n"
    )
