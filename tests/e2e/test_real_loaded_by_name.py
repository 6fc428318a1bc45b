"""End to end with real packages from the package index (slow): Django behind apig-wsgi,
loaded by its settings' strings; SQLAlchemy choosing pg8000 by its URL; cryptography as a
plain `pip install` puts it on this host (manylinux_2_34), built for python3.11 with no flag.

Each zip is run in a clean interpreter, the way Lambda runs it.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import (
    api_event,
    invoke,
    make_venv,
    pip_install,
    write_tree,
    zip_distributions,
    zip_names,
)

from bundler.cli import main

pytestmark = pytest.mark.slow

PINS = ("Django==5.2.19", "apig-wsgi==2.20.0", "SQLAlchemy==2.1.9", "pg8000==1.31.6",
        "cryptography==50.0.2")  # fmt: skip


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


SITE = {
    "pyproject.toml": _code(
        """
        [project]
        name = "real"
        version = "1"
        dependencies = ["django", "apig-wsgi", "sqlalchemy", "pg8000", "cryptography"]
        """
    ),
    "netlify/functions/web.py": _code(
        """
        import os

        from apig_wsgi import make_lambda_handler

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

        from django.core.wsgi import get_wsgi_application  # noqa: E402

        handler = make_lambda_handler(get_wsgi_application())
        """
    ),
    "mysite/__init__.py": "",
    "mysite/settings.py": _code(
        """
        SECRET_KEY = "test"
        DEBUG = False
        ALLOWED_HOSTS = ["localhost"]
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "polls"]
        MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
        ROOT_URLCONF = "mysite.urls"
        TEMPLATES = [
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ]
        DATABASES = {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/polls.sqlite3"}
        }
        """
    ),
    "mysite/urls.py": _code(
        """
        from django.urls import include, re_path

        urlpatterns = [re_path(r"", include("polls.urls"))]
        """
    ),
    "polls/__init__.py": "",
    "polls/urls.py": _code(
        """
        from django.urls import re_path

        from . import views

        urlpatterns = [re_path(r"", views.index)]
        """
    ),
    "polls/views.py": _code(
        """
        from django.shortcuts import render


        def index(request):
            return render(request, "polls/index.html", {"question": "tea?"})
        """
    ),
    "polls/templates/polls/index.html": "<p>{{ question }}</p>\n",
    "netlify/functions/orders.py": _code(
        """
        from sqlalchemy import create_engine

        HOST = "127.0.0.1"
        engine = create_engine(f"postgresql+pg8000://orders:secret@{HOST}:1/orders")


        def handler(event, context):
            return {"statusCode": 200, "body": engine.dialect.driver}
        """
    ),
    "netlify/functions/digest.py": _code(
        """
        from cryptography.hazmat.primitives import hashes


        def handler(event, context):
            digest = hashes.Hash(hashes.SHA256())
            digest.update(b"tea")
            return {"statusCode": 200, "body": digest.finalize().hex()[:12]}
        """
    ),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(site, python, the build's stderr), built with no flag."""
    root = tmp_path_factory.mktemp("real-byname")
    python = make_venv(root / "venv")
    pip_install(python, "--only-binary=:all:", *PINS)
    site = write_tree(root / "site", SITE)
    result = run(site, "build", "--python", str(python))
    assert result[0] == 0, result
    return site, python, result[2]


def run(site: Path, *arguments: str) -> tuple[int, str, str]:
    import os

    here = Path.cwd()
    os.chdir(site)
    try:
        result = CliRunner().invoke(main, list(arguments))
    finally:
        os.chdir(here)
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_django_answers_from_its_zip(built: tuple[Path, Path, str], tmp_path: Path) -> None:
    site, python, _err = built
    bundle = site / "dist" / "functions" / "web.zip"
    names = set(zip_names(bundle))
    assert {"mysite/settings.py", "polls/views.py", "polls/templates/polls/index.html"} <= names
    response = invoke(bundle, "web", api_event("/"), tmp_path, python=python)
    assert (response["statusCode"], response["body"].strip()) == (200, "<p>tea?</p>")


def test_sqlalchemy_ships_the_driver_its_url_names(
    built: tuple[Path, Path, str], tmp_path: Path
) -> None:
    site, python, _err = built
    bundle = site / "dist" / "functions" / "orders.zip"
    assert {"sqlalchemy", "pg8000", "scramp"} <= zip_distributions(bundle)
    assert "psycopg2" not in zip_distributions(bundle)
    response = invoke(bundle, "orders", api_event("/"), tmp_path, python=python)
    assert response == {"statusCode": 200, "body": "pg8000"}


def test_a_wheel_too_new_for_the_runtime_is_swapped_without_a_flag(
    built: tuple[Path, Path, str], tmp_path: Path
) -> None:
    site, python, err = built
    [note] = [line for line in err.splitlines() if "cryptography 50.0.2: using the" in line]
    assert note.endswith(
        "cryptography 50.0.2: using the manylinux2014 wheel; the installed one needs glibc 2.34"
    )
    bundle = site / "dist" / "functions" / "digest.zip"
    response = invoke(bundle, "digest", api_event("/"), tmp_path, python=python)
    assert response == {"statusCode": 200, "body": hashlib.sha256(b"tea").hexdigest()[:12]}
    code, out, _ = run(site, "verify", "--python", str(python), "--invoke")
    assert code == 0, out
    manifest = json.loads((site / "dist" / "functions" / "manifest.json").read_text())
    assert manifest["system"]["runtime"] == "python3.11"
