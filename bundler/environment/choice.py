"""Which interpreter holds the site's packages, and why it was chosen.

The order: `--python`; `[tool.bundler] python`; the site's own environment (`.venv`,
`venv`, `$UV_PROJECT_ENVIRONMENT`, PDM's `.pdm-python`, Poetry's, Pipenv's and Hatch's
environment for the folder); `$VIRTUAL_ENV` when it is not the bundler's own environment;
the bundler's own Python only when it holds the site's declared runtime distributions (or
the site declares none); else a usage error that says how to point at the environment.

Poetry's, Pipenv's and Hatch's paths are computed the way those tools compute them (read
from their source: poetry `EnvManager.generate_env_name`, pipenv `VenvLocator`, hatch
`VirtualEnvironment`): asking the tools costs 0.3 to 2.8 s each, and asked while the
bundler's own virtualenv is active, they answer with that one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.errors import UsageError
from bundler.project.declared import SiteDeclarations, read_toml


@dataclass(frozen=True)
class PythonChoice:
    """The interpreter chosen, and the reason in words (`the site's .venv`)."""

    executable: Path
    reason: str


@dataclass(frozen=True)
class _Candidate:
    path: Path  # a virtualenv folder or an interpreter
    reason: str
    creates: str | None = None  # the command that creates it, when a tool owns it


def choose_python(
    root: Path,
    given: Path | None = None,
    setting: str | None = None,
    declarations: SiteDeclarations | None = None,
    environ: Mapping[str, str] | None = None,
) -> PythonChoice:
    """The interpreter for the site at `root`, in the order the module says.

    Raises UsageError when none can be used (exit 2, before any work)."""
    env = os.environ if environ is None else environ
    declarations = declarations or SiteDeclarations()
    if given is not None:
        return PythonChoice(python_in(given), "--python")
    if setting is not None:
        path = root / setting
        if not path.exists():
            raise UsageError.of(
                f"[tool.bundler] python names {setting}, which does not exist",
                file=root / "pyproject.toml",
                hint="point it at the site's virtualenv folder or interpreter, e.g. "
                'python = ".venv"',
            )
        return PythonChoice(python_in(path), "[tool.bundler] python")
    expected: list[_Candidate] = []
    for candidate in _site_environments(root, declarations, env):
        if _has_python(candidate.path):
            return PythonChoice(python_in(candidate.path), candidate.reason)
        if candidate.creates:
            expected.append(candidate)
    active = env.get("VIRTUAL_ENV")
    if active and not is_own_environment(active):
        return PythonChoice(python_in(Path(active)), "$VIRTUAL_ENV")
    runtime = {d.name for d in declarations.declared if d.kind == "runtime"}
    if not runtime:
        reason = "the bundler's own Python (the site has no environment and declares no "
        return PythonChoice(Path(sys.executable), reason + "runtime dependencies)")
    if runtime & _own_distributions():
        return PythonChoice(
            Path(sys.executable),
            "the bundler's own Python, which holds the site's runtime dependencies",
        )
    raise _no_environment(root, expected, declarations, bool(active))


def default_python(root: Path) -> Path:
    """The interpreter `bundle build` would choose for the site, else this one: for
    commands that only need some Python of the runtime's version (verify, audit)."""
    from bundler.project.config import SiteConfig

    try:
        config = SiteConfig.from_root(root)
        return choose_python(root, None, config.python, config.declarations).executable
    except UsageError:
        return Path(sys.executable)


def python_in(path: Path) -> Path:
    """The interpreter of a virtualenv folder, or `path` itself when it is one."""
    if path.is_dir():
        for candidate in (path / "bin" / "python", path / "Scripts" / "python.exe"):
            if candidate.exists():
                return candidate
    return path


def is_own_environment(virtual_env: str) -> bool:
    """Whether `$VIRTUAL_ENV` is the environment the bundler itself runs in."""
    return os.path.realpath(virtual_env) == os.path.realpath(sys.prefix)


def _has_python(path: Path) -> bool:
    return path.is_file() or python_in(path) != path


def _own_distributions() -> set[str]:
    """The canonical names installed beside the bundler (its own interpreter's path)."""
    from importlib import metadata  # here: only when the bundler's own venv is looked at

    from packaging.utils import canonicalize_name

    return {canonicalize_name(d.metadata["Name"] or "") for d in metadata.distributions()}


def _site_environments(
    root: Path, declarations: SiteDeclarations, env: Mapping[str, str]
) -> Iterator[_Candidate]:
    """The site's own environments, most specific first."""
    uv = env.get("UV_PROJECT_ENVIRONMENT")
    if uv:
        yield _Candidate(root / uv, "$UV_PROJECT_ENVIRONMENT", "uv sync")
    yield _Candidate(root / ".venv", "the site's .venv")
    yield _Candidate(root / "venv", "the site's venv")
    pdm = root / ".pdm-python"
    if pdm.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            yield _Candidate(Path(pdm.read_text(encoding="utf-8").strip()), "PDM's .pdm-python")
    manager = declarations.manager.name
    pyproject = read_toml(root / "pyproject.toml") if manager in ("poetry", "hatch") else {}
    if manager == "poetry" and declarations.project_name:
        for path in _poetry_environments(root, declarations.project_name, env):
            yield _Candidate(path, "Poetry's environment for this folder", "poetry install")
    if (root / "Pipfile").is_file():
        yield _Candidate(
            _pipenv_environment(root, env),
            "Pipenv's environment for this folder",
            "pipenv install --dev",
        )
    if manager == "hatch":
        name = pyproject.get("project", {}).get("name")
        if isinstance(name, str):
            yield _Candidate(
                _hatch_environment(root, name, env),
                "Hatch's default environment",
                "hatch env create",
            )


