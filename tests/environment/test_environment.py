"""The environment index: interpreter facts, owners of modules, files a distribution ships."""

from __future__ import annotations

import dataclasses
import os
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from environment_support import write_editable, write_package
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import Marker, default_environment
from support import bounded, build_wheel

from bundler.environment.distributions import Environment
from bundler.environment.interpreter import Interpreter
from bundler.environment.targets import Target


def _index(interpreter: Interpreter, *site_packages: Path) -> Environment:
    """The index of `site_packages` folders, asked of the real interpreter's facts."""
    return Environment.from_interpreter(
        dataclasses.replace(interpreter, site_packages=tuple(site_packages))
    )


def _unpack(wheel: Path, folder: Path) -> Path:
    """Install a pure wheel by unpacking it, as pip does for purelib files."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


# -- the interpreter -------------------------------------------------------------------


def test_interpreter_facts_come_from_the_target_interpreter(site_python: Path) -> None:
    interpreter = Interpreter.from_executable(site_python)
    venv = site_python.parent.parent
    assert interpreter.version == tuple(sys.version_info[:3])
    assert interpreter.implementation == "cpython"
    assert interpreter.platform == "linux"
    assert interpreter.prefix == venv
    assert interpreter.site_packages == (
        venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages",
    )


def test_stdlib_names_are_the_target_interpreters(site_environment: Environment) -> None:
    stdlib = site_environment.interpreter.stdlib
    assert {"json", "tomllib", "importlib", "sys", "_io"} <= stdlib  # modules and builtins
    assert not {"fancyyaml", "acme", "pip", "setuptools"} & stdlib
    assert site_environment.is_stdlib("json.decoder")
    assert site_environment.is_stdlib("importlib.metadata")
    assert not site_environment.is_stdlib("fancyyaml")


def test_stdlib_detection_never_asks_the_host(site_environment: Environment) -> None:
    # A Python 3.10 target has no tomllib, although the interpreter running the bundler has.
    older = dataclasses.replace(
        site_environment.interpreter, stdlib=site_environment.interpreter.stdlib - {"tomllib"}
    )
    environment = dataclasses.replace(site_environment, interpreter=older)
    assert not environment.is_stdlib("tomllib")
    assert environment.is_stdlib("json")


# -- the target ------------------------------------------------------------------------


def test_marker_environment_is_complete() -> None:
    """Every key `packaging` knows is set, so nothing is filled in from the host."""
    environment = Target((3, 11), "arm64", patch=9).marker_environment()
    assert set(default_environment()) <= set(environment)
    assert environment["sys_platform"] == "linux"
    assert environment["platform_system"] == "Linux"
    assert environment["platform_machine"] == "aarch64"
    assert environment["python_version"] == "3.11"
    assert environment["python_full_version"] == "3.11.9"
    assert Target((3, 12)).runtime == "python3.12"


@given(
    version=st.tuples(st.integers(3, 3), st.integers(6, 14), st.integers(0, 20)),
    bound=st.tuples(st.integers(3, 3), st.integers(6, 14)),
)
def test_python_version_markers_follow_the_target(
    version: tuple[int, int, int], bound: tuple[int, int]
) -> None:
    environment = Target(version[:2], patch=version[2]).marker_environment()
    marker = Marker(f'python_version < "{bound[0]}.{bound[1]}"')
    assert marker.evaluate({**environment, "extra": ""}) == (version[:2] < bound)
    assert Marker('sys_platform == "win32"').evaluate({**environment, "extra": ""}) is False


# -- who owns a module -----------------------------------------------------------------


def test_owner_is_found_by_the_longest_prefix(site_environment: Environment) -> None:
    def owner(*candidates: str) -> str | None:
        found = site_environment.owner_of(candidates)
        return found.name if found else None

    assert site_environment.owners["acme"] == ("acme-alpha", "acme-beta")
    assert site_environment.owners["acme.alpha"] == ("acme-alpha",)
    assert owner("acme.alpha") == "acme-alpha"
    assert owner("acme.beta.tools") == "acme-beta"
    assert owner("acme.beta.tools.deeper") == "acme-beta"  # an attribute or a missing module
    assert owner("acme.beta", "acme") == "acme-beta"  # from acme import beta
    assert owner("acme") is None  # shared: no single owner
    assert owner("acme.gamma") is None
    assert owner("fancyyaml") == "fancy-yaml-lib"
    assert owner("nothing_here") is None


def test_import_name_unlike_distribution_name(site_environment: Environment) -> None:
    distribution = site_environment.owner_of(["fancyyaml"])
    assert distribution is not None
    assert (distribution.name, distribution.display_name, distribution.version) == (
        "fancy-yaml-lib",
        "Fancy-YAML-Lib",
        "6.0.1",
    )


def test_folders_that_are_not_packages_are_not_modules(site_environment: Environment) -> None:
    owners = site_environment.owners
    assert owners["fastimg"] == ("fastimg",)
    assert "fastimg.libs" not in owners
    assert not any(name.endswith((".dist-info", ".data")) for name in owners)
    assert "scripty-precedence" not in owners
    assert {"acme", "fancyyaml", "meta_reader", "extra_dist"} <= (
        site_environment.top_level_modules()
    )


# -- what a distribution ships ---------------------------------------------------------


def test_scripts_pth_and_bytecode_are_never_shipped(site_environment: Environment) -> None:
    scripty = site_environment.distributions["scripty"]
    recorded = {str(f) for f in metadata.PathDistribution(scripty.location).files or ()}
    # pip really put these in RECORD: the index must drop them
    assert {
        "../../../bin/scripty",
        "../../../bin/scripty-run",
        "../../../share/scripty/readme.txt",
        "scripty-precedence.pth",
        f"scripty/__pycache__/__init__.{sys.implementation.cache_tag}.pyc",
    } <= recorded
    assert [f.arcname for f in scripty.files] == [
        "scripty-1.0.dist-info/INSTALLER",
        "scripty-1.0.dist-info/METADATA",
        "scripty-1.0.dist-info/RECORD",
        "scripty-1.0.dist-info/REQUESTED",
        "scripty-1.0.dist-info/WHEEL",
        "scripty-1.0.dist-info/entry_points.txt",
        "scripty/__init__.py",
    ]
    site = site_environment.interpreter.site_packages[0]
    assert all(f.source == site / f.arcname for f in scripty.files)


def test_no_distribution_ships_bytecode_or_hooks(site_environment: Environment) -> None:
    for distribution in site_environment.distributions.values():
        for file in distribution.files:
            parts = file.arcname.split("/")
            assert "__pycache__" not in parts and ".." not in parts, file
            assert not file.arcname.endswith((".pyc", ".pth")), file


def test_requirements_and_extras_are_read(site_environment: Environment) -> None:
    webthing = site_environment.distributions["webthing"]
    assert webthing.extras == ("crypto",)
    assert [str(r) for r in webthing.requires] == [
        'cryptolib; extra == "crypto"',
        'winonly; sys_platform == "win32"',
        'oldpy; python_version < "3.8"',
    ]
    assert site_environment.distributions["fastimg"].has_record
    assert not site_environment.distributions["fastimg"].editable


def test_first_distribution_on_the_path_wins(site_environment: Environment, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    one = _unpack(build_wheel(wheels, "dupe", "1.0", {"dupe.py": "V = 1\n"}), tmp_path / "one")
    two = _unpack(build_wheel(wheels, "dupe", "2.0", {"dupe.py": "V = 2\n"}), tmp_path / "two")

    first = _index(site_environment.interpreter, one, two).distributions["dupe"]
    assert (first.version, first.location) == ("1.0", one / "dupe-1.0.dist-info")
    assert [f.source for f in first.files if f.arcname == "dupe.py"] == [one / "dupe.py"]

    swapped = _index(site_environment.interpreter, two, one)
    assert swapped.distributions["dupe"].version == "2.0"
    assert swapped.owners["dupe"] == ("dupe",)


def test_distribution_without_record_ships_only_its_metadata(
    site_environment: Environment, tmp_path: Path
) -> None:
    site = _unpack(
        build_wheel(tmp_path / "wheels", "norecord", "1.0", {"norecord.py": ""}), tmp_path / "sp"
    )
    (site / "norecord-1.0.dist-info" / "RECORD").unlink()
    distribution = _index(site_environment.interpreter, site).distributions["norecord"]
    assert not distribution.has_record
    assert [f.arcname for f in distribution.files] == [
        "norecord-1.0.dist-info/METADATA",
        "norecord-1.0.dist-info/WHEEL",
    ]


@pytest.mark.parametrize("kind", ["fifo", "link to /proc", "link out", "folder"])
def test_metadata_that_is_not_a_regular_file_inside_is_never_read(
    site_environment: Environment, tmp_path: Path, kind: str
) -> None:
    wheels = tmp_path / "wheels"
    site = _unpack(build_wheel(wheels, "fine", "1.0", {"fine.py": ""}), tmp_path / "sp")
    _unpack(build_wheel(wheels, "odd", "1.0", {"odd.py": ""}), site)
    metadata = site / "odd-1.0.dist-info" / "METADATA"
    metadata.unlink()
    outside = tmp_path / "outside-METADATA"
    outside.write_text("Metadata-Version: 2.1\nName: odd\nVersion: 6.6.6\n")
    if kind == "fifo":
        os.mkfifo(metadata)  # an open() for reading would wait for a writer forever
    elif kind == "folder":
        metadata.mkdir()
    else:
        metadata.symlink_to("/proc/self/environ" if kind == "link to /proc" else outside)
    environment = bounded(lambda: _index(site_environment.interpreter, site), 60)
    assert sorted(environment.distributions) == ["fine"]
    [warning] = environment.warnings
    what = {
        "fifo": "is not a regular file",
        "folder": "is not a regular file",
        "link to /proc": "links outside its site-packages",
        "link out": "links outside its site-packages",
    }[kind]
    assert (warning.file, warning.format()) == (
        metadata,
        f"{metadata}: this distribution's metadata {what}, so the distribution is left out; "
        "reinstall the distribution (pip install --force-reinstall NAME)",
    )


# -- editable installs, written by hand in the two layouts setuptools uses ---------------


def test_editable_pth_path(site_environment: Environment, tmp_path: Path) -> None:
    source = write_package(tmp_path / "proj" / "src", "handpthpkg")
    (source / "other_tool.py").write_text("")  # not in top_level.txt: not this distribution's
    site = tmp_path / "sp"
    hooks = {"__editable__.handpth-1.0.pth": f"{source}\n"}
    write_editable(site, "handpth", source.parent, hooks)

    environment = _index(site_environment.interpreter, site)
    distribution = environment.distributions["handpth"]
    assert distribution.editable
    assert distribution.editable_sources == (("handpthpkg", source / "handpthpkg"),)
    assert [f.arcname for f in distribution.files] == [
        "handpth-1.0.dist-info/METADATA",
        "handpth-1.0.dist-info/RECORD",
        "handpth-1.0.dist-info/top_level.txt",
    ]
    assert environment.owners["handpthpkg"] == ("handpth",)
    assert "other_tool" not in environment.owners


@pytest.mark.parametrize(
    "assignment",
    [
        pytest.param("MAPPING = {mapping!r}", id="plain"),
        pytest.param(
            "MAPPING: dict[str, str] = {mapping!r}",
            id="annotated",  # setuptools >= 69 writes this form (seen with pip install -e here)
        ),
    ],
)
def test_editable_finder_mapping(
    site_environment: Environment, tmp_path: Path, assignment: str
) -> None:
    project = write_package(tmp_path / "proj", "handfindpkg")
    mapping = {"handfindpkg": str(project / "handfindpkg")}
    finder = "__editable___handfind_1_0_finder"
    hooks = {
        "__editable__.handfind-1.0.pth": f"import {finder}; {finder}.install()",
        f"{finder}.py": "import sys\n" + assignment.format(mapping=mapping) + "\n",
    }
    site = tmp_path / "sp"
    write_editable(site, "handfind", project, hooks)

    environment = _index(site_environment.interpreter, site)
    distribution = environment.distributions["handfind"]
    assert distribution.editable_sources == (("handfindpkg", project / "handfindpkg"),)
    assert environment.owners["handfindpkg"] == ("handfind",)
    assert all(not f.arcname.startswith("__editable__") for f in distribution.files)
