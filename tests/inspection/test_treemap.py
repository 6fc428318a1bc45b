"""The audit page: a light tree, no network requests, and a real headless browser draws it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from audit_support import run_audit
from support import CHROMIUM_ARGS, missing, png_colours

from bundler.inspection.audit import FunctionAudit, Member, audit_site
from bundler.inspection.treemap import audit_page, function_tree, page_data

CHROMIUM = "/usr/bin/chromium"


def leaves(nodes: list[dict[str, object]]) -> list[dict[str, object]]:
    found = []
    for node in nodes:
        children = node.get("c")
        found += leaves(children) if isinstance(children, list) else [node]  # type: ignore[arg-type]
    return found


def big_function(count: int = 6000) -> FunctionAudit:
    """A boto3-size zip: thousands of small files in nested folders, two owners."""
    members = [
        Member(
            name=f"botocore/data/service{i % 300}/{i // 300}/model.json",
            owner="botocore",
            kind="data",
            size=500 + i,
            compressed=1,
            zipped=1,
        )
        for i in range(count)
    ]
    members += [
        Member(name="handler.py", owner="", kind="source", size=120, compressed=1, zipped=1)
    ]
    members.sort(key=lambda m: (-m.size, m.name))
    return FunctionAudit(
        name="big",
        path=Path("big.zip"),
        zipped=1,
        members=tuple(members),
        distributions=(),
        savings=(),
    )


def test_tree_is_bounded_and_adds_up() -> None:
    function = big_function()
    tree = function_tree(function, 300)
    assert [node["d"] for node in tree] == ["botocore", ""]
    assert tree[1]["n"] == "first-party code"
    found = leaves(tree)  # type: ignore[arg-type]
    assert 40 < len(found) <= 300
    assert sum(int(node["v"]) for node in found) == function.unzipped  # type: ignore[call-overload]
    assert tree[0]["n"] == "botocore" and tree[0]["c"][0]["n"] == "botocore/data"  # type: ignore[index]


def test_every_owner_keeps_a_rectangle_even_when_the_budget_is_tiny() -> None:
    tree = function_tree(big_function(), 1)
    assert [(node["d"], "c" in node) for node in tree] == [("botocore", False), ("", False)]


def test_page_is_self_contained(built_site: Path) -> None:
    audit = audit_site(built_site / "dist" / "functions")
    page = audit_page(audit, built_site)
    without_namespace = page.replace('"http://www.w3.org/2000/svg"', "")
    for needle in ("http://", "https://", "src=", "href=", "@import", "url("):
        assert needle not in without_namespace
    embedded = re.search(r'<script type="application/json" id="audit-data">(.*?)</script>', page)
    assert embedded is not None
    assert json.loads(embedded.group(1)) == page_data(audit, built_site)
    data = page_data(audit, built_site)
    assert [d["name"] for d in data["distributions"]] == [
        "nativepkg",
        "botocore",
        "boto3",
        "tinydist",
    ]
    assert data["distributions"][-1]["functions"] == ["alpha", "beta"]


def test_html_option_writes_the_page(built_site: Path, tmp_path: Path) -> None:
    page = tmp_path / "audit.html"
    result = run_audit(built_site, "--html", str(page))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote {page}\n"
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")


def chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_ARGS,
            f"--user-data-dir={profile}",
            "--window-size=1400,1000",
            "--virtual-time-budget=5000",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_a_real_browser_draws_the_page(built_site: Path, tmp_path: Path) -> None:
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        missing(str(CHROMIUM), "apt-get install chromium")
    page = tmp_path / "audit.html"
    assert run_audit(built_site, "--html", str(page)).exit_code == 0
    url = page.as_uri()
    dom = chromium("--dump-dom", url, profile=tmp_path / "profile-dom").stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:2000]
    assert 'data-ready="1"' in body.group(0) and "data-error" not in body.group(0), body.group(0)
    for name in ("alpha", "beta", "cloud"):
        assert f'data-function="{name}"' in dom
    for function, owners in {
        "alpha": ("nativepkg", "tinydist", "(first-party)"),
        "cloud": ("botocore", "boto3", "(first-party)"),
        "beta": ("tinydist", "(first-party)"),
    }.items():
        section = dom.split(f'data-function="{function}"', 1)[1].split("</section>", 1)[0]
        for owner in owners:
            assert re.search(rf'<rect [^>]*data-dist="{re.escape(owner)}"', section), (
                function,
                owner,
            )
    screenshot = tmp_path / "audit.png"
    chromium(f"--screenshot={screenshot}", url, profile=tmp_path / "profile-png")
    assert png_colours(screenshot) > 20
