"""What code loads without an import statement ships, and `bundle why` says why: metadata
and resources by name, module strings (Django-style settings), database URLs' drivers,
imports inside libraries that they do not declare, and the runtime's own packages.

One site of tiny real wheels, built once; each function is run from its zip in a clean
interpreter by `bundle verify --invoke`, and explained by `bundle why`.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import build_wheel, make_venv, pip_install, write_tree, zip_distributions, zip_names

from bundler.analysis.session import Site
from bundler.cli import main
from bundler.inspection.why import explain


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


# A SQLAlchemy that loads its driver by the URL's name, as the real one does; its default
# driver of postgresql:// is read from its own source (psycopg here, as in SQLAlchemy 2.1)
FAKE_SQLALCHEMY = _code(
    """
    import importlib

    DEFAULTS = {"postgresql": "psycopg"}


    def create_engine(url):
        dialect, _, driver = url.split("://", 1)[0].partition("+")
        return importlib.import_module(driver or DEFAULTS[dialect])
    """
)
WHEELS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "metalib": ({"metalib/__init__.py": ""}, ()),
    # a Django-style app distribution, named only in settings: `'applib'`, its middleware
    "applib": ({"applib/__init__.py": "", "applib/middleware.py": "NAME = 'mw'\n"}, ()),
    # slack_bolt's adapter: imports what it does not declare, guarded and lazy ones too
    "sdklib": (
        {
            "sdklib/__init__.py": "",
            "sdklib/adapter.py": _code(
                """
                import hiddendep

                try:
                    import optdep
                except ImportError:
                    optdep = None


                def later():
                    import lazydep

                    return lazydep
                """
            ),
        },
        (),
    ),
    "hiddendep": ({"hiddendep/__init__.py": "VALUE = 'hidden'\n"}, ()),
    "optdep": ({"optdep/__init__.py": ""}, ()),
    "lazydep": ({"lazydep/__init__.py": ""}, ()),
    # the Aurora DSQL connector: imports a driver it declares only under an extra
    "connector": (
        {"connector/__init__.py": "import hiddendrv\n\nDRIVER = hiddendrv.NAME\n"},
        ('hiddendrv; extra == "drv"',),
    ),
    "hiddendrv": ({"hiddendrv/__init__.py": "NAME = 'drv'\n"}, ()),
    "sqlalchemy": (
        {
            "sqlalchemy/__init__.py": FAKE_SQLALCHEMY,
            "sqlalchemy/dialects/__init__.py": "",
            "sqlalchemy/dialects/postgresql/__init__.py": "base = None\n"
            "# base.dialect = dialect = psycopg2.dialect (2.0)\n"
            "base.dialect = dialect = psycopg.dialect\n",
        },
        (),
    ),
    "pg8000": ({"pg8000/__init__.py": "NAME = 'pg8000'\n"}, ()),
    "psycopg": ({"psycopg/__init__.py": "NAME = 'psycopg'\n"}, ()),
    # the AWS SDK, which the Lambda runtime provides
    "boto3": ({"boto3/__init__.py": "NAME = 'boto3'\n"}, ()),
}
DECLARED = ["metalib", "applib", "sdklib", "connector", "sqlalchemy", "pg8000", "psycopg"]
HANDLER = "\n\ndef handler(event, context):\n    return {'statusCode': 200, 'body': BODY}\n"
FUNCTIONS = {
    "meta.py": _code(
        """
        from importlib import metadata

        BODY = metadata.version("metalib")
        """
    ),
    "resources.py": "import catalog\n\nBODY = catalog.ITEMS\n",
    "getdata.py": _code(
        """
        import pkgutil

        BODY = pkgutil.get_data("emails", "templates/welcome.txt").decode()
        """
    ),
    # Django's way: settings named by a string, apps and middleware by strings in them,
    # migrations found by listing the app's package, templates read from its folder
    "app/index.py": _code(
        """
        import importlib
        import os
        import pkgutil
        from pathlib import Path

        os.environ.setdefault("SETTINGS_MODULE", "mysite.settings")
        settings = importlib.import_module(os.environ["SETTINGS_MODULE"])
        apps = [importlib.import_module(a) for a in settings.INSTALLED_APPS]
        middleware = importlib.import_module(settings.MIDDLEWARE[0].rpartition(".")[0])
        migrations = importlib.import_module("polls.migrations")
        found = [m.name for m in pkgutil.iter_modules(migrations.__path__)]
        template = Path(apps[0].__file__).parent / "templates" / "index.html"
        BODY = f"{found} {template.read_text().strip()} {middleware.NAME}"
        """
    ),
    "sdk.py": "import sdklib.adapter\n\nBODY = sdklib.adapter.hiddendep.VALUE\n",
    "connect.py": "import connector\n\nBODY = connector.DRIVER\n",
    "orders.py": _code(
        """
        from sqlalchemy import create_engine

        USER = "orders"
        BODY = create_engine(f"postgresql+pg8000://{USER}@localhost/orders").NAME
        """
    ),
    "reports.py": _code(
        """
        import os

        from sqlalchemy import create_engine

        URL = os.environ.get("DATABASE_URL", "postgresql://reports@localhost/reports")
        BODY = create_engine(URL).NAME
        """
    ),
    "upload.py": "import boto3\n\nBODY = boto3.NAME\n",
}
FIRST_PARTY = {
    "catalog/__init__.py": _code(
        """
        from importlib.resources import files

        ITEMS = files("catalog").joinpath("data/items.json").read_text().strip()
        """
    ),
    "catalog/data/items.json": '["tea"]\n',
    "emails/__init__.py": "",
    "emails/templates/welcome.txt": "welcome\n",
    "mysite/__init__.py": "",
    "mysite/settings.py": _code(
        """
        INSTALLED_APPS = ["polls", "applib"]
        MIDDLEWARE = ["applib.middleware.Thing"]
        ROOT_URLCONF = "mysite.urls"
        """
    ),
    "mysite/urls.py": "",
    "polls/__init__.py": "",
    "polls/migrations/__init__.py": "",
    "polls/migrations/0001_initial.py": "",
    "polls/templates/index.html": "<p>polls</p>\n",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(site, python): the site built into dist/functions."""
    root = tmp_path_factory.mktemp("byname")
    for name, (files, requires) in WHEELS.items():
        build_wheel(root / "wheels", name, files=files, requires=requires, extras=("drv",))
    python = make_venv(root / "venv")
    pip_install(python, "--no-index", "--find-links", str(root / "wheels"), "--no-deps", *WHEELS)
    dependencies = json.dumps(DECLARED)
    files = {f"netlify/functions/{n}": code + HANDLER for n, code in FUNCTIONS.items()}
    site = write_tree(
        root / "site",
        {
            "pyproject.toml": f'[project]\nname = "s"\nversion = "1"\ndependencies = {dependencies}'
            '\n\n[tool.bundler]\nexclude = ["boto3"]\n',
            **files,
            **FIRST_PARTY,
        },
    )
    result = bundle(site, "build", "--python", str(python))
    assert result[0] == 0, result
    return site, python


