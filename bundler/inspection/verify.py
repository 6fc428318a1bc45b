"""`bundle verify`: unzip each bundle and import its handler the way Lambda would, in a
clean interpreter with only the bundle on `sys.path`; check its native files too."""

from __future__ import annotations

import json
import platform
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from bundler.environment.distributions import Environment, read_distribution
from bundler.environment.interpreter import Interpreter
from bundler.environment.targets import Target, normalise_arch
from bundler.errors import Problem, UsageError
from bundler.inspection.integrity import DAMAGED, zip_difference
from bundler.inspection.provided import prepare_provided, provided_names
from bundler.manifest.document import MANIFEST_NAME, ManifestFunction
from bundler.manifest.reader import read_manifest
from bundler.pack.binaries import check_distribution, check_files

# Run by the target interpreter in the unzipped bundle, as Lambda's bootstrap does.
_RUNNER = r"""
import importlib, json, sys, time, types
module, invoke, event = sys.argv[1], sys.argv[2] == "1", json.loads(sys.argv[3])
provided = sys.argv[4]
sys.path[:0] = ["."]
if provided:
    sys.path.append(provided)  # after the task root, as on Lambda: the zip's copy wins
report = {}
try:
    start = time.perf_counter()
    loaded = importlib.import_module(module)
    report["millis"] = (time.perf_counter() - start) * 1000
    handler = getattr(loaded, "handler", None)
    if not callable(handler):
        report["error"] = "%s.handler is missing or not callable" % module
    elif invoke:
        context = types.SimpleNamespace(
            function_name=module, function_version="$LATEST", aws_request_id="verify",
            memory_limit_in_mb=1024, invoked_function_arn="arn:aws:lambda:verify",
            log_group_name="verify", log_stream_name="verify",
            get_remaining_time_in_millis=lambda: 30000,
        )
        result = handler(event, context)
        if isinstance(result, dict) and "statusCode" in result:
            report["status"] = result["statusCode"]
        report["invoked"] = True
except BaseException as error:
    report["error"] = "%s: %s" % (type(error).__name__, error)
if provided:
    report["provided"] = sorted({
        name.split(".")[0] for name, loaded in list(sys.modules.items())
        if (getattr(loaded, "__file__", None) or "").startswith(provided)
    })
print("\n@@VERIFY@@" + json.dumps(report))
"""
_TIMEOUT = 120


@dataclass(frozen=True)
class FunctionCheck:
    """One bundle's verdict: `detail` is the line's text, `problems` the binaries checks."""

    name: str
    ok: bool
    detail: str
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Verification:
    """Every bundle of a manifest, checked for `target`; `ran` is False on another arch."""

    target: Target
    ran: bool
    checks: tuple[FunctionCheck, ...]

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(check.ok for check in self.checks)


def verify_bundles(
    out: Path, python: Path, *, invoke: bool = False, machine: str | None = None
) -> Verification:
    """Check every zip listed in `out/manifest.json`; `UsageError` when it cannot start.

    The handlers are imported (and with `invoke` called with an API Gateway event) only
    when the bundles' arch is this machine's (`machine`, default `platform.machine()`);
    the native files are checked either way.
    """
    python = python.absolute()  # the handlers run with the bundle as cwd
    path = out / MANIFEST_NAME
    manifest = read_manifest(path)
    try:
        target = Target.from_names(manifest.runtime, manifest.arch)
    except UsageError as error:  # a runtime or arch this bundler does not know
        raise UsageError(*(replace(p, file=path) for p in error.problems)) from None
    ran = normalise_arch(machine or platform.machine()) == target.arch
    if ran:
        interpreter = Interpreter.from_executable(python)
        if interpreter.version[:2] != target.python:
            found = ".".join(str(v) for v in interpreter.version[:2])
            raise UsageError.of(
                f"the bundles are for {target.runtime}, and {python} is Python {found}",
                hint=f"pass --python with a Python {target.python[0]}.{target.python[1]} "
                "interpreter",
            )
    with tempfile.TemporaryDirectory(prefix="bundler-verify-runtime-") as scratch:
        runtime = _runtime_packages(Path(scratch), interpreter, target) if ran else None
        checks = [
            _verify_one(out, function, python, target, ran=ran, invoke=invoke, runtime=runtime)
            for function in manifest.functions
        ]
    return Verification(target, ran, tuple(checks))


@dataclass(frozen=True)
class _Runtime:
    """What the Lambda runtime provides, taken from the site's environment (`folder`), and
    the distribution that owns each of its top-level modules."""

    folder: Path
    owners: dict[str, str]
    runtime: str


