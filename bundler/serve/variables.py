"""The environment variables a worker sees: the site's, then Lambda's own.

The site's variables come from netlify.toml `[build.environment]`, then the env file
(`.env`), and the process's own value wins for any name either one sets (Netlify's order).
The rest of the shell's environment passes through, except what would change how Python
starts or which packages it sees (`PYTHON*`, `VIRTUAL_ENV`, `CONDA_*`, `PYENV_*`). Lambda's
reserved variables are set last with real values and always win.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bundler.errors import Problem

REGION = "us-east-1"  # Netlify's default functions region
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
_DROPPED_PREFIXES = ("PYTHON", "VIRTUAL_ENV", "CONDA_", "PYENV_", "__PYVENV")
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


@dataclass(frozen=True)
class SiteVariables:
    """The site's variables and where each one came from (for the start-up summary)."""

    values: Mapping[str, str]
    sources: Mapping[str, str]
    warnings: tuple[Problem, ...] = ()


def read_env_file(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """`KEY=value` lines as dotenv reads them: `export`, comments, single quotes literal,
    double quotes with escapes, quoted values over several lines."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as error:
        problem = Problem(f"cannot read the env file: {error}", file=path, severity="warning")
        return {}, [problem]
    values: dict[str, str] = {}
    problems: list[Problem] = []
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(
                Problem(
                    "not a KEY=value line; it is ignored",
                    file=path,
                    line=number,
                    hint="write NAME=value (quote values with spaces or #)",
                    severity="warning",
                )
            )
            continue
        key, raw = match.group(1), match.group(2)
        quote = raw[:1]
        if quote in ('"', "'"):
            text = raw[1:]
            while not _closed(text, quote) and index < len(lines):
                text += "\n" + lines[index]
                index += 1
            body = text[: _closing(text, quote)] if _closed(text, quote) else text
            values[key] = _unescape(body) if quote == '"' else body
        else:
            values[key] = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
    return values, problems


def _closing(text: str, quote: str) -> int:
    position = 0
    while position < len(text):
        if text[position] == "\\" and quote == '"':
            position += 2
            continue
        if text[position] == quote:
            return position
        position += 1
    return -1


def _closed(text: str, quote: str) -> bool:
    return _closing(text, quote) >= 0


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def site_variables(
    from_toml: Mapping[str, str], env_file: Path | None, process: Mapping[str, str]
) -> SiteVariables:
    """netlify.toml's, then the env file's, the process's own value winning."""
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key, value in from_toml.items():
        values[key], sources[key] = value, "netlify.toml [build.environment]"
    problems: list[Problem] = []
    if env_file is not None:
        found, problems = read_env_file(env_file)
        for key, value in found.items():
            values[key], sources[key] = value, env_file.name
    for key in values:
        if key in process:
            values[key], sources[key] = process[key], "the shell"
    return SiteVariables(values, sources, tuple(problems))


@dataclass(frozen=True, kw_only=True)
class LambdaIdentity:
    """What Lambda's reserved variables say about one execution environment."""

    function: str
    handler: str
    runtime: str  # python3.11
    memory: int
    runtime_api: str  # host:port
    task_root: Path
    runtime_dir: Path
    python_path: tuple[Path, ...]


def worker_environment(
    identity: LambdaIdentity,
    site: Mapping[str, str],
    process: Mapping[str, str],
    url: str,
    tmpdir: Path | None = None,
) -> dict[str, str]:
    """The full environment of one worker process."""
    environment = {
        k: v for k, v in process.items() if not k.startswith(_DROPPED_PREFIXES) and k != "PATH"
    }
    environment.update({k: v for k, v in site.items() if k not in ("PYTHONPATH", "PYTHONHOME")})
    environment.update({"NETLIFY_DEV": "true", "URL": url})
    today = datetime.now(UTC).strftime("%Y/%m/%d")
    libraries = f"{identity.task_root}:{identity.task_root / 'lib'}"
    if process.get("LD_LIBRARY_PATH"):
        libraries += f":{process['LD_LIBRARY_PATH']}"
    environment.update(
        {
            "_HANDLER": identity.handler,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{identity.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": identity.function,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(identity.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{identity.function}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{secrets.token_hex(16)}",
            "AWS_LAMBDA_RUNTIME_API": identity.runtime_api,
            "LAMBDA_TASK_ROOT": str(identity.task_root),
            "LAMBDA_RUNTIME_DIR": str(identity.runtime_dir),
            "LD_LIBRARY_PATH": libraries,
            "PATH": LAMBDA_PATH,
            "PYTHONPATH": ":".join(str(p) for p in identity.python_path),
            "TZ": "UTC",
            "LANG": "en_US.UTF-8",
        }
    )
    if tmpdir is not None:
        environment["TMPDIR"] = str(tmpdir)
    return environment