def bundle(site: Path, *arguments: str) -> tuple[int, str, str]:
    import os

    here = Path.cwd()
    os.chdir(site)
    try:
        result = CliRunner().invoke(main, list(arguments))
    finally:
        os.chdir(here)
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_every_function_answers_from_its_zip(built: tuple[Path, Path]) -> None:
    site, python = built
    code, out, err = bundle(site, "verify", "--python", str(python), "--invoke")
    assert code == 0, out + err
    lines = {line.split()[1]: line for line in out.splitlines()}
    assert sorted(lines) == sorted(n.split("/")[0].removesuffix(".py") for n in FUNCTIONS)
    assert all(line.startswith("ok ") and "statusCode 200" in line for line in lines.values())
    # the runtime's own package, excluded from the zip, is provided as Lambda does
    assert lines["upload"].endswith(
        "; boto3 provided as the python3.11 runtime does (from the site's environment)"
    )


def test_what_each_zip_holds(built: tuple[Path, Path]) -> None:
    out = built[0] / "dist" / "functions"
    assert zip_distributions(out / "meta.zip") == {"metalib"}
    assert {"catalog/data/items.json", "catalog/__init__.py"} <= set(
        zip_names(out / "resources.zip")
    )
    assert {"emails/__init__.py", "emails/templates/welcome.txt"} <= set(
        zip_names(out / "getdata.zip")
    )
    app = set(zip_names(out / "app.zip"))
    assert {
        "mysite/settings.py",
        "polls/migrations/0001_initial.py",
        "polls/templates/index.html",
    } <= app
    assert "mysite/urls.py" in app  # ROOT_URLCONF
    assert zip_distributions(out / "app.zip") == {"applib"}
    # the unguarded import ships; the guarded and the lazy one do not
    assert zip_distributions(out / "sdk.zip") == {"sdklib", "hiddendep"}
    assert zip_distributions(out / "connect.zip") == {"connector", "hiddendrv"}
    assert zip_distributions(out / "orders.zip") == {"sqlalchemy", "pg8000"}
    assert zip_distributions(out / "reports.zip") == {"sqlalchemy", "psycopg"}
    assert zip_distributions(out / "upload.zip") == set()


