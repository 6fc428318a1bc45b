"""The environment's index kept in the cache (`bundler.environment.kept`): a no-change
rebuild reads no distribution's metadata, and every change pip makes is seen."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from build_support import make_environment, make_site
from support import build_wheel, pip_install

from bundler.build import build
from bundler.environment import distributions
from bundler.environment.distributions import Environment
from bundler.environment.interpreter import Interpreter
from bundler.results import BuildResult

FUNCTIONS = {"uses.py": "import tinydist\n\n\ndef handler(event, context):\n    return 1\n"}


class Reads:
    """The distributions whose metadata (METADATA, RECORD...) the build read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        read = distributions.read_distribution

        def counted(found: object) -> object:
            self.names.append(str(getattr(found, "_path", "")))
            return read(found)  # type: ignore[arg-type]

        monkeypatch.setattr(distributions, "read_distribution", counted)


@pytest.fixture
def python(tmp_path: Path) -> Path:
    return make_environment(tmp_path / "environment")  # its own: the tests change it


def site_packages(python: Path) -> Path:
    return next((python.parent.parent / "lib").glob("python3*/site-packages"))


def indexed_afresh(python: Path) -> Environment:
    return Environment.from_interpreter(Interpreter.from_executable(python))


def files(result: BuildResult, name: str) -> set[str]:
    return {f.arcname for f in result.environment.distributions[name].files}


def versions(result: BuildResult) -> dict[str, str]:
    return {n: d.version for n, d in result.environment.distributions.items()}


def test_a_no_change_rebuild_reads_no_metadata(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", FUNCTIONS)
    first = build(site, python=python)
    assert first.ok
    reads = Reads(monkeypatch)
    again = build(site, python=python)
    assert reads.names == []
    assert again.environment.distributions == first.environment.distributions
    assert again.environment.owners == first.environment.owners
    assert again.environment.distributions == indexed_afresh(python).distributions


def install(python: Path, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "more", "newdist", "1.0", {"newdist.py": "X = 1\n"})
    pip_install(python, "--no-index", "--no-deps", str(wheel))


def uninstall(python: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pip", "--python", str(python), "uninstall", "--yes"]
    subprocess.run([*command, "--quiet", "devtool"], check=True, timeout=120)


def upgrade(python: Path, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "more", "tinydist", "1.1", {"tinydist.py": "VALUE = 43\n"})
    pip_install(python, "--no-index", "--no-deps", "--upgrade", str(wheel))


def edit_record(python: Path, tmp_path: Path) -> None:
    """A row taken out of the installed distribution's RECORD, in place: the folders keep
    their names and times, only the file's own stat moves."""
    record = site_packages(python) / "tinydist-1.0.dist-info" / "RECORD"
    with record.open("r+", encoding="utf-8") as stream:  # the same file, not a new one
        rows = [r for r in stream.read().splitlines() if not r.startswith(WHEEL_FILE)]
        stream.seek(0)
        stream.write("\n".join(rows) + "\n")
        stream.truncate()


WHEEL_FILE = "tinydist-1.0.dist-info/WHEEL"


CHANGES: dict[str, tuple[Callable[[Path, Path], None], Callable[[BuildResult], bool]]] = {
    "pip install": (install, lambda r: "newdist" in versions(r)),
    "pip uninstall": (uninstall, lambda r: "devtool" not in versions(r)),
    "an upgrade": (upgrade, lambda r: versions(r)["tinydist"] == "1.1"),
    "a RECORD edited in place": (edit_record, lambda r: WHEEL_FILE not in files(r, "tinydist")),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_to_the_environment_is_seen_by_the_next_build(
    python: Path, tmp_path: Path, change: str
) -> None:
    site = make_site(tmp_path / "site", FUNCTIONS)
    build(site, python=python)
    before = build(site, python=python)  # from the kept index
    apply, seen = CHANGES[change]
    assert not seen(before)
    apply(python, tmp_path)
    after = build(site, python=python)
    assert seen(after)
    assert after.environment.distributions == indexed_afresh(python).distributions
    assert after.ok


@pytest.mark.parametrize(
    "forged",
    ["../../../etc/passwd", "/etc/passwd", "tinydist/../../../../etc/passwd", "a//b", ""],
)
def test_a_kept_index_naming_a_file_outside_site_packages_is_indexed_again(
    python: Path, tmp_path: Path, forged: str
) -> None:
    """A kept index whose fingerprint matches (a cache restored onto the same machine) but
    that names a file out of site-packages is not believed: the environment is indexed
    again, and what ships is what the RECORD says."""
    site = make_site(tmp_path / "site", FUNCTIONS)
    build(site, python=python)
    (kept,) = (site / ".bundle-cache" / "environments").glob("*.json")
    document = json.loads(kept.read_text())
    (tiny,) = [d for d in document["distributions"] if d["name"] == "tinydist"]
    tiny["files"].append(forged)
    kept.write_text(json.dumps(document))
    again = build(site, python=python)
    assert again.ok
    assert again.environment.distributions == indexed_afresh(python).distributions
    assert forged not in files(again, "tinydist")
