"""Lambda's size limits, checked at build time with a breakdown of what takes the space."""

from __future__ import annotations

from pathlib import Path

from bundler.environment.runtime import RUNTIME_PROVIDED
from bundler.errors import BundlerError, Problem
from bundler.pack.contents import Contents

MiB = 1024 * 1024
ZIPPED_LIMIT = 50 * MiB  # direct upload
UNZIPPED_LIMIT = 250 * MiB  # function plus layers
WARNING_SHARE = 0.8


def check_unzipped(contents: Contents, function: str, main_file: Path) -> list[Problem]:
    """Fail over 250 MiB unzipped (before spending time compressing); warn at 80 %."""
    return _check(contents.unzipped, UNZIPPED_LIMIT, "unzipped", contents, function, main_file)


def check_zipped(zipped: int, contents: Contents, function: str, main_file: Path) -> list[Problem]:
    """Fail over 50 MiB zipped; warn at 80 %."""
    return _check(zipped, ZIPPED_LIMIT, "zipped", contents, function, main_file)


def _check(
    size: int, limit: int, what: str, contents: Contents, function: str, main_file: Path
) -> list[Problem]:
    if size > limit:
        raise BundlerError(
            Problem(
                f"the zip is {human_size(size)} {what}, over Lambda's limit of "
                f"{human_size(limit)}; {breakdown(contents)}",
                file=main_file,
                function=function,
                hint=fixes(contents),
            )
        )
    if size > limit * WARNING_SHARE:
        return [
            Problem(
                f"the zip is {human_size(size)} {what}, {size / limit:.0%} of Lambda's limit "
                f"of {human_size(limit)}; {breakdown(contents)}",
                file=main_file,
                function=function,
                severity="warning",
            )
        ]
    return []


def fixes(contents: Contents) -> str:
    """The fixes that apply to this zip, each with what it would save."""
    sizes = contents.bytes_by_owner()
    total = max(contents.unzipped, 1)
    found = []
    provided = [name for name in RUNTIME_PROVIDED if name in sizes]
    if provided:
        names = ", ".join(f'"{name}"' for name in provided)
        saved = human_size(sum(sizes[name] for name in provided))
        found.append(
            f"exclude what the Lambda runtime provides ([tool.bundler] exclude = [{names}] "
            f"saves {saved})"
        )
    others = sorted((n for n in sizes if n and n not in provided), key=lambda n: (-sizes[n], n))
    if others and sizes[others[0]] >= total / 10:
        found.append(f"move {others[0]} ({human_size(sizes[others[0]])}) to a Lambda layer")
    data = sorted(
        (e for e in contents.entries if not e.owner and not e.arcname.endswith(".py")),
        key=lambda e: (-e.size, e.arcname),
    )
    if data and data[0].size >= total / 10:
        found.append(
            f"keep {data[0].arcname} ({human_size(data[0].size)}) out of the zip and fetch "
            "it at run time (from S3, say)"
        )
    found.append("split the function")
    return ", ".join(found[:-1]) + f" or {found[-1]}" if len(found) > 1 else found[0]


def breakdown(contents: Contents, count: int = 3) -> str:
    """`largest: numpy 60.1 MiB, scipy 40.2 MiB, ...; largest files: ...` (unzipped bytes)."""
    owners = sorted(contents.bytes_by_owner().items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{owner or 'first-party code'} {human_size(size)}" for owner, size in owners[:count]]
    files = sorted(contents.entries, key=lambda e: (-e.size, e.arcname))[:count]
    largest = [f"{e.arcname} {human_size(e.size)}" for e in files]
    return f"largest distributions: {', '.join(parts)}; largest files: {', '.join(largest)}"


def human_size(size: int) -> str:
    """Sizes in binary units, as Lambda's limits are written."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if round(value, 1) < 1024 or unit == "MiB":
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
