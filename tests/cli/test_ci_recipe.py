"""The README's GitHub Actions recipe, run here: its `run:` lines, one shard job after
another from one cache, the artifacts moved as the actions would, then the merge job; the
result must be byte for byte a single build's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from build_support import PYPROJECT, make_site
from support import REPO

SITE = {
    **{
        f"fn{index}.py": f"import tinydist\n\ndef handler(event, context):\n"
        f"    return tinydist.VALUE + {index}\n"
        for index in range(9)
    },
    "dir/dir.py": "from helper import greet\n\ndef handler(event, context):\n    return greet()\n",
    "dir/helper.py": "def greet():\n    return 'hi'\n",
}


def recipe() -> tuple[list[str], list[str], int]:
    """The `run:` lines of the README's shard job and merge job, and the shard count."""
    text = (REPO / "README.md").read_text()
    block = text.split("### Across CI machines", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    shards = re.search(r"shard: \[([\d, ]+)\]", block)
    assert shards is not None
    count = len(shards.group(1).split(","))
    jobs = re.split(r"\n  (?=\w[\w-]*:\n)", block)
    runs = [[m.strip() for m in re.findall(r"- run: (.+)", job)] for job in jobs]
    shard_job = next(r for r in runs if any("--shard" in line for line in r))
    merge_job = next(r for r in runs if any("manifest merge" in line for line in r))
    return shard_job, merge_job, count


def local(line: str, bundle: str, shard: int | None = None) -> str | None:
    """A `run:` line as it runs here: installing is done already (the test's environment
    is the site's .venv), and `.venv/bin/bundle` is this checkout's."""
    if "pip install" in line:
        return None
    if shard is not None:
        line = line.replace("${{ matrix.shard }}", str(shard))
    assert "${{" not in line, line
    return line.replace(".venv/bin/bundle", bundle)


def test_the_readme_recipe_merges_to_a_single_build(python: Path, tmp_path: Path) -> None:
    shard_job, merge_job, count = recipe()
    assert count >= 2
    assert any("--shard ${{ matrix.shard }}/" in line for line in shard_job)
    site = make_site(tmp_path / "site", SITE, PYPROJECT)
    (site / ".venv").symlink_to(python.parent.parent)  # the environment a job installed
    bundle = f"{sys.executable} -m bundler"

    def sh(line: str) -> None:
        done = subprocess.run(
            ["bash", "-c", line], cwd=site, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, (line, done.stdout, done.stderr)

    for shard in range(1, count + 1):  # each machine of the matrix, one cache between them
        for line in shard_job:
            command = local(line, bundle, shard)
            if command:
                sh(command)
        # actions/upload-artifact + download-artifact (pattern: functions-*, path: dist/shards)
        shutil.copytree(site / f"dist/shard-{shard}", site / f"dist/shards/functions-{shard}")
    for line in merge_job:
        command = local(line, bundle)
        if command:
            sh(command)

    sh(f"{bundle} build --no-cache --out dist/single")
    merged, single = site / "dist" / "functions", site / "dist" / "single"
    names = sorted(p.name for p in single.iterdir())
    assert sorted(p.name for p in merged.iterdir()) == names
    assert len(names) == 11  # ten zips and the manifest
    for name in names:
        assert (merged / name).read_bytes() == (single / name).read_bytes(), name
    built = [
        sorted(p.name for p in (site / f"dist/shard-{k}").glob("*.zip"))
        for k in range(1, count + 1)
    ]
    assert sum(len(b) for b in built) == 10 and sum(1 for b in built if b) >= 2
