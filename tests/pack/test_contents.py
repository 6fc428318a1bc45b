"""What goes in a zip: whole distributions with their data, libraries and metadata."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from environment_support import NATIVE_LIBRARY, PEM, EditableEnv, write_editable, write_package
from support import api_event, invoke, zip_names

from bundler.environment.distributions import Environment
from bundler.pack.contents import distribution_entries, distribution_files

Site = Callable[..., Path]
Build = Callable[..., dict[str, Any]]


def dist_info(
    name: str, version: str = "1.0", *, requested: bool = True, extra: tuple[str, ...] = ()
) -> list[str]:
    """The `.dist-info` members pip writes; REQUESTED only for what was asked for by name."""
    files = ["INSTALLER", "METADATA", "RECORD", "WHEEL", *extra]
    if requested:
        files.append("REQUESTED")
    return [f"{name}-{version}.dist-info/{f}" for f in sorted(files)]


def read_member(bundle: Path, name: str) -> bytes:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(name)


# -- 4, 5, 6: data files, `*.libs` folders, metadata read at import time -----------------


HARD_FILES = {
    "netlify/functions/pem.py": """
        import certlike


        def handler(event, context):
            return certlike.BUNDLE
        """,
    "netlify/functions/img.py": """
        import fastimg


        def handler(event, context):
            return fastimg.LIBRARIES
        """,
    "netlify/functions/meta.py": """
        import meta_reader


        def handler(event, context):
            return meta_reader.VERSION
        """,
}


@pytest.fixture
def hard_builds(make_site: Site, build_site: Build, site_python: Path) -> dict[str, Any]:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["certlike", "fastimg", "meta-reader"]\n',
        HARD_FILES,
    )
    builds = build_site(site, site_python)
    assert {name: (b.ok, b.problems) for name, b in builds.items()} == {
        "img": (True, ()),
        "meta": (True, ()),
        "pem": (True, ()),
    }
    return builds


def test_data_files_ship_with_their_package(hard_builds: dict[str, Any], tmp_path: Path) -> None:
    bundle = hard_builds["pem"].bundle.path
    assert zip_names(bundle) == [
        *dist_info("certlike"),
        "certlike/__init__.py",
        "certlike/cacert.pem",
        "pem.py",
    ]
    assert read_member(bundle, "certlike/cacert.pem") == PEM.encode()
    assert invoke(bundle, "pem", api_event(), tmp_path) == PEM


def test_libs_folder_beside_a_package_ships_whole(
    hard_builds: dict[str, Any], tmp_path: Path
) -> None:
    bundle = hard_builds["img"].bundle.path
    assert zip_names(bundle) == [
        *dist_info("fastimg"),
        "fastimg.libs/libbar-5678.so.2",
        "fastimg.libs/libfoo-1234.so.1",
        "fastimg/__init__.py",
        "img.py",
    ]
    assert read_member(bundle, "fastimg.libs/libfoo-1234.so.1") == NATIVE_LIBRARY
    assert invoke(bundle, "img", api_event(), tmp_path) == [
        "libbar-5678.so.2",
        "libfoo-1234.so.1",
    ]
    sizes = hard_builds["img"].contents.bytes_by_owner()
    assert set(sizes) == {"", "fastimg"}
    assert sum(sizes.values()) == hard_builds["img"].contents.unzipped


def test_metadata_read_at_import_time(hard_builds: dict[str, Any], tmp_path: Path) -> None:
    bundle = hard_builds["meta"].bundle.path
    assert zip_names(bundle) == [
        "meta.py",
        *dist_info("meta_reader", "2.5.1"),
        "meta_reader/__init__.py",
    ]
    assert invoke(bundle, "meta", api_event(), tmp_path) == "2.5.1"


# -- first-party code --------------------------------------------------------------------


def test_directory_function_ships_its_folder_and_followed_modules(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["certlike"]\n',
        {
            "netlify/functions/page/index.py": """
                from pathlib import Path

                import helper
                from lib import tools


                def handler(event, context):
                    here = Path(__file__).parent
                    return [(here / "template.html").read_text(), helper.NAME, tools.PEM]
                """,
            "netlify/functions/page/helper.py": 'NAME = "helper"\n',
            "netlify/functions/page/unused.py": "import notinstalledanywhere\n",
            "netlify/functions/page/template.html": "<p>hi</p>",
            "netlify/functions/page/.env": "SECRET=1\n",
            "netlify/functions/page/__pycache__/helper.cpython-311.pyc": "cache",
            "lib/__init__.py": "",
            "lib/tools.py": "import certlike\n\nPEM = certlike.BUNDLE[:5]\n",
            "lib/other.py": "raise RuntimeError\n",
        },
    )
    built = build_site(site, site_python)["page"]

    assert built.ok and built.problems == ()
    assert zip_names(built.bundle.path) == [
        *dist_info("certlike"),
        "certlike/__init__.py",
        "certlike/cacert.pem",
        "helper.py",
        "index.py",
        "lib/__init__.py",
        "lib/tools.py",
        "template.html",
    ]
    assert built.resolution.distributions[0].chain == (
        "tools.py:1 imports certlike",
        "certlike",
    )
    assert invoke(built.bundle.path, "index", api_event(), tmp_path) == [
        "<p>hi</p>",
        "helper",
        "-----",
    ]


def test_first_party_module_shadowing_a_distribution_is_a_clash(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["webthing[crypto]"]\n',
        {
            "netlify/functions/web.py": """
                import cryptolib
                import webthing


                def handler(event, context):
                    return None
                """,
            "cryptolib/__init__.py": "LOCAL = True\n",
        },
    )
    built = build_site(site, site_python)["web"]

    assert not built.ok
    (problem,) = built.errors
    assert (problem.file, problem.line, problem.function) == (
        site / "cryptolib" / "__init__.py",
        None,
        "web",
    )
    # how the first-party file is named in the message is test_cli's business (relative path)
    assert problem.message.startswith(
        "two files want the same place 'cryptolib/__init__.py' in the zip: first-party "
    )
    assert problem.message.endswith("__init__.py and distribution cryptolib")
    assert problem.hint == "rename the first-party module so it does not shadow the distribution"


def test_include_pattern_matching_nothing_is_a_warning(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[tool.bundler.functions.plain]\ninclude = ["data/*.json"]\n',
        {"netlify/functions/plain.py": "def handler(event, context):\n    return 1\n"},
    )
    built = build_site(site, site_python)["plain"]
    assert built.ok
    assert [(p.severity, p.format(site)) for p in built.problems] == [
        (
            "warning",
            "pyproject.toml: include pattern 'data/*.json' matches no file; "
            "fix the pattern or remove it",
        )
    ]
    assert zip_names(built.bundle.path) == ["plain.py"]


# -- 3. editable installs ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pth", "finder"])
def test_editable_ships_the_source_tree(
    site_environment: Environment, tmp_path: Path, kind: str
) -> None:
    """A `.pth` path (setuptools' src layout, hatchling) or setuptools' finder MAPPING."""
    project = write_package(tmp_path / "proj", "handpkg")
    finder = "__editable___hand_1_0_finder"
    hooks = {
        "pth": {"__editable__.hand-1.0.pth": f"{project}\n"},
        "finder": {
            "__editable__.hand-1.0.pth": f"import {finder}; {finder}.install()\n",
            f"{finder}.py": f"MAPPING = {{'handpkg': '{project / 'handpkg'}'}}\n",
        },
    }[kind]
    site = tmp_path / "sp"
    write_editable(site, "hand", project, hooks)
    environment = Environment.from_interpreter(
        dataclasses.replace(site_environment.interpreter, site_packages=(site,))
    )
    info = site / "hand-1.0.dist-info"
    assert list(distribution_files(environment.distributions["hand"])) == [
        ("hand-1.0.dist-info/METADATA", info / "METADATA"),
        ("hand-1.0.dist-info/RECORD", info / "RECORD"),
        ("hand-1.0.dist-info/top_level.txt", info / "top_level.txt"),
        ("handpkg/__init__.py", project / "handpkg" / "__init__.py"),
        ("handpkg/data.txt", project / "handpkg" / "data.txt"),
    ]
    # the shipped RECORD lists the source files (so audits attribute them), not the hooks
    entries, problems = distribution_entries(environment.distributions["hand"])
    assert problems == ()
    [shipped] = [e.data for e in entries if e.arcname == "hand-1.0.dist-info/RECORD"]
    assert shipped is not None
    record = shipped.decode().splitlines()
    assert [line.split(",")[0] for line in record] == [
        "hand-1.0.dist-info/METADATA",
        "hand-1.0.dist-info/top_level.txt",
        "handpkg/__init__.py",
        "handpkg/data.txt",
        "hand-1.0.dist-info/RECORD",
    ]
    data = (project / "handpkg" / "data.txt").read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert f"handpkg/data.txt,sha256={digest},{len(data)}" in record


def _editable_site(make_site: Site) -> Path:
    return make_site(
        '[project]\nname = "site"\ndependencies = ["srcproj", "flatproj"]\n',
        {
            "netlify/functions/src.py": """
                import srcpkg
                from srcpkg import util


                def handler(event, context):
                    return [srcpkg.GREETING, util.HAS_PEM]
                """,
            "netlify/functions/flat.py": """
                from flatpkg.sub import DOUBLE


                def handler(event, context):
                    return DOUBLE
                """,
        },
    )


def _site_packages(env: EditableEnv) -> Path:
    (site,) = env.python.parent.parent.glob("lib/python3.*/site-packages")
    return site


@pytest.mark.slow
def test_pip_install_editable_writes_both_kinds(editable_env: EditableEnv) -> None:
    """What pip and setuptools really wrote, so the tests below test both kinds."""
    site = _site_packages(editable_env)
    assert (site / "__editable__.srcproj-0.3.pth").read_text().strip() == str(
        editable_env.src_project / "src"
    )
    hook = (site / "__editable__.flatproj-0.4.pth").read_text()
    assert hook.startswith("import __editable___flatproj_0_4_finder")
    finder = (site / "__editable___flatproj_0_4_finder.py").read_text()
    assert f"{{'flatpkg': '{editable_env.flat_project / 'flatpkg'}'}}" in finder


@pytest.mark.slow
def test_editable_src_layout_pth(
    editable_env: EditableEnv, make_site: Site, build_site: Build, tmp_path: Path
) -> None:
    site = _editable_site(make_site)
    built = build_site(site, editable_env.python)["src"]

    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("certlike", "srcproj")
    assert zip_names(built.bundle.path) == [
        *dist_info("certlike", requested=False),
        "certlike/__init__.py",
        "certlike/cacert.pem",
        "src.py",
        "srcpkg/__init__.py",
        "srcpkg/greeting.txt",
        "srcpkg/util.py",
        *dist_info("srcproj", "0.3", extra=("top_level.txt",)),
    ]
    assert invoke(built.bundle.path, "src", api_event(), tmp_path) == ["hello from src", True]


@pytest.mark.slow
def test_editable_flat_layout_finder(
    editable_env: EditableEnv, make_site: Site, build_site: Build, tmp_path: Path
) -> None:
    site = _editable_site(make_site)
    built = build_site(site, editable_env.python)["flat"]

    assert built.problems == ()
    assert zip_names(built.bundle.path) == [
        "flat.py",
        "flatpkg/__init__.py",
        "flatpkg/sub/__init__.py",
        *dist_info("flatproj", "0.4", extra=("top_level.txt",)),
    ]
    assert invoke(built.bundle.path, "flat", api_event(), tmp_path) == "flatflat"


def test_a_linked_folder_in_a_function_folder_ships_once_even_with_a_loop(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\n',
        {
            "netlify/functions/dfn/dfn.py": "def handler(event, context):\n    return 1\n",
            "shared/tpl/a.txt": "template\n",
        },
    )
    folder = site / "netlify" / "functions" / "dfn"
    (folder / "tpl").symlink_to(site / "shared" / "tpl", target_is_directory=True)
    (site / "shared" / "tpl" / "loop").symlink_to(site / "shared", target_is_directory=True)
    built = build_site(site, site_python)["dfn"]
    assert built.ok, built.problems
    # tpl/loop leads back to shared/, whose only folder (tpl) was walked already
    assert zip_names(built.bundle.path) == ["dfn.py", "tpl/a.txt"]
