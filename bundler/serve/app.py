"""`bundle serve` as a whole: build, prepare the runtime, serve, reload, stop.

Start: build the site (the build's cache makes it cheap), install the runtime client once,
gather the runtime's packages, find the isolation that works, make a pool of workers per
function, route. A change to the site's inputs rebuilds; a function whose zip, limits or
environment changed gets a new pool (fresh module state) and the old one is retired.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bundler import __version__
from bundler.errors import BundlerError, Problem, display_path
from bundler.inspection.provided import ProvidedPackages, prepare_provided, provided_names
from bundler.serve.cron import Cron
from bundler.serve.dispatch import State, respond, to_http
from bundler.serve.events import HttpRequest, schedule_run_event
from bundler.serve.isolation import Isolation, probe_isolation
from bundler.serve.logs import Log
from bundler.serve.pool import FunctionPool, Throttled
from bundler.serve.responses import HttpResponse
from bundler.serve.router import Router
from bundler.serve.runtime_client import client_version, ensure_runtime_client
from bundler.serve.scheduler import Scheduler
from bundler.serve.settings import ServeConfig
from bundler.serve.summary import Limits, start_lines
from bundler.serve.tasks import SiteBuild, build_site, remove_tree
from bundler.serve.variables import SiteVariables, site_variables
from bundler.serve.watcher import Watcher, WatchSet
from bundler.serve.worker import Spawner, WorkerSpec

STATUS_PATH = "/.netlify/bundle/status"


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """What `bundle serve` was asked to do."""

    root: Path
    functions_dir: Path | None = None
    python: Path | None = None
    env_file: Path | None = Path(".env")
    concurrency: int = 4
    watch: bool = True
    schedule: bool = True
    url: str = "http://localhost:9999"
    cache: Path | None = None


class ServeApp:
    """The running server's state; `handle` is called from the HTTP threads."""

    def __init__(self, options: ServeOptions, log: Log) -> None:
        self.options = options
        self.root = options.root.resolve()
        self.cache = options.cache or self.root / ".bundle-cache"
        self.log = log
        self.spawner = Spawner()
        self.scheduler = Scheduler(self._scheduled_run)
        self.watcher: Watcher | None = None
        self.isolation: Isolation | None = None
        self.runtime_dir = Path()
        self.provided = ProvidedPackages(None, ())
        self.build: SiteBuild | None = None
        self.state = State(router=Router({}), served={}, pools={}, schedules={}, root=self.root)
        self._specs: dict[str, tuple[WorkerSpec, float]] = {}
        self._retired: list[tuple[FunctionPool, Path]] = []
        self._reload_lock = threading.Lock()

    # start and stop

    def start(self) -> None:
        """Everything before the first request; BundlerError when it cannot serve."""
        config = ServeConfig.from_root(self.root)
        for problem in config.warnings:
            self._problem(problem)
        build = self._build()
        interpreter = build.result.environment.interpreter
        version, machine = interpreter.version, interpreter.machine
        python = f"Python {version[0]}.{version[1]}"
        self.log(
            f"runtime client: awslambdaric {client_version(version)} for {python} on {machine}"
        )
        self.runtime_dir, installed = ensure_runtime_client(
            self.cache, version, machine, interpreter.executable
        )
        if installed:
            shown = display_path(self.runtime_dir, self.root)
            self.log(f"  installed into {shown} (once per Python and machine)")
        self.provided = prepare_provided(self.cache, build.result.environment)
        self.log(self.provided.describe())
        scratch = self.cache / "serve" / "probe"
        self.isolation = probe_isolation(interpreter.executable, scratch, [self.cache, scratch])
        self.log(self.isolation.describe())
        target = build.result.environment.target.runtime
        if target != f"python{version[0]}.{version[1]}":
            self.log(
                f"warning: the zips target {target} but the workers run Python "
                f"{version[0]}.{version[1]} (--python): code for {target} may behave differently"
            )
        self._apply(config, build, first=True)
        if self.options.schedule:
            self.scheduler.start()
        if self.options.watch:
            self.watcher = Watcher(self._watch_set, self.reload)
            self.watcher.start()

    def stop(self) -> None:
        """Stop every worker, the scheduler and the watcher (no process is left behind)."""
        if self.watcher is not None:
            self.watcher.stop()
        self.scheduler.stop()
        for pool in self.state.pools.values():
            pool.terminate()
        for pool, _root in self._retired:
            pool.terminate()
        self._clean_retired(force=True)
        self.spawner.close()

    # requests

    def handle(self, request: HttpRequest) -> HttpResponse:
        """The response to one request: the status document, else what the site routes it to."""
        state = self.state
        if request.path == STATUS_PATH:
            document = {
                "server": "bundle serve",
                "version": __version__,
                "site": str(self.root),
                "functions": {
                    n: {"kind": s.function.kind, "trigger": s.function.trigger}
                    if s.function
                    else {"kind": None, "trigger": None}
                    for n, s in state.served.items()
                },
            }
            body = json.dumps(document).encode()
            return HttpResponse(200, (("Content-Type", "application/json"),), body)
        return respond(state, request, self.log)

    def _scheduled_run(self, name: str, next_run: str) -> None:
        pool = self.state.pools.get(name)
        if pool is None:
            return
        self.log(f"[{name}] scheduled run (next run {next_run})")
        host = self.options.url.split("://", 1)[-1]
        try:
            outcome = pool.invoke(schedule_run_event(name, next_run, host))
        except Throttled as error:
            self.log(f"[{name}] scheduled run skipped: {error}")
            return
        response = to_http(outcome, name, False, self.log)
        self.log(f"[{name}] scheduled run ended: {response.status}")

    # building and reloading

    def _build(self) -> SiteBuild:
        started = time.monotonic()
        build = build_site(self.root, self.options.functions_dir, self.options.python, self.cache)
        builds = build.result.builds
        cached = sum(b.cached for b in builds)
        seconds = time.monotonic() - started
        self.log(f"built {len(builds)} functions ({cached} unchanged) in {seconds:.1f} s")
        return build

    def reload(self, paths: list[Path]) -> None:
        """Rebuild after a change; keep serving the last good build when the site cannot be
        built at all."""
        with self._reload_lock:
            shown = ", ".join(display_path(p, self.root) for p in paths[:3])
            more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
            self.log(f"change: {shown}{more}: rebuilding")
            try:
                config = ServeConfig.from_root(self.root)
                build = self._build()
                self.provided = prepare_provided(self.cache, build.result.environment)
                self._apply(config, build, first=False)
            except BundlerError as error:
                for problem in error.problems:
                    self._problem(problem)
                self.log("the site cannot be built: still serving the last build")
                return
            except OSError as error:  # a full disk, a folder removed under the server
                self.log(f"error: {error}: still serving the last build")
                return
            self._clean_retired()

    def _apply(self, config: ServeConfig, build: SiteBuild, first: bool) -> None:
        """Make `build` the one served: new pools for what changed, the rest kept warm."""
        assert self.isolation is not None
        variables = site_variables(config.environment, self._env_file(), os.environ)
        for problem in variables.warnings:
            self._problem(problem)
        version = build.result.environment.interpreter.version
        old, before = self.state.pools, self.state.served
        pools: dict[str, FunctionPool] = {}
        specs: dict[str, tuple[WorkerSpec, float]] = {}
        routes, schedules = {}, {}
        said: list[str] = []  # logged once the new state serves
        for name, served in sorted(build.functions.items()):
            function = served.function
            routes[name] = (function.routes, function.excluded_routes) if function else ((), ())
            if function is None or served.task_root is None:
                earlier = before.get(name)
                if first or name in old or earlier is None or earlier.errors != served.errors:
                    self._report_failure(name, served.errors)
                continue
            if function.schedule:
                schedules[name] = Cron.parse(function.schedule)
            limits = config.limits_for(function)
            spec = WorkerSpec(
                function=name,
                handler=function.handler,
                runtime=f"python{version[0]}.{version[1]}",
                task_root=served.task_root,
                runtime_dir=self.runtime_dir,
                provided_dir=self.provided.folder,
                memory=limits.memory,
                isolation=self.isolation,
                site_env=dict(variables.values),
                process_env=dict(os.environ),
                url=self.options.url,
                scratch=self.cache / "serve" / "tmp",
            )
            specs[name] = (spec, limits.timeout)
            if name in old and self._specs.get(name) == specs[name]:
                pools[name] = old[name]
                continue
            pools[name] = FunctionPool(
                spec, limits.timeout, self.options.concurrency, self.log, self.spawner
            )
            if not first:
                said.append(f"{'reloaded' if name in old else 'added'} {name}")
        for name, pool in old.items():
            if pools.get(name) is not pool:
                pool.close()
                self._retired.append((pool, pool.spec.task_root))
                if name not in build.functions:
                    said.append(f"removed {name}")
        unchanged = pools.keys() == old.keys() and all(pools[n] is old[n] for n in pools)
        self._specs = specs
        self.build = build
        router = Router(routes, config.redirects, config.publish)
        self.state = State(
            router=router, served=build.functions, pools=pools, schedules=schedules, root=self.root
        )
        self.scheduler.replace({n: c.text for n, c in schedules.items()})
        for line in said:
            self.log(line)
        if first:
            self._summary(build, variables, config)
        elif unchanged and build.functions.keys() == before.keys():
            self.log("no function changed")

    def _report_failure(self, name: str, errors: tuple[Problem, ...]) -> None:
        self.log(f"{name} failed to build (it answers 500 until fixed):")
        for problem in errors:
            self._problem(problem)

    def _problem(self, problem: Problem) -> None:
        self.log(f"{problem.severity}: {problem.format(self.root)}")

    def _summary(self, build: SiteBuild, variables: SiteVariables, config: ServeConfig) -> None:
        timeouts = {name: timeout for name, (_spec, timeout) in self._specs.items()}
        memory = {name: spec.memory for name, (spec, _timeout) in self._specs.items()}
        lines = start_lines(
            build,
            self.state,
            variables,
            config,
            Limits(timeouts, memory),
            provided_names(build.result.environment),
            self.options.url,
            self.options.schedule,
        )
        for line in lines:
            self.log(line)

    def _clean_retired(self, force: bool = False) -> None:
        current = {s.task_root for s in self.state.served.values() if s.task_root}
        kept = []
        for pool, root in self._retired:
            if pool.workers and not force:
                kept.append((pool, root))
            elif root not in current and all(root != r for _p, r in kept):
                remove_tree(root)
        self._retired = kept

    def _env_file(self) -> Path | None:
        if self.options.env_file is None:
            return None
        return self.root / self.options.env_file

    def _watch_set(self) -> WatchSet:
        build = self.build
        if build is None:
            return WatchSet()
        sources = [p for s in build.functions.values() for p in s.sources]
        environment = build.result.environment
        env_file = self._env_file()
        paths = (
            *sources,
            *environment.interpreter.site_packages,
            *([env_file] if env_file else []),
        )
        return WatchSet(
            paths=tuple(paths), trees=(build.result.functions_dir,), listed=(self.root,)
        )
