"""Which distributions a function ships, and why: the hard cases, built from real wheels."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import api_event, invoke, zip_distributions, zip_names

from bundler.analysis.resolve import Declarations
from bundler.project.config import SiteConfig

Site = Callable[..., Path]
Build = Callable[..., dict[str, Any]]


def dist_info(name: str, version: str = "1.0", *extra: str) -> list[str]:
    """The `.dist-info` members pip writes for a tiny wheel installed by name."""
    files = ["INSTALLER", "METADATA", "RECORD", "REQUESTED", "WHEEL", *extra]
    return [f"{name}-{version}.dist-info/{f}" for f in sorted(files)]


def errors(built: Any, root: Path) -> list[str]:
    return [p.format(root) for p in built.errors]


# -- 1. a namespace package split across distributions ----------------------------------


NAMESPACE_FUNCTIONS = {
    "netlify/functions/alpha.py": """
        import acme.alpha


        def handler(event, context):
            return acme.alpha.NAME
        """,
    "netlify/functions/beta.py": """
        from acme import beta


        def handler(event, context):
            return beta.NAME
        """,
    "netlify/functions/tools.py": """
        from acme.beta.tools import TOOL


        def handler(event, context):
            return TOOL
        """,
}


def test_namespace_package_ships_only_the_imported_portion(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["acme-alpha", "acme-beta"]\n',
        NAMESPACE_FUNCTIONS,
    )
    builds = build_site(site, site_python)

    alpha, beta, tools = builds["alpha"], builds["beta"], builds["tools"]
    assert (alpha.ok, beta.ok, tools.ok) == (True, True, True)
    assert alpha.problems == beta.problems == tools.problems == ()
    assert alpha.resolution.names() == ("acme-alpha",)
    assert beta.resolution.names() == ("acme-beta",)
    assert tools.resolution.names() == ("acme-beta",)
    assert zip_names(alpha.bundle.path) == [
        "acme/alpha/__init__.py",
        *dist_info("acme_alpha"),
        "alpha.py",
    ]
    assert zip_names(beta.bundle.path) == [
        "acme/beta/__init__.py",
        "acme/beta/tools.py",
        *dist_info("acme_beta"),
        "beta.py",
    ]
    assert invoke(alpha.bundle.path, "alpha", api_event(), tmp_path) == "alpha"
    assert invoke(beta.bundle.path, "beta", api_event(), tmp_path) == "beta"
    assert invoke(tools.bundle.path, "tools", api_event(), tmp_path) == 1


def test_bare_shared_namespace_import_is_an_error(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["acme-alpha", "acme-beta"]\n',
        {"netlify/functions/bare.py": "import acme\n\ndef handler(event, context):\n    pass\n"},
    )
    built = build_site(site, site_python)["bare"]
    assert not built.ok
    assert [p.message for p in built.errors] == ["cannot find module 'acme' in the environment"]


# -- 2. an import name unlike its distribution -----------------------------------------


def test_import_name_unlike_distribution_name(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["Fancy-YAML-Lib"]\n',
        {
            "netlify/functions/parse.py": """
                import fancyyaml


                def handler(event, context):
                    return fancyyaml.load(event["body"])
                """
        },
    )
    built = build_site(site, site_python)["parse"]

    assert built.ok and built.problems == ()
    (resolved,) = built.resolution.distributions
    assert (resolved.name, resolved.version, resolved.chain) == (
        "fancy-yaml-lib",
        "6.0.1",
        ("parse.py:1 imports fancyyaml", "Fancy-YAML-Lib"),
    )
    assert zip_names(built.bundle.path) == [
        *dist_info("fancy_yaml_lib", "6.0.1", "top_level.txt"),
        "fancyyaml/__init__.py",
        "parse.py",
    ]
    assert zip_distributions(built.bundle.path) == {"fancy-yaml-lib"}
    manifest = json.loads((site / "dist" / "functions" / "manifest.json").read_text())
    (function,) = manifest["functions"]
    assert [(d["name"], d["version"]) for d in function["distributions"]] == [
        ("fancy-yaml-lib", "6.0.1")
    ]
    assert function["distributions"][0]["bytes"] > 0
    body = invoke(built.bundle.path, "parse", api_event(body="x: 1"), tmp_path)
    assert body == {"loaded": "x: 1"}


def test_misspelled_import_suggests_the_close_module(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["Fancy-YAML-Lib"]\n',
        {"netlify/functions/typo.py": "import os\nimport fancyyam\n\ndef handler(e, c):\n  pass\n"},
    )
    built = build_site(site, site_python)["typo"]
    assert errors(built, site) == [
        "netlify/functions/typo.py:2: cannot find module 'fancyyam' in the environment; "
        "did you mean 'fancyyaml'? install the distribution that provides it into "
        f"{site_python.parent.parent} and add it to [project].dependencies"
    ]


# -- 7. extras and markers ---------------------------------------------------------------


WEBTHING_FUNCTION = {
    "netlify/functions/web.py": """
        import webthing


        def handler(event, context):
            return webthing.HAS_CRYPTO
        """
}


def test_declared_extra_ships_its_requirements_and_markers_skip_others(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["webthing[crypto]"]\n', WEBTHING_FUNCTION
    )
    built = build_site(site, site_python)["web"]

    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("cryptolib", "webthing")
    cryptolib, webthing = built.resolution.distributions
    assert webthing.extras == ("crypto",)
    assert cryptolib.chain == ("web.py:1 imports webthing", "webthing", "cryptolib")
    assert [(e.parent, e.child, e.requirement) for e in built.resolution.edges] == [
        ("webthing", "cryptolib", 'cryptolib; extra == "crypto"')
    ]
    assert zip_distributions(built.bundle.path) == {"webthing", "cryptolib"}
    assert not {"winonly/__init__.py", "oldpy/__init__.py"} & set(zip_names(built.bundle.path))
    assert invoke(built.bundle.path, "web", api_event(), tmp_path) is True


def test_without_the_declared_extra_its_requirements_stay_out(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site('[project]\nname = "site"\ndependencies = ["webthing"]\n', WEBTHING_FUNCTION)
    built = build_site(site, site_python)["web"]

    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("webthing",)
    assert zip_distributions(built.bundle.path) == {"webthing"}
    assert invoke(built.bundle.path, "web", api_event(), tmp_path) is False


def test_extra_declared_for_another_platform_is_not_requested(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\n'
        "dependencies = ['webthing', 'webthing[crypto]; sys_platform == \"win32\"']\n",
        WEBTHING_FUNCTION,
    )
    built = build_site(site, site_python)["web"]
    assert built.resolution.names() == ("webthing",)


def test_extras_only_come_from_runtime_declarations(make_site: Site, site_environment: Any) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["webthing", "runtimelib"]\n'
        '[project.optional-dependencies]\ntest = ["webthing[crypto]", "devtool"]\n'
    )
    declarations = Declarations.from_config(SiteConfig.from_root(site), site_environment)
    assert declarations.extras == {"webthing": frozenset(), "runtimelib": frozenset()}
    assert declarations.runtime == {"webthing", "runtimelib", "sharedlib"}
    # cryptolib is reachable only through the test group's extra: dev-only
    assert dict(declarations.dev) == {
        "cryptolib": "[project.optional-dependencies].test (webthing[crypto])",
        "devtool": "[project.optional-dependencies].test (devtool)",
    }


# -- 8. dev-only distributions in the same environment -----------------------------------


DEV_PYPROJECT = """
    [project]
    name = "site"
    dependencies = ["runtimelib"]

    [project.optional-dependencies]
    dev = ["devtool"]

    [dependency-groups]
    lint = ["grouptool"]
    """


def test_dev_only_distributions(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site(
        DEV_PYPROJECT,
        {
            "netlify/functions/uses_dev.py": """
                import json
                import devtool


                def handler(event, context):
                    return json.dumps(devtool.__name__)
                """,
            "netlify/functions/uses_group.py": """
                def handler(event, context):
                    from grouptool import lint
                    return lint()
                """,
            "netlify/functions/clean.py": """
                import runtimelib


                def handler(event, context):
                    return runtimelib.sharedlib.SHARED
                """,
            "netlify/functions/shared.py": """
                import sharedlib

                try:
                    import devtool
                except ImportError:
                    devtool = None


                def handler(event, context):
                    return [sharedlib.SHARED, devtool is None]
                """,
        },
    )
    builds = build_site(site, site_python)

    assert not builds["uses_dev"].ok
    assert errors(builds["uses_dev"], site) == [
        "netlify/functions/uses_dev.py:2: imports 'devtool' from devtool, which is a dev-only "
        "dependency (from [project.optional-dependencies].dev (devtool)); add devtool to "
        "[project].dependencies, or import it only under `if TYPE_CHECKING:`"
    ]
    assert not (site / "dist" / "functions" / "uses_dev.zip").exists()
    assert errors(builds["uses_group"], site) == [
        "netlify/functions/uses_group.py:2: imports 'grouptool' from grouptool, which is a "
        "dev-only dependency (from [dependency-groups].lint (grouptool)); add grouptool to "
        "[project].dependencies, or import it only under `if TYPE_CHECKING:`"
    ]

    clean = builds["clean"]
    assert clean.ok and clean.problems == ()
    assert clean.resolution.names() == ("runtimelib", "sharedlib")
    assert zip_distributions(clean.bundle.path) == {"runtimelib", "sharedlib"}
    assert invoke(clean.bundle.path, "clean", api_event(), tmp_path) is True

    # sharedlib is needed by runtimelib and by devtool: it is a runtime distribution
    shared = builds["shared"]
    assert shared.ok and shared.problems == ()
    assert shared.resolution.names() == ("sharedlib",)
    assert dict(shared.resolution.left_out) == {
        "devtool": "dev-only, imported optionally at shared.py:4"
    }
    assert zip_distributions(shared.bundle.path) == {"sharedlib"}
    assert invoke(shared.bundle.path, "shared", api_event(), tmp_path) == [True, True]


# -- 9. imports the scanner flags ---------------------------------------------------------


def test_type_checking_optional_dynamic_and_inner_imports(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["typedonly", "dynlib", "lazylib"]\n',
        {
            "netlify/functions/flags.py": """
                from __future__ import annotations
                import importlib
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    import typedonly

                try:
                    import ujsonish
                except ImportError:
                    ujsonish = None

                plugin = importlib.import_module("dynlib")


                def handler(event: dict, context: typedonly.Context) -> dict:
                    import lazylib
                    return {"dyn": plugin.NAME, "lazy": lazylib.NAME, "ujson": ujsonish is None}
                """
        },
    )
    built = build_site(site, site_python)["flags"]

    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("dynlib", "lazylib")
    chains = {d.name: d.chain for d in built.resolution.distributions}
    assert chains == {
        "dynlib": ("flags.py:13 imports dynlib", "dynlib"),
        "lazylib": ("flags.py:17 imports lazylib", "lazylib"),
    }
    assert dict(built.resolution.left_out) == {
        "ujsonish": "optional import, not installed (flags.py:9)",
        "typedonly": "imported only under TYPE_CHECKING (flags.py:6)",
    }
    assert zip_distributions(built.bundle.path) == {"dynlib", "lazylib"}
    assert invoke(built.bundle.path, "flags", api_event(), tmp_path) == {
        "dyn": "dynlib",
        "lazy": "lazylib",
        "ujson": True,
    }


def test_missing_required_import_names_file_and_line(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        "",
        {
            "netlify/functions/needs.py": """
                def handler(event, context):
                    import notinstalledanywhere
                    return notinstalledanywhere
                """
        },
    )
    built = build_site(site, site_python)["needs"]
    assert [(p.file, p.line, p.message) for p in built.errors] == [
        (
            site / "netlify" / "functions" / "needs.py",
            2,
            "cannot find module 'notinstalledanywhere' in the environment",
        )
    ]


# -- 10. the environment does not match -------------------------------------------------


def test_required_distribution_missing_from_the_environment(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["needsmissing"]\n',
        {"netlify/functions/gap.py": "import needsmissing\n\ndef handler(e, c):\n    pass\n"},
    )
    built = build_site(site, site_python)["gap"]

    assert not built.ok
    (problem,) = built.errors
    assert problem.format() == (
        f"{site_python}: needsmissing 1.0 requires ghostdep>=1, which is not installed: the "
        "environment does not match the target (python3.11 on linux x86_64); install it "
        "into that environment (pip install 'ghostdep')"
    )
    assert problem.function == "gap"
    assert not (site / "dist" / "functions" / "gap.zip").exists()


# -- 11. [tool.bundler] exclude and include ----------------------------------------------


SDK_PYPROJECT = """
    [project]
    name = "site"
    dependencies = ["bigsdk", "otherlib", "extra-dist"]

    [tool.bundler]
    exclude = ["bigsdk"]
    include = ["extra-dist"]

    [tool.bundler.functions.files]
    include = ["data/*.json"]
    """


def test_exclude_and_include(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    site = make_site(
        SDK_PYPROJECT,
        {
            "netlify/functions/sdk.py": """
                import bigsdk
                import otherlib


                def handler(event, context):
                    return None
                """,
            "netlify/functions/files.py": """
                import json
                from pathlib import Path

                import extra_dist


                def handler(event, context):
                    data = Path(__file__).parent / "data"
                    return {
                        "files": sorted(p.name for p in data.iterdir()),
                        "a": json.loads((data / "a.json").read_text()),
                        "plugin": extra_dist.PLUGIN,
                    }
                """,
            "data/a.json": '{"a": 1}',
            "data/b.json": "[]",
            "data/notes.txt": "not matched",
        },
    )
    builds = build_site(site, site_python)

    sdk = builds["sdk"]
    assert sdk.ok and sdk.problems == ()
    assert sdk.resolution.names() == ("commonutil", "extra-dist", "otherlib")
    assert dict(sdk.resolution.left_out) == {"bigsdk": "excluded by [tool.bundler] exclude"}
    chains = {d.name: d.chain for d in sdk.resolution.distributions}
    assert chains == {
        "commonutil": ("sdk.py:2 imports otherlib", "otherlib", "commonutil"),
        "extra-dist": ("[tool.bundler] include", "extra-dist"),
        "otherlib": ("sdk.py:2 imports otherlib", "otherlib"),
    }
    assert zip_names(sdk.bundle.path) == [
        *dist_info("commonutil"),
        "commonutil/__init__.py",
        *dist_info("extra_dist"),
        "extra_dist/__init__.py",
        *dist_info("otherlib"),
        "otherlib/__init__.py",
        "sdk.py",
    ]

    files = builds["files"]
    assert files.ok and files.problems == ()
    assert files.resolution.names() == ("extra-dist",)
    assert [n for n in zip_names(files.bundle.path) if not n.startswith("extra_dist")] == [
        "data/a.json",
        "data/b.json",
        "files.py",
    ]
    assert invoke(files.bundle.path, "files", api_event(), tmp_path) == {
        "files": ["a.json", "b.json"],
        "a": {"a": 1},
        "plugin": "extra",
    }


def test_include_of_a_distribution_that_is_not_installed(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[tool.bundler]\ninclude = ["nope-dist"]\n',
        {"netlify/functions/plain.py": "def handler(event, context):\n    return 1\n"},
    )
    built = build_site(site, site_python)["plain"]
    assert errors(built, site) == [
        "pyproject.toml: include names distribution 'nope-dist', which is not installed; "
        "install it (pip install nope-dist) or remove it from include"
    ]


# -- more cases found while reading resolve.py -------------------------------------------


def test_from_namespace_import_of_two_portions_ships_both(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    """`from google.cloud import storage, pubsub` needs two distributions."""
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["acme-alpha", "acme-beta"]\n',
        {
            "netlify/functions/both.py": """
                from acme import alpha, beta


                def handler(event, context):
                    return [alpha.NAME, beta.NAME]
                """
        },
    )
    built = build_site(site, site_python)["both"]
    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("acme-alpha", "acme-beta")
    assert invoke(built.bundle.path, "both", api_event(), tmp_path) == ["alpha", "beta"]


def test_requirement_names_are_compared_canonically(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["NormReq"]\n',
        {"netlify/functions/norm.py": "import normreq\n\ndef handler(e, c):\n    pass\n"},
    )
    built = build_site(site, site_python)["norm"]
    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("meta-reader", "normreq")
    assert [(e.parent, e.child, e.requirement) for e in built.resolution.edges] == [
        ("normreq", "meta-reader", "Meta_Reader>=2")
    ]


def test_type_checking_import_of_an_uninstalled_module_is_fine(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        "",
        {
            "netlify/functions/typed.py": """
                import typing

                if typing.TYPE_CHECKING:
                    import pandas
                else:
                    import dynlib


                def handler(event: dict, context: object) -> pandas.DataFrame:
                    return None
                """
        },
    )
    built = build_site(site, site_python)["typed"]
    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("dynlib",)
    assert dict(built.resolution.left_out) == {
        "pandas": "imported only under TYPE_CHECKING (typed.py:4)"
    }


def test_left_out_never_names_a_shipped_distribution(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["lazylib"]\n',
        {
            "netlify/functions/both.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from lazylib import Thing


                def handler(event, context):
                    import lazylib
                    return lazylib.NAME
                """
        },
    )
    built = build_site(site, site_python)["both"]
    assert built.resolution.names() == ("lazylib",)
    assert dict(built.resolution.left_out) == {}


