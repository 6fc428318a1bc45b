"""Shared fixtures: the tiny real wheels of the hard cases, and a virtualenv holding them.

Every wheel is written with `zipfile` (support.build_wheel) and installed by the real pip
into one session-scoped virtualenv; sites are tiny folders written per test. The editable
installs need setuptools from PyPI for pip's build isolation, so they live in a venv of
their own behind the `slow` marker.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from build_support import make_environment
from environment_support import NATIVE_LIBRARY, PEM, EditableEnv
from fetch_support import make_arm_site, make_house
from support import SYSTEM_PYTHON, build_wheel, make_venv, missing, pip_install, write_tree


class Wheel(NamedTuple):
    """One tiny distribution of the hard cases."""

    name: str
    files: Mapping[str, str | bytes]
    version: str = "1.0"
    requires: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    top_level: tuple[str, ...] | None = None


def _module(text: str) -> str:
    return textwrap.dedent(text).lstrip()


# One distribution per hard case; the comments say which real package each one plays.
WHEELS: tuple[Wheel, ...] = (
    # google-cloud-*: one namespace package split across distributions
    Wheel("acme-alpha", {"acme/alpha/__init__.py": 'NAME = "alpha"\n'}),
    Wheel(
        "acme-beta",
        {"acme/beta/__init__.py": 'NAME = "beta"\n', "acme/beta/tools.py": "TOOL = 1\n"},
    ),
    # PyYAML -> yaml: an import name unlike the distribution name
    Wheel(
        "Fancy-YAML-Lib",
        {"fancyyaml/__init__.py": "def load(text):\n    return {'loaded': text}\n"},
        version="6.0.1",
        top_level=("fancyyaml",),
    ),
    # certifi: a data file read at import time
    Wheel(
        "certlike",
        {
            "certlike/__init__.py": _module(
                """
                from pathlib import Path

                BUNDLE = (Path(__file__).parent / "cacert.pem").read_text()
                """
            ),
            "certlike/cacert.pem": PEM,
        },
    ),
    # pillow / numpy: native libraries in a `*.libs` folder beside the package
    Wheel(
        "fastimg",
        {
            "fastimg/__init__.py": _module(
                """
                from pathlib import Path

                _LIBS = Path(__file__).parent.parent / "fastimg.libs"
                LIBRARIES = sorted(p.name for p in _LIBS.iterdir())
                """
            ),
            "fastimg.libs/libfoo-1234.so.1": NATIVE_LIBRARY,
            "fastimg.libs/libbar-5678.so.2": NATIVE_LIBRARY,
        },
    ),
    # packages that call importlib.metadata.version() on themselves at import time
    Wheel(
        "meta-reader",
        {
            "meta_reader/__init__.py": _module(
                """
                from importlib.metadata import version

                VERSION = version("meta-reader")
                """
            )
        },
        version="2.5.1",
    ),
    # pyjwt[crypto]: an extra, and requirements behind platform and version markers
    Wheel(
        "webthing",
        {
            "webthing/__init__.py": _module(
                """
                try:
                    import cryptolib
                except ImportError:
                    cryptolib = None
                HAS_CRYPTO = cryptolib is not None
                """
            )
        },
        requires=(
            'cryptolib; extra == "crypto"',
            'winonly; sys_platform == "win32"',
            'oldpy; python_version < "3.8"',
        ),
        extras=("crypto",),
    ),
    Wheel("cryptolib", {"cryptolib/__init__.py": "ALGORITHMS = ['HS256']\n"}),
    Wheel("cryptouser", {"cryptouser/__init__.py": ""}, requires=("webthing[crypto]",)),
    Wheel("winonly", {"winonly/__init__.py": ""}),
    Wheel("oldpy", {"oldpy/__init__.py": ""}),
    # pytest / black in the same environment: dev tools, one sharing a dependency
    Wheel("devtool", {"devtool/__init__.py": ""}, requires=("sharedlib",)),
    Wheel("grouptool", {"grouptool/__init__.py": ""}),
    Wheel("runtimelib", {"runtimelib/__init__.py": "import sharedlib\n"}, requires=("sharedlib",)),
    Wheel("sharedlib", {"sharedlib/__init__.py": "SHARED = True\n"}),
    # pandas under TYPE_CHECKING, import_module("yaml"), imports inside the handler
    Wheel("typedonly", {"typedonly/__init__.py": ""}),
    Wheel("dynlib", {"dynlib/__init__.py": 'NAME = "dynlib"\n'}),
    Wheel("lazylib", {"lazylib/__init__.py": 'NAME = "lazylib"\n'}),
    # a Requires-Dist that is not installed (installed with --no-deps)
    Wheel("needsmissing", {"needsmissing/__init__.py": ""}, requires=("ghostdep>=1",)),
    # boto3 excluded because the runtime provides it; include for what no import shows
    Wheel("bigsdk", {"bigsdk/__init__.py": ""}, requires=("sdkcore", "commonutil")),
    Wheel("sdkcore", {"sdkcore/__init__.py": ""}),
    Wheel("otherlib", {"otherlib/__init__.py": ""}, requires=("commonutil",)),
    Wheel("commonutil", {"commonutil/__init__.py": ""}),
    Wheel("extra-dist", {"extra_dist/__init__.py": 'PLUGIN = "extra"\n'}),
    # Requires-Dist spelled unlike the canonical name (Django's "asgiref" vs "ASGIRef")
    Wheel("normreq", {"normreq/__init__.py": ""}, requires=("Meta_Reader>=2",)),
    # files pip puts outside site-packages or that must never ship
    Wheel(
        "scripty",
        {
            "scripty/__init__.py": "def main():\n    return 0\n",
            "scripty-1.0.data/scripts/scripty-run": "#!python\nprint('hi')\n",
            "scripty-1.0.data/data/share/scripty/readme.txt": "shared data\n",
            "scripty-1.0.dist-info/entry_points.txt": "[console_scripts]\nscripty = scripty:main\n",
            "scripty-precedence.pth": "import os\n",
        },
    ),
)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of every tiny wheel in WHEELS."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    for wheel in WHEELS:
        build_wheel(
            folder,
            wheel.name,
            wheel.version,
            wheel.files,
            requires=wheel.requires,
            extras=wheel.extras,
            top_level=wheel.top_level,
        )
    return folder


@pytest.fixture(scope="session")
def site_python(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    """The interpreter of a throwaway virtualenv where pip installed every tiny wheel.

    `--no-deps` with every name listed: `needsmissing` must stay without its dependency,
    and `winonly`/`oldpy` are installed so that only the markers keep them out of a zip.
    """
    python = make_venv(tmp_path_factory.mktemp("venv") / "site")
    names = [wheel.name for wheel in WHEELS]
    pip_install(python, "--no-index", "--find-links", str(wheelhouse), "--no-deps", *names)
    return python


@pytest.fixture(scope="session")
def site_environment(site_python: Path) -> Any:
    """The bundler's index of `site_python`'s environment, built once."""
    from bundler.environment.distributions import Environment
    from bundler.environment.interpreter import Interpreter

    return Environment.from_interpreter(Interpreter.from_executable(site_python))


SRC_LAYOUT = {
    "pyproject.toml": _module(
        """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "srcproj"
        version = "0.3"
        dependencies = ["certlike"]

        [tool.setuptools]
        package-dir = {"" = "src"}

        [tool.setuptools.package-data]
        srcpkg = ["*.txt"]
        """
    ),
    "src/srcpkg/__init__.py": _module(
        """
        from pathlib import Path

        GREETING = (Path(__file__).parent / "greeting.txt").read_text().strip()
        """
    ),
    "src/srcpkg/greeting.txt": "hello from src\n",
    "src/srcpkg/util.py": "import certlike\n\nHAS_PEM = 'BEGIN' in certlike.BUNDLE\n",
}

FLAT_LAYOUT = {
    "pyproject.toml": _module(
        """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "flatproj"
        version = "0.4"

        [tool.setuptools]
        packages = ["flatpkg", "flatpkg.sub"]
        """
    ),
    "flatpkg/__init__.py": 'VALUE = "flat"\n',
    "flatpkg/sub/__init__.py": "from flatpkg import VALUE\n\nDOUBLE = VALUE * 2\n",
    "notes.md": "not part of the package\n",
}


@pytest.fixture(scope="session")
def editable_env(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> EditableEnv:
    """`pip install -e` of a src-layout project (a `.pth` path) and a flat one (a finder).

    pip downloads setuptools from PyPI for its isolated build: tests using this are slow.
    """
    root = tmp_path_factory.mktemp("editable")
    projects = {}
    for name, files in (("srcproj", SRC_LAYOUT), ("flatproj", FLAT_LAYOUT)):
        projects[name] = write_tree(root / name, files)
    python = make_venv(root / "venv")
    pip_install(
        python,
        "--find-links",
        str(wheelhouse),
        "-e",
        str(projects["srcproj"]),
        "-e",
        str(projects["flatproj"]),
    )
    return EditableEnv(python, projects["srcproj"], projects["flatproj"])


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., Path]:
    """Write a site: `make_site(pyproject, {"netlify/functions/NAME.py": source, ...})`.

    Sources are dedented; the site is `tmp_path / "site"`.
    """

    def make(pyproject: str = "", files: Mapping[str, str] | None = None) -> Path:
        site = tmp_path / "site"
        tree = {name: _module(text) for name, text in (files or {}).items()}
        tree["pyproject.toml"] = _module(pyproject)
        return write_tree(site, tree)

    return make


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny environment of build_support (tinydist, tinyapp, devtool), once per module;
    modules that need another environment define their own `python`."""
    return make_environment(tmp_path_factory.mktemp("environment"))


@pytest.fixture
def house(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """fetch_support's local index (tiny 2.0 for arm64), pip's only one for the test."""
    return make_house(tmp_path / "house", monkeypatch)


@pytest.fixture
def arm_site(tmp_path: Path, house: Path) -> tuple[Path, Path]:
    """fetch_support's site and x86_64 environment, to build for arm64 from `house`."""
    return make_arm_site(tmp_path)


@pytest.fixture
def build_site() -> Callable[..., dict[str, Any]]:
    """Build every function of a site with `bundler.build.build`; FunctionBuilds by name."""
    from bundler.build import build

    def run(site: Path, python: Path) -> dict[str, Any]:
        result = build(site, python=python)
        return {built.name: built for built in result.builds}

    return run


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster on loopback for the session (the sample site's `notes`),
    stopped and removed at the end even when tests failed."""
    from sample_app_support import postgres_cluster

    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def system_python() -> Path:
    """Debian's /usr/bin/python3 (which `make test` installs), for sites that import only
    the standard library."""
    if not SYSTEM_PYTHON.exists():
        missing(str(SYSTEM_PYTHON), "apt-get install python3")
    return SYSTEM_PYTHON