def _poetry_environments(root: Path, project: str, env: Mapping[str, str]) -> list[Path]:
    """`{virtualenvs.path}/{name}-{hash}-py{X.Y}`: Poetry's default, one per Python minor
    (the newest first); the whole pattern when none exists yet."""
    sanitized = re.sub(r'[ $`!*@"\\\r\n\t]', "_", project.lower())[:42]
    real = os.path.normcase(os.path.realpath(root))
    digest = base64.urlsafe_b64encode(hashlib.sha256(real.encode()).digest()).decode()[:8]
    base = _poetry_virtualenvs(root, env) / f"{sanitized}-{digest}"

    def minor(path: Path) -> tuple[int, ...]:
        found = re.search(r"-py(\d+)\.(\d+)$", path.name)
        return tuple(int(p) for p in found.groups()) if found else ()

    found = sorted(base.parent.glob(f"{glob_escape(base.name)}-py*"), key=minor, reverse=True)
    return found or [Path(f"{base}-py3.X")]


def glob_escape(text: str) -> str:
    """`text` with the glob wildcards `*`, `?` and `[` matched literally."""
    return re.sub(r"([*?[])", r"[\1]", text)


def _poetry_virtualenvs(root: Path, env: Mapping[str, str]) -> Path:
    """`virtualenvs.path`: the variable, the project's poetry.toml, the user's config,
    else `{cache-dir}/virtualenvs`."""
    if env.get("POETRY_VIRTUALENVS_PATH"):
        return Path(env["POETRY_VIRTUALENVS_PATH"]).expanduser()
    config_home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for config in (root / "poetry.toml", config_home / "pypoetry" / "config.toml"):
        table: Any = _quiet_toml(config).get("virtualenvs", {})
        if isinstance(table, dict) and isinstance(table.get("path"), str):
            return Path(table["path"]).expanduser()
    cache = env.get("POETRY_CACHE_DIR") or str(
        Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pypoetry"
    )
    return Path(cache).expanduser() / "virtualenvs"


def _pipenv_environment(root: Path, env: Mapping[str, str]) -> Path:
    """`{WORKON_HOME}/{folder name}-{hash of the Pipfile's path}`."""
    workon = env.get("WORKON_HOME")
    home = (
        Path(os.path.expandvars(workon)).expanduser()
        if workon
        else Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "virtualenvs"
    )
    if env.get("PIPENV_CUSTOM_VENV_NAME"):
        return home / env["PIPENV_CUSTOM_VENV_NAME"]
    folder = Path(os.path.abspath(root))
    pipfile = str(folder / "Pipfile")
    sanitized = re.sub(r'[ &$`!*@"()\[\]\\\r\n\t]', "_", folder.name)[:42]
    digest = base64.urlsafe_b64encode(hashlib.sha256(pipfile.encode()).digest()[:6]).decode()[:8]
    return home / f"{sanitized}-{digest}"


def _hatch_environment(root: Path, project: str, env: Mapping[str, str]) -> Path:
    """`{data}/env/virtual/{name}/{hash of the root}/{name}`: Hatch's `default`."""
    name = re.sub(r"[-_.]+", "-", project).lower()
    folder = str(Path(os.path.abspath(root)))
    digest = base64.urlsafe_b64encode(hashlib.sha256(folder.encode()).digest()).decode()[:8]
    data = env.get("HATCH_DATA_DIR") or str(
        Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "hatch"
    )
    return Path(data).expanduser() / "env" / "virtual" / name / digest / name


def _quiet_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except Exception:  # a broken tool config is that tool's to report
        return {}


def _no_environment(
    root: Path, expected: list[_Candidate], declarations: SiteDeclarations, active: bool
) -> UsageError:
    """No interpreter holds the site's packages: say where one was expected."""
    if expected:
        first = expected[0]
        message = f"{first.reason} was expected at {first.path}, which does not exist"
        hint = f"create it with `{first.creates}` in {root}, or point --python at the site's "
        hint += "environment"
    else:
        message = "the site has no environment: no .venv or venv in the site root"
        hint = (
            f"create one with `{declarations.manager.sync_command}`, or point --python (or "
            '[tool.bundler] python = ".venv") at the environment that holds its packages'
        )
    if active:
        message += (
            "; the active virtualenv is the bundler's own, which holds none of the site's "
            "runtime dependencies"
        )
    return UsageError.of(message, hint=hint)