def test_excluded_dependency_is_reported_as_left_out(
    make_site: Site, build_site: Build, site_python: Path
) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["bigsdk"]\n'
        '[tool.bundler]\nexclude = ["SDKCore"]\n',
        {"netlify/functions/sdk.py": "import bigsdk\n\ndef handler(e, c):\n    pass\n"},
    )
    built = build_site(site, site_python)["sdk"]
    assert built.ok
    assert built.resolution.names() == ("bigsdk", "commonutil")  # exclude is canonicalised
    assert dict(built.resolution.left_out) == {"sdkcore": "excluded by [tool.bundler] exclude"}


def test_extra_requested_by_a_dependency_is_followed(
    make_site: Site, build_site: Build, site_python: Path, tmp_path: Path
) -> None:
    """webthing is reached first without extras, then again as `webthing[crypto]`."""
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["webthing", "cryptouser"]\n',
        {
            "netlify/functions/web.py": """
                import cryptouser
                import webthing


                def handler(event, context):
                    return webthing.HAS_CRYPTO
                """
        },
    )
    built = build_site(site, site_python)["web"]
    assert built.ok and built.problems == ()
    assert built.resolution.names() == ("cryptolib", "cryptouser", "webthing")
    chains = {d.name: d.chain for d in built.resolution.distributions}
    assert chains["cryptolib"] == ("web.py:2 imports webthing", "webthing", "cryptolib")
    assert built.resolution.distributions[2].extras == ("crypto",)
    assert invoke(built.bundle.path, "web", api_event(), tmp_path) is True


def test_edges_are_listed_once(make_site: Site, build_site: Build, site_python: Path) -> None:
    site = make_site(
        '[project]\nname = "site"\ndependencies = ["webthing", "cryptouser"]\n',
        {"netlify/functions/web.py": "import cryptouser, webthing\n\ndef handler(e, c): 0\n"},
    )
    built = build_site(site, site_python)["web"]
    assert [(e.parent, e.child) for e in built.resolution.edges] == [
        ("cryptouser", "webthing"),
        ("webthing", "cryptolib"),
    ]
