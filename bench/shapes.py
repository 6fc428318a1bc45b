"""The generated shapes of issue 14: many small functions, and a few over a big shared library.

- `many`: 2,000 small functions, each importing a couple of stdlib modules, one or two of the
  site's 40 small first-party modules (`common/`) and, for about half, one small third-party
  distribution (attrs, click, PyYAML, python-dateutil);
- `shared-lib`: 50 functions importing a first-party package `lib/` of 20,000 lines: 100
  modules in six layers (util, core, models, storage, services, api), each importing 2 to 4
  modules of its own or lower layers, stdlib modules, and some of the site's distributions.

Both are seeded: the same arguments write the same bytes.
"""

from __future__ import annotations

import random
from pathlib import Path

from workload import Site, new_site

STDLIB = ("json", "os", "re", "hashlib", "datetime", "logging", "base64", "uuid", "time", "math")
SMALL_DISTS = ("attrs", "click", "yaml", "dateutil")  # import names; all in PACKAGES
COMMON_MODULES = 40


def generate_many(work: Path, count: int = 2000, seed: int = 14) -> Site:
    """`count` small functions sharing a `common/` package of small first-party modules."""
    root = new_site(work, f"many-{count}")
    rng = random.Random(seed)
    common = root / "common"
    common.mkdir()
    (common / "__init__.py").write_text('"""Helpers shared by the functions."""\n')
    for index in range(COMMON_MODULES):
        stdlib = rng.sample(STDLIB, 2)
        lines = [f'"""Helper {index}."""', "", *(f"import {m}" for m in sorted(stdlib))]
        if index and rng.random() < 0.3:  # a few helpers build on an earlier one
            lines.append(f"from common import helper_{rng.randrange(index):02d}")
        lines += [
            "",
            "",
            "def render(event: dict) -> str:",
            f'    """Format `event` for helper {index}."""',
            "    keys = sorted(str(k) for k in event)",
            f'    return "{index}:" + ",".join(keys)',
        ]
        (common / f"helper_{index:02d}.py").write_text("\n".join(lines) + "\n")
    functions: dict[str, tuple[str, ...]] = {}
    for index in range(count):
        name = f"fn_{index:04d}"
        third = (rng.choice(SMALL_DISTS),) if rng.random() < 0.5 else ()
        functions[name] = third
        helpers = sorted(rng.sample(range(COMMON_MODULES), rng.randint(1, 2)))
        lines = [
            *(f"import {m}" for m in sorted(rng.sample(STDLIB, 2))),
            *(f"import {m}" for m in third),
            *(f"from common import helper_{h:02d}" for h in helpers),
            "",
            "",
            "def handler(event, context):",
            f"    body = helper_{helpers[0]:02d}.render(event or {{}})",
            f'    return {{"statusCode": 200, "body": "{name} " + body}}',
        ]
        (root / "netlify" / "functions" / f"{name}.py").write_text("\n".join(lines) + "\n")
    return Site(root, functions, ("common",))


LAYERS = ("util", "core", "models", "storage", "services", "api")
LIB_DISTS = ("requests", "pydantic", "yaml", "dateutil", "attrs", "jinja2")


def generate_shared_lib(
    work: Path, count: int = 50, lines: int = 20_000, modules: int = 100, seed: int = 14
) -> Site:
    """`count` functions, each importing 2 or 3 `lib.api` modules of a `lines`-line `lib/`."""
    root = new_site(work, f"shared-lib-{count}")
    rng = random.Random(seed)
    lib = root / "lib"
    written: list[tuple[str, str]] = []  # (layer, module) in order: imports only look back
    uses: dict[str, tuple[list[str], list[str]]] = {}  # module -> (distributions, modules)
    per_layer = modules // len(LAYERS)
    lib.mkdir()
    (lib / "__init__.py").write_text('"""The site\'s shared library."""\n')
    remaining = lines - 1
    for layer in LAYERS:
        package = lib / layer
        package.mkdir()
        init = f'"""The {layer} layer."""\n'
        (package / "__init__.py").write_text(init)
        remaining -= 1
        layer_modules = per_layer + (modules % len(LAYERS) if layer == LAYERS[-1] else 0)
        for index in range(layer_modules):
            name = f"{layer}_{index:02d}"
            left = modules - len(written)
            target = remaining if left == 1 else remaining // left
            text, uses[name] = _library_module(rng, layer, name, written, target)
            (package / f"{name}.py").write_text(text)
            remaining -= text.count("\n")
            written.append((layer, name))
    api = [m for layer, m in written if layer == "api"]
    functions: dict[str, tuple[str, ...]] = {}
    for index in range(count):
        name = f"fn_{index:02d}"
        chosen = sorted(rng.sample(api, rng.randint(2, 3)))
        functions[name] = _distributions(chosen, uses)  # what SAM-like installs
        body = [
            "import json",
            "",
            *(f"from lib.api import {m}" for m in chosen),
            "",
            "",
            "def handler(event, context):",
            f"    result = {chosen[0]}.Handler{0}().run(event or {{}})",
            '    return {"statusCode": 200, "body": json.dumps(result, default=str)}',
        ]
        (root / "netlify" / "functions" / f"{name}.py").write_text("\n".join(body) + "\n")
    return Site(root, functions, ("lib",))


