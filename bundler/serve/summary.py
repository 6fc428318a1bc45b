"""What `bundle serve` says once it is ready: each function with its URLs, kind and limits,
the schedules' next runs, what relies on the runtime's packages, where variables came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bundler.serve.cron import netlify_time
from bundler.serve.dispatch import State
from bundler.serve.settings import ServeConfig
from bundler.serve.tasks import SiteBuild
from bundler.serve.variables import SiteVariables


@dataclass(frozen=True)
class Limits:
    """Each served function's timeout (seconds) and memory (MB)."""

    timeouts: Mapping[str, float]
    memory: Mapping[str, int]


def start_lines(
    build: SiteBuild,
    state: State,
    variables: SiteVariables,
    config: ServeConfig,
    limits: Limits,
    provided: frozenset[str],
    url: str,
    scheduling: bool,
) -> list[str]:
    """The start-up summary, one line each."""
    lines = [f"functions ({len(build.functions)}):"]
    width = max((len(n) for n in build.functions), default=0)
    for name, served in sorted(build.functions.items()):
        function = served.function
        if function is None or not served.ok:
            lines.append(f"  {name:<{width}}  failed to build: answers 500 with its problems")
            continue
        if function.routes:
            where = ", ".join(f"{url}{r.pattern}" for r in function.routes)
        else:
            where = f"{url}/.netlify/functions/{name}"
        default = f"/.netlify/functions/{name}"
        rewrites = [
            r.source
            for r in config.redirects
            if r.status == 200 and r.to.split("?")[0] in (default, f"{default}/:splat")
        ]
        if rewrites:
            where += f" (also {', '.join(rewrites)})"
        kind = {
            "background": "background: 202 at once",
            "scheduled": f"scheduled {function.schedule}",
            "event": f"on {function.trigger}",
        }.get(function.kind if function.invocation_mode is None else "background", "")
        limit = f"{limits.timeouts[name]:g} s, {limits.memory[name]} MB"
        details = ", ".join(part for part in (kind, limit) if part)
        lines.append(f"  {name:<{width}}  {where}  [{details}]")
    for name, served in sorted(build.functions.items()):
        used = sorted(set(served.excluded) & provided)
        if used and served.ok:
            lines.append(
                f"{name} leaves {', '.join(used)} out of its zip: it uses the runtime's copy"
            )
    for name, cron in sorted(state.schedules.items()):
        times = ", ".join(netlify_time(r) for r in cron.next_runs(datetime.now(UTC), 3))
        note = "" if scheduling else " (not run: --no-schedule)"
        lines.append(f"schedule: {name} ({cron.text}) next runs {times}{note}")
    if variables.values:
        by_source: dict[str, list[str]] = {}
        for key, source in sorted(variables.sources.items()):
            by_source.setdefault(source, []).append(key)
        listed = "; ".join(f"{', '.join(keys)} from {source}" for source, keys in by_source.items())
        lines.append(f"environment: {listed}")
    publish = str(config.publish) if config.publish else "none ([build] publish is not set)"
    lines.append(f"static files: {publish}")
    return lines