def _runtime_packages(scratch: Path, interpreter: Interpreter, target: Target) -> _Runtime | None:
    """The runtime's packages (boto3 and what it requires) from `interpreter`'s environment,
    in a folder of their own: a zip that leaves them out still imports them, as on Lambda."""
    environment = Environment.from_interpreter(interpreter)
    provided = prepare_provided(scratch, environment)
    if provided.folder is None:
        return None
    shipped = provided_names(environment)
    owners = {
        module: environment.distributions[names[0]].display_name
        for module, names in environment.owners.items()
        if "." not in module and len(names) == 1 and names[0] in shipped
    }
    return _Runtime(provided.folder, owners, target.runtime)


def _verify_one(
    out: Path,
    function: ManifestFunction,
    python: Path,
    target: Target,
    *,
    ran: bool,
    invoke: bool,
    runtime: _Runtime | None = None,
) -> FunctionCheck:
    name = function.name  # the name rule holds (read_manifest): a file name, never a path
    bundle = out / function.path
    if not bundle.is_file():
        return FunctionCheck(name, False, f"{bundle.name} is missing: build again")
    try:
        difference = zip_difference(bundle, function)
    except OSError as error:
        difference = f"cannot read {bundle.name}: {error.strerror}"
    if difference is not None:  # nothing of it is extracted, nothing runs
        return FunctionCheck(name, False, f"{difference}; build again")
    with tempfile.TemporaryDirectory(prefix=f"bundler-verify-{name}-") as temp:
        root = Path(temp)
        try:
            with zipfile.ZipFile(bundle) as archive:
                archive.extractall(root)
        except (*DAMAGED, OSError) as error:
            return FunctionCheck(name, False, f"cannot unzip {bundle.name}: {error}")
        problems = tuple(check_tree(root, target))
        errors = [p for p in problems if p.severity == "error"]
        if not ran:
            detail = f"files checked; {target.arch} code cannot run on {platform.machine()}"
            return FunctionCheck(
                name, not errors, errors[0].message if errors else detail, problems
            )
        report = _run(root, function.module, python, invoke, name, runtime)
    used = _provided_used(report, runtime)
    if "error" in report:
        return FunctionCheck(name, False, str(report["error"]) + used, problems)
    detail = f"imported in {report['millis']:.0f} ms"
    if "status" in report:
        detail += f", statusCode {report['status']}"
    elif report.get("invoked"):
        detail += ", invoked"
    detail += used
    if errors:
        return FunctionCheck(name, False, f"{detail}; {errors[0].message}", problems)
    return FunctionCheck(name, True, detail, problems)


def check_tree(root: Path, target: Target) -> list[Problem]:
    """The binaries checks over an unzipped bundle: each distribution, then loose files."""
    problems: list[Problem] = []
    owned: set[Path] = set()
    for found in metadata.distributions(path=[str(root)]):
        distribution = read_distribution(found)
        if distribution is None:
            continue
        owned.update(f.source for f in distribution.files)
        problems += check_distribution(distribution, target)
    loose = sorted(
        (p.relative_to(root).as_posix(), p)
        for p in root.rglob("*")
        if p.is_file() and p not in owned and ".dist-info" not in p.parent.name
    )
    problems += check_files(loose, target, "the function's own files")
    return problems


def _provided_used(report: dict[str, Any], runtime: _Runtime | None) -> str:
    """`; boto3, botocore provided as the python3.11 runtime does (from the site's
    environment)`, when the handler used what its zip leaves out."""
    if runtime is None or not report.get("provided"):
        return ""
    names = sorted({runtime.owners.get(m, m) for m in report["provided"]}, key=str.lower)
    return (
        f"; {', '.join(names)} provided as the {runtime.runtime} runtime does "
        "(from the site's environment)"
    )


def _run(
    root: Path, module: str, python: Path, invoke: bool, name: str, runtime: _Runtime | None
) -> dict[str, Any]:
    """Import (and call) the handler; the event is a GET of the function's Netlify path."""
    event = api_event(f"/.netlify/functions/{name}")
    provided = str(runtime.folder) + "/" if runtime else ""
    try:
        done = subprocess.run(
            [str(python), "-I", "-S", "-c", _RUNNER, module, "1" if invoke else "0",
             json.dumps(event), provided],
            capture_output=True, text=True, cwd=root, env={}, timeout=_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {_TIMEOUT} s"}
    except OSError as error:
        return {"error": f"cannot run {python}: {error.strerror}"}
    if "@@VERIFY@@" not in done.stdout:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"error": f"the interpreter stopped: {last}"}
    result: dict[str, Any] = json.loads(done.stdout.rsplit("@@VERIFY@@", 1)[1])
    return result


def api_event(path: str = "/", method: str = "GET") -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as Netlify sends a function."""
    headers = {"host": "localhost", "content-type": "application/json"}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": path,
            "identity": {"sourceIp": "127.0.0.1"},
            "stage": "prod",
            "requestId": "verify",
        },
        "body": None,
        "isBase64Encoded": False,
    }
