"""`bundle audit --html`: one self-contained page with a squarified treemap of every zip.

No network requests: the CSS and JavaScript are inline and the data is embedded as JSON.
Files are grouped into their folders, and small ones aggregated, so that the page stays
light for numpy- or boto3-size zips: at most `MAX_RECTANGLES` leaves in all.
"""

from __future__ import annotations

import heapq
import html
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.errors import display_path
from bundler.inspection.audit import FunctionAudit, Member, SiteAudit, Weight
from bundler.pack.limits import UNZIPPED_LIMIT, ZIPPED_LIMIT, human_size

MAX_RECTANGLES = 2400
MIN_PER_FUNCTION = 40
MAX_CHILDREN = 24  # children shown per folder at least; the rest make one "N smaller" box
MIN_SHARE = 0.004  # folders under this share of the zip are never opened
MIN_VISIBLE = 0.001  # past MAX_CHILDREN, children at least this share still get a box


@dataclass
class _Node:
    """A folder or file of the tree being built (mutable only while it is built)."""

    name: str
    path: str
    size: int = 0
    children: dict[str, _Node] = field(default_factory=dict)

    def add(self, parts: list[str], size: int) -> None:
        self.size += size
        if parts:
            path = f"{self.path}/{parts[0]}" if self.path else parts[0]
            child = self.children.setdefault(parts[0], _Node(parts[0], path))
            child.add(parts[1:], size)


def function_tree(function: FunctionAudit, budget: int) -> list[dict[str, Any]]:
    """One node per owner (distribution or first-party), opened biggest folder first.

    A node is `{"n": label, "p": path, "v": bytes, "c": children}`; owners add `"d"`.
    """
    owners: dict[str, _Node] = {}
    for member in function.members:
        owner = owners.setdefault(member.owner, _Node(member.owner, ""))
        owner.add(member.name.split("/"), member.size)
    total = function.unzipped or 1
    visible = total * MIN_VISIBLE
    shown: dict[int, list[_Node]] = {}
    leaves = len(owners)
    queue = [(-node.size, key, node) for key, node in sorted(owners.items())]
    heapq.heapify(queue)
    while queue:
        _, key, node = heapq.heappop(queue)
        node = _collapse(node)
        if not node.children or node.size < total * MIN_SHARE:
            continue
        children = sorted(node.children.values(), key=lambda n: (-n.size, n.name))
        room = budget - leaves + 1  # leaves this node may become
        wanted = sum(1 for i, c in enumerate(children) if i < MAX_CHILDREN or c.size >= visible)
        # all of them when they fit, else one box less and a box for the rest
        count = wanted if wanted == len(children) <= room else min(wanted, room - 1)
        if count < 1:
            continue
        kept, rest = children[:count], children[count:]
        if rest:
            other = _Node(f"{len(rest)} smaller", f"{node.path}/…" if node.path else "…")
            other.size = sum(n.size for n in rest)
            kept.append(other)
        shown[id(node)] = kept
        leaves += len(kept) - 1
        for child in kept:
            if child.children:
                heapq.heappush(queue, (-child.size, f"{key}/{child.path}", child))
    return [
        {**_emit(_collapse(node), shown), "n": name or "first-party code", "d": name}
        for name, node in sorted(owners.items(), key=lambda item: (-item[1].size, item[0]))
    ]


def _collapse(node: _Node) -> _Node:
    """A folder holding one folder is shown as one box: `a/b` (owners stay as they are)."""
    while node.path and len(node.children) == 1:
        (child,) = node.children.values()
        if not child.children:
            break
        node.children = child.children
        node.name = f"{node.name}/{child.name}" if node.name else child.name
        node.path = child.path
    return node


def _emit(node: _Node, shown: dict[int, list[_Node]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": node.name, "p": node.path, "v": node.size}
    if id(node) in shown:
        out["c"] = [_emit(_collapse(child), shown) for child in shown[id(node)]]
    return out


def page_data(audit: SiteAudit, root: Path) -> dict[str, Any]:
    """What the page's script draws."""
    budget = max(MIN_PER_FUNCTION, MAX_RECTANGLES // max(len(audit.functions), 1))
    versions: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for function in audit.functions:
        for d in function.distributions:
            versions.setdefault(d.name, d.version)
            sizes[d.name] = max(sizes.get(d.name, 0), d.weight.size)
    return {
        "out": display_path(audit.out, root),
        "bundlerVersion": __version__,
        "limits": {"zipped": ZIPPED_LIMIT, "unzipped": UNZIPPED_LIMIT},
        "total": len(audit.names),
        "functions": [
            {
                "name": f.name,
                "zip": f.path.name,
                "files": len(f.members),
                "zipped": f.zipped,
                "unzipped": f.unzipped,
                "owners": [_owner(f, d.name, d.weight) for d in f.distributions]
                + [_owner(f, "", Weight.of(f.first_party))],
                "largest": [_member(m) for m in f.largest[:5]],
                "savings": [
                    {"title": s.title, "bytes": s.weight.size, "action": s.action}
                    for s in f.savings
                ],
                "tree": function_tree(f, budget),
            }
            for f in audit.functions
        ],
        "distributions": [
            {
                "name": name,
                "version": versions.get(name, ""),
                "bytes": sizes.get(name, 0),
                "functions": list(names),
            }
            for name, names in sorted(audit.shipped_by.items(), key=lambda i: -sizes.get(i[0], 0))
            if name in sizes
        ],
        "problems": [p.format(root) for p in audit.problems],
    }


def _owner(function: FunctionAudit, name: str, weight: Weight) -> dict[str, Any]:
    return {"d": name, "bytes": weight.size, "zipped": weight.zipped, "files": weight.files}


def _member(member: Member) -> dict[str, Any]:
    return {"name": member.name, "owner": member.owner, "bytes": member.size}


def audit_page(audit: SiteAudit, root: Path) -> str:
    """The whole page: HTML, inline CSS and JS, the data as embedded JSON."""
    data = json.dumps(page_data(audit, root), separators=(",", ":"), sort_keys=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    biggest = max(audit.functions, key=lambda f: f.zipped, default=None)
    subtitle = (
        f"{len(audit.functions)} functions in {display_path(audit.out, root)}; largest: "
        f"{biggest.name}, {human_size(biggest.zipped)} zipped, "
        f"{human_size(biggest.unzipped)} unzipped"
        if biggest
        else "no functions"
    )
    return (
        _PAGE.replace("@TITLE@", html.escape(f"Bundle audit: {display_path(audit.out, root)}"))
        .replace("@SUBTITLE@", html.escape(subtitle))
        .replace("@CSS@", _asset("treemap.css"))
        .replace("@SCRIPT@", _asset("treemap.js"))
        .replace("@DATA@", data)
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>@CSS@</style>
</head>
<body>
<header><h1>@TITLE@</h1><p class="sub">@SUBTITLE@</p></header>
<main id="app"></main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="audit-data">@DATA@</script>
<script>@SCRIPT@</script>
</body>
</html>
"""


@cache
def _asset(name: str) -> str:
    """The page's CSS or script, package data beside this module."""
    return resources.files("bundler.inspection").joinpath(name).read_text(encoding="utf-8")