@pytest.mark.parametrize(
    ("function", "name", "chain"),
    [
        ("meta", "metalib", 'meta.py:3 reads its metadata: version("metalib")'),
        ("app", "applib", "settings.py:1 names INSTALLED_APPS 'applib'"),
        ("sdk", "hiddendep", "sdklib/adapter.py:1 imports hiddendep"),
        ("connect", "hiddendrv", "connector/__init__.py:1 imports hiddendrv"),
        ("orders", "pg8000", "orders.py:4 loads its driver pg8000: postgresql+pg8000://"),
        ("reports", "psycopg", "reports.py:5 loads its driver psycopg: postgresql://"),
    ],
)
def test_why_names_the_code_that_loads_it(
    built: tuple[Path, Path], function: str, name: str, chain: str
) -> None:
    site, python = built
    code, out, _err = bundle(site, "why", name, "--function", function, "--python", str(python))
    assert code == 0
    assert out.splitlines()[1:3] == [f"{function}: shipped (1 chain)", f"  {chain}"]


def test_why_an_excluded_runtime_package_is_not_shipped(built: tuple[Path, Path]) -> None:
    site, python = built
    explanation = explain(Site.open(site, python=python), "boto3", "upload")
    [answer] = explanation.functions
    assert [r.message for r in answer.reasons] == [
        "provided by the python3.11 runtime, excluded in pyproject.toml; it would ship through:"
    ]


def test_a_library_import_is_noted_with_its_file_and_line(built: tuple[Path, Path]) -> None:
    site, python = built
    _exit, _out, err = bundle(site, "build", "--python", str(python), "--no-cache")
    notes = sorted(line for line in err.splitlines() if line.startswith("note:"))
    assert [n.split("site-packages/", 1)[1] for n in notes] == [
        "connector/__init__.py:1: connector/__init__.py:1 imports hiddendrv at module level, "
        "which connector declares only under the extra 'drv': hiddendrv ships",
        "sdklib/adapter.py:1: sdklib/adapter.py:1 imports hiddendep at module level, which "
        "sdklib does not declare: hiddendep ships",
    ]