def _library_module(
    rng: random.Random, layer: str, name: str, written: list[tuple[str, str]], target: int
) -> tuple[str, tuple[list[str], list[str]]]:
    """One module of `lib/` of exactly `target` lines (at least its header's), and the
    distributions and `lib` modules it imports."""
    imports = sorted(rng.sample(STDLIB, 3))
    dists = sorted(rng.sample(LIB_DISTS, rng.randint(0, 2)))
    earlier = rng.sample(written, min(len(written), rng.randint(2, 4)))
    out = [f'"""{layer.title()} module {name}: generated for the benchmark."""', ""]
    out += [f"import {m}" for m in imports + dists]
    out += [f"from lib.{where} import {module}" for where, module in sorted(earlier)]
    out += ["", ""]
    calls = [f"{module}.helper_0" for _, module in earlier] or ["str"]
    block = 0
    while True:
        chunk = _block(name, block, imports, calls) if block else _handler(block, calls)
        if len(out) + len(chunk) > target and block:
            break
        out += chunk
        block += 1
    while len(out) < target:  # pad to the exact count with a constant table
        out.append(f"CONSTANT_{len(out)} = {len(out) * 7 % 1000}")
    return "\n".join(out) + "\n", (dists, [module for _, module in earlier])


def _distributions(
    modules: list[str], uses: dict[str, tuple[list[str], list[str]]]
) -> tuple[str, ...]:
    """The import names of the distributions that `modules` import, directly or not."""
    seen: set[str] = set()
    found: set[str] = set()
    stack = list(modules)
    while stack:  # bounded: each module is expanded once
        module = stack.pop()
        if module not in seen:
            seen.add(module)
            found.update(uses[module][0])
            stack += uses[module][1]
    return tuple(sorted(found))


def _handler(index: int, calls: list[str]) -> list[str]:
    """The class every module has, so a function may call `Handler0().run(event)`."""
    return [
        f"class Handler{index}:",
        '    """Runs one request against this module."""',
        "",
        "    def run(self, event: dict) -> dict:",
        "        value = len(event)",
        *(f"        value = value + len({call}(event))" for call in calls),
        '        return {"value": value}',
        "",
        "",
        f"def helper_{index}(value: object) -> str:",
        '    """A small helper other modules call."""',
        "    return str(value)",
        "",
        "",
    ]


def _block(name: str, index: int, imports: list[str], calls: list[str]) -> list[str]:
    """A record class and a parser: about 30 lines of ordinary code."""
    stdlib = imports[index % len(imports)]
    return [
        f"class {name.title().replace('_', '')}Record{index}:",
        f'    """A record of the {name} table, number {index}."""',
        "",
        "    def __init__(self, key: str, value: int = 0) -> None:",
        "        self.key = key",
        "        self.value = value",
        f"        self.origin = {stdlib!r}",
        "",
        "    def total(self, items: list[int]) -> int:",
        "        result = self.value",
        "        for item in items:",
        f"            if item > {index}:",
        f"                result += item * {index % 7 + 2}",
        "            else:",
        "                result -= item",
        "        return result",
        "",
        "    def as_dict(self) -> dict[str, object]:",
        '        return {"key": self.key, "value": self.value, "origin": self.origin}',
        "",
        "",
        f"def parse_{index}(text: str) -> dict[str, str]:",
        '    """Split `key = value` lines."""',
        "    parts = {}",
        "    for line in text.splitlines():",
        '        name, _, value = line.partition("=")',
        "        parts[name.strip()] = value.strip()",
        f"    parts['_check'] = {calls[index % len(calls)]}(text)",
        "    return parts",
        "",
        "",
    ]
