"""Database URLs: which driver module (and so which distribution) a SQLAlchemy URL such as
`postgresql+pg8000://` loads by name at run time.

A bare `dialect://` means the dialect's default driver, which SQLAlchemy versions change
(2.1 made psycopg 3 the default of `postgresql://` and oracledb that of `oracle://`): it
is read from the installed SQLAlchemy's own source (`base.dialect = dialect = X.dialect`
in `sqlalchemy/dialects/<dialect>/__init__.py`), never imported; the table below is for
when it cannot be read. Third-party dialects come from the `[sqlalchemy.dialects]` entry
points of installed distributions (`entry_points.txt`, read as text).
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bundler.environment.distributions import Distribution, Environment

# dialect -> driver -> the DBAPI module it imports, then modules it needs when installed
# (greenlet for the async drivers); from SQLAlchemy 2.x's `import_dbapi` methods
DRIVERS: dict[str, dict[str, tuple[str, ...]]] = {
    "postgresql": {
        "psycopg2": ("psycopg2",),
        "psycopg": ("psycopg",),
        "psycopg_async": ("psycopg", "greenlet"),
        "pg8000": ("pg8000",),
        "asyncpg": ("asyncpg", "greenlet"),
        "psycopg2cffi": ("psycopg2cffi",),
    },
    "mysql": {
        "mysqldb": ("MySQLdb",),
        "pymysql": ("pymysql",),
        "mysqlconnector": ("mysql.connector",),
        "asyncmy": ("asyncmy", "greenlet"),
        "aiomysql": ("aiomysql", "greenlet"),
        "mariadbconnector": ("mariadb",),
        "cymysql": ("cymysql",),
    },
    "sqlite": {
        "pysqlite": ("sqlite3",),
        "pysqlite_numeric": ("sqlite3",),
        "pysqlite_dollar": ("sqlite3",),
        "aiosqlite": ("aiosqlite", "greenlet"),
        "pysqlcipher": ("sqlcipher3",),
    },
    "oracle": {
        "oracledb": ("oracledb",),
        "oracledb_async": ("oracledb", "greenlet"),
        "cx_oracle": ("cx_Oracle",),
    },
    "mssql": {
        "pyodbc": ("pyodbc",),
        "pymssql": ("pymssql",),
        "aioodbc": ("aioodbc", "greenlet"),
        "mssqlpython": ("mssql_python",),
    },
}
DRIVERS["mariadb"] = DRIVERS["mysql"]  # `mariadb+DRIVER` loads the mysql dialect's driver
# SQLAlchemy 2.0's defaults: used when the installed SQLAlchemy's cannot be read
FALLBACK_DEFAULTS = {
    "postgresql": "psycopg2",
    "mysql": "mysqldb",
    "sqlite": "pysqlite",
    "oracle": "cx_oracle",
    "mssql": "pyodbc",
}
# driver modules whose distribution is named otherwise on PyPI (for the install hint)
DISTRIBUTION_NAMES = {
    "MySQLdb": "mysqlclient",
    "mysql.connector": "mysql-connector-python",
    "cx_Oracle": "cx-Oracle",
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "sqlcipher3": "sqlcipher3-binary",
    "mssql_python": "mssql-python",
}
# Django database engines and the drivers they try, in order (all imported guarded)
DJANGO_ENGINES = {
    "django.db.backends.postgresql": ("psycopg", "psycopg2"),
    "django.db.backends.mysql": ("MySQLdb",),
    "django.db.backends.oracle": ("oracledb", "cx_Oracle"),
}
_DEFAULT = re.compile(r"^base\.dialect\s*=\s*(?:dialect\s*=\s*)?(\w+)\.dialect\b", re.MULTILINE)


@dataclass(frozen=True)
class Driver:
    """What a URL loads: the dialect's distribution when it is a third-party one, the
    DBAPI module (None for the standard library's sqlite3), and modules needed when
    installed."""

    scheme: str
    dialect_distribution: str | None
    module: str | None
    wanted: tuple[str, ...] = ()

    @property
    def distribution_hint(self) -> str:
        """The PyPI name to install for the DBAPI module."""
        return DISTRIBUTION_NAMES.get(self.module or "", self.module or "")


class Dialects:
    """The dialects one environment knows: SQLAlchemy's own and its entry points'."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._defaults: dict[str, str] = {}
        self._entry_points: Mapping[tuple[str, str], str] | None = None

    def driver(self, scheme: str) -> Driver | None:
        """What `dialect[+driver]` loads; None when no installed dialect has that name
        (`https://` is no database URL)."""
        if "sqlalchemy" not in self.environment.distributions:
            return None
        dialect, _, driver = scheme.partition("+")
        third_party = self._third_party().get(f"{dialect}.{driver}" if driver else dialect)
        third_party = third_party or self._third_party().get(dialect)
        if dialect in DRIVERS and third_party is None:
            driver = driver or self._default(dialect)
            modules = DRIVERS[dialect].get(driver, (driver,))
        elif third_party is not None:
            known = {d: m for drivers in DRIVERS.values() for d, m in drivers.items()}
            modules = known.get(driver, (driver,)) if driver else ()
        else:
            return None
        module = modules[0] if modules and modules[0] != "sqlite3" else None
        return Driver(scheme, third_party, module, modules[1:])

    def _default(self, dialect: str) -> str:
        base = "mysql" if dialect == "mariadb" else dialect
        if base not in self._defaults:
            self._defaults[base] = _read_default(
                self.environment.distributions["sqlalchemy"], base
            ) or FALLBACK_DEFAULTS.get(base, "")
        return self._defaults[base]

    def entry_points(self) -> Mapping[tuple[str, str], str]:
        """(group, name) -> the distribution declaring it (read once)."""
        if self._entry_points is None:
            self._entry_points = entry_points(self.environment)
        return self._entry_points

    def _third_party(self) -> dict[str, str]:
        """ "dialect[.driver]" -> the distribution whose entry point provides it."""
        return {
            name: owner
            for (group, name), owner in self.entry_points().items()
            if group == "sqlalchemy.dialects"
        }


def entry_points(environment: Environment) -> Mapping[tuple[str, str], str]:
    """(group, name) -> the distribution declaring it, from every `entry_points.txt`."""
    found: dict[tuple[str, str], str] = {}
    for distribution in environment.distributions.values():
        try:
            text = (distribution.location / "entry_points.txt").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # none (most distributions), or one nobody can read
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(text)
        except configparser.Error:
            continue  # importlib.metadata could not read it either
        for group in parser.sections():
            for name in parser.options(group):
                found.setdefault((group, name.strip()), distribution.name)
    return found


def _read_default(sqlalchemy: Distribution, dialect: str) -> str | None:
    text = _read(sqlalchemy, f"sqlalchemy/dialects/{dialect}/__init__.py")
    found = _DEFAULT.search(text or "")
    return found.group(1) if found else None


def _read(distribution: Distribution, arcname: str) -> str | None:
    for file in distribution.files:
        if file.arcname == arcname:
            try:
                return file.source.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
    return None