@pytest.mark.parametrize(
    ("name", "function", "chain"),
    [
        ("polls", "app", "settings.py:1 names INSTALLED_APPS 'polls'"),
        ("catalog", "resources", '__init__.py:3 reads its files: files("catalog")'),
        ("emails", "getdata", 'getdata.py:3 reads its files: get_data("emails")'),
    ],
)
def test_why_a_first_party_package_named_by_a_string_ships_whole(
    built: tuple[Path, Path], name: str, function: str, chain: str
) -> None:
    site, python = built
    code, out, _err = bundle(site, "why", name, "--function", function, "--python", str(python))
    assert code == 0
    assert out.splitlines() == [
        f"{name}: first-party code, loaded by name",
        f"{function}: shipped (1 chain)",
        f"  {chain}: the package {name}/ ships whole (its data files and every module)",
    ]


def test_a_string_naming_an_undeclared_distribution_ships_nothing(
    tmp_path: Path, built: tuple[Path, Path]
) -> None:
    _site, python = built
    site = write_tree(
        tmp_path / "site",
        {
            "pyproject.toml": '[project]\nname = "s"\nversion = "1"\ndependencies = ["metalib"]\n',
            "netlify/functions/fn.py": "import metalib\n\nMIDDLEWARE = ['applib.middleware.X']\n"
            + HANDLER.replace("BODY", "'ok'"),
        },
    )
    explanation = explain(Site.open(site, python=python), "applib", "fn")
    [answer] = explanation.functions
    assert (answer.shipped, [r.message for r in answer.reasons]) == (
        False,
        [
            "named by a string at fn.py:3 (MIDDLEWARE 'applib.middleware.X'), but not "
            "declared as a runtime dependency"
        ],
    )


def test_a_database_url_whose_driver_is_not_installed_is_an_error(
    tmp_path: Path, built: tuple[Path, Path]
) -> None:
    _site, python = built
    site = write_tree(
        tmp_path / "site",
        {
            "pyproject.toml": '[project]\nname = "s"\nversion = "1"\n'
            'dependencies = ["sqlalchemy"]\n',
            "netlify/functions/fn.py": "from sqlalchemy import create_engine\n\n"
            "engine = create_engine('mysql+pymysql://u@localhost/db')\n" + HANDLER,
        },
    )
    code, _out, err = bundle(site, "build", "--python", str(python), "--no-cache")
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert error == (
        "error: netlify/functions/fn.py:3: the database URL mysql+pymysql:// loads the driver "
        "module 'pymysql', which is not installed; install pymysql (pip install 'pymysql') "
        "and add it to [project].dependencies"
    )


def test_a_metadata_lookup_by_a_variable_is_a_warning(
    tmp_path: Path, built: tuple[Path, Path]
) -> None:
    _site, python = built
    site = write_tree(
        tmp_path / "site",
        {
            "pyproject.toml": '[project]\nname = "s"\nversion = "1"\n',
            "netlify/functions/fn.py": "from importlib.metadata import version\n\n"
            "NAME = 'metalib'\nBODY = version(NAME)\n" + HANDLER,
        },
    )
    _exit, _out, err = bundle(site, "build", "--python", str(python), "--no-cache")
    assert (
        "warning: netlify/functions/fn.py:4: version(...): cannot tell which distribution's "
        "metadata it reads: its argument is not a literal; if it names a distribution or a "
        "package the function needs, add it to [tool.bundler] include"
    ) in err.splitlines()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "optdep",
            "adapter.py:4 imports optdep only under try/except ImportError: a library's import "
            "ships only when it is at module level and unguarded",
        ),
        (
            "lazydep",
            "adapter.py:10 imports lazydep only inside a function: a library's import ships "
            "only when it is at module level and unguarded",
        ),
    ],
)
def test_why_a_guarded_or_lazy_library_import_is_not_shipped(
    built: tuple[Path, Path], name: str, message: str
) -> None:
    site, python = built
    opened = Site.open(site, python=python, every_library_import=True)  # as `bundle why` does
    [answer] = explain(opened, name, "sdk").functions
    assert (answer.shipped, [r.message for r in answer.reasons]) == (False, [f"sdklib/{message}"])
