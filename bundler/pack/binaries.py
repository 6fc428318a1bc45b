"""Does a distribution's native code fit the Lambda runtime? Its WHEEL tags, then the
first bytes of every file: ELF for the right machine, no Mach-O or PE, extension modules
for the right Python."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag, parse_tag

from bundler.environment.distributions import Distribution
from bundler.environment.targets import Target
from bundler.errors import Problem
from bundler.files import open_regular

_ELF_MACHINES = {3: "i386", 8: "mips", 20: "ppc", 21: "ppc64le", 22: "s390x", 40: "arm",
                 62: "x86_64", 183: "aarch64", 243: "riscv64"}  # fmt: skip
_MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca",
}  # fmt: skip
# .cpython-311-x86_64-linux-gnu.so, .cpython-311.so, .cp311-win_amd64.pyd
_EXTENSION = re.compile(r"\.(?:cpython-|cp)(\d)(\d+)[a-z]*(?:-[^./]+)?\.(?:so|pyd)$")
_LIBRARY = re.compile(r"\.(?:so|so\.[\d.]+|dylib|pyd|dll)$")
_SHOWN = 3  # files named in one message


@dataclass(frozen=True)
class NativeFile:
    """What the first bytes of a file say it is: `kind` elf/macho/pe, and ELF's machine."""

    kind: str
    machine: str | None = None


def wheel_tags(distribution: Distribution) -> tuple[Tag, ...] | None:
    """The `Tag:` lines of the distribution's WHEEL file, or None without one."""
    try:
        with open_regular(distribution.location / "WHEEL") as stream:
            text = stream.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    tags: list[Tag] = []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "tag" and value.strip():
            tags.extend(parse_tag(value.strip()))
    return tuple(dict.fromkeys(tags))


def native_kind(path: Path) -> NativeFile | None:
    """Read the first bytes of `path`: an ELF, Mach-O or PE binary, or None (also for
    what is no regular file: a FIFO must not block the check)."""
    try:
        with open_regular(path) as stream:
            head = stream.read(64)
            if head[:2] == b"MZ" and len(head) >= 64:
                stream.seek(int.from_bytes(head[60:64], "little"))
                return NativeFile("pe") if stream.read(4) == b"PE\0\0" else None
    except OSError:
        return None
    if head[:4] == b"\x7fELF" and len(head) >= 24:
        order = "little" if head[5] == 1 else "big"
        if head[6] != 1 or int.from_bytes(head[20:24], order) != 1:  # type: ignore[arg-type]
            return None  # not a valid ELF header: nothing any loader would open
        number = int.from_bytes(head[18:20], order)  # type: ignore[arg-type]
        bits = "" if head[4] == 2 else " (32-bit)"
        return NativeFile("elf", _ELF_MACHINES.get(number, f"machine {number}") + bits)
    if head[:4] in _MACHO_MAGICS:
        # Java class files share 0xcafebabe; a fat Mach-O holds few architectures
        if head[:4] == b"\xca\xfe\xba\xbe" and int.from_bytes(head[4:8], "big") >= 30:
            return None
        return NativeFile("macho")
    return None


def check_distribution(distribution: Distribution, target: Target) -> list[Problem]:
    """Errors when the distribution cannot load on `target`; a warning when it cannot tell.

    The WHEEL tags first: when none fits, that one error says it all and the files are
    not read. Otherwise every shipped file's first bytes are read.
    """
    name = f"{distribution.display_name} {distribution.version}"
    problems: list[Problem] = []
    tags = wheel_tags(distribution)
    missing = [what for what, there in (("WHEEL", tags), ("RECORD", distribution.has_record))
               if there is None or there is False]  # fmt: skip
    if missing:
        problems.append(
            Problem(
                f"{name} cannot be checked for {target.runtime} on {target.arch}: it has no "
                f"{' or '.join(missing)} file",
                file=distribution.location,
                hint="reinstall it from a wheel with pip",
                severity="warning",
            )
        )
    if tags:
        problem = _check_tags(name, distribution.location, tags, target)
        if problem is not None and problem.severity == "error":
            return [problem]
        if problem is not None:
            problems.append(problem)
    files = ((f.arcname, f.source) for f in distribution.files)
    problems += check_files(files, target, name)
    return problems


def check_files(files: Iterable[tuple[str, Path]], target: Target, owner: str) -> list[Problem]:
    """One error per kind of misfit among `files` (arcname, path), naming the first few."""
    found: dict[str, list[tuple[str, Path]]] = {}
    for arcname, path in files:
        for reason in _misfits(arcname, path, target):
            found.setdefault(reason, []).append((arcname, path))
    problems = []
    for reason, misfits in found.items():
        shown = ", ".join(arcname for arcname, _ in misfits[:_SHOWN])
        more = f" and {len(misfits) - _SHOWN} more" if len(misfits) > _SHOWN else ""
        count = "1 file" if len(misfits) == 1 else f"{len(misfits)} files"
        problems.append(
            Problem(
                f"{owner} has {count} {reason}: {shown}{more}; {target.describe()} needs "
                f"{target.machine} Linux code for {target.abi}",
                file=misfits[0][1],
                hint=_FIX.format(arch=target.arch, runtime=target.runtime),
            )
        )
    return problems


_FIX = (
    "install the wheel built for {runtime} on {arch} "
    "(bundle build --runtime {runtime} --arch {arch} fetches it, unless --offline)"
)


def _misfits(arcname: str, path: Path, target: Target) -> list[str]:
    reasons = []
    match = _EXTENSION.search(arcname)
    if match and (int(match[1]), int(match[2])) != target.python:
        reasons.append(f"built for CPython {match[1]}.{match[2]}")
    if arcname.endswith((".py", ".pyi", ".typed")) or ".dist-info/" in arcname:
        return reasons  # text: not worth opening
    native = native_kind(path)
    if native is None:
        return reasons
    if native.kind == "elf" and native.machine != target.machine:
        reasons.append(f"of native code for {native.machine}")
    elif native.kind != "elf" and not _LIBRARY.search(arcname):
        pass  # Windows launchers that pip and setuptools ship as data: never loaded
    elif native.kind == "macho":
        reasons.append("of native code for macOS (Mach-O)")
    elif native.kind == "pe":
        reasons.append("of native code for Windows (PE)")
    return reasons


def _check_tags(name: str, location: Path, tags: tuple[Tag, ...], target: Target) -> Problem | None:
    if any(target.accepts(tag) for tag in tags):
        return None
    listed = ", ".join(str(t) for t in tags)
    local = f"linux_{target.machine}"
    if any(t.platform == local and target.accepts(Tag(t.interpreter, t.abi, target.platforms[-1]))
           for t in tags):  # fmt: skip
        return Problem(
            f"{name} was built on this machine (tags {listed}): it may need a newer glibc "
            f"than {target.describe()} has",
            file=location,
            hint="install a manylinux wheel, or build it in an image of the Lambda runtime",
            severity="warning",
        )
    return Problem(
        f"{name} has no wheel for {target.describe()}: its tags are {listed} "
        f"({_why(tags[0], target)}); the runtime needs {target.needs()}",
        file=location,
        hint=f"install a version that has wheels for {target.runtime} on {target.arch}, "
        "or build without --offline to fetch them",
    )


_GLIBC_TAG = re.compile(r"manylinux_(\d+)_(\d+)_(.+)")
_LEGACY = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}


def _why(tag: Tag, target: Target) -> str:
    """Why one tag does not fit, in a few words."""
    platform = tag.platform
    for legacy, glibc in _LEGACY.items():
        if platform.startswith(legacy + "_"):
            platform = f"manylinux_{glibc[0]}_{glibc[1]}_{platform[len(legacy) + 1 :]}"
    if platform.startswith("macosx"):
        return "built for macOS"
    if platform.startswith("win"):
        return "built for Windows"
    if platform.startswith("musllinux"):
        return "built for musl libc, Lambda has glibc"
    match = _GLIBC_TAG.fullmatch(platform)
    if match and match[3] != target.machine:
        return f"built for {match[3]}"
    if match and (int(match[1]), int(match[2])) > target.glibc:
        has = f"{target.glibc[0]}.{target.glibc[1]}"
        return f"it needs glibc {match[1]}.{match[2]}, the runtime has {has}"
    if tag.interpreter.startswith("cp") and tag.interpreter != target.abi:
        return f"built for CPython {tag.interpreter[2]}.{tag.interpreter[3:]}"
    return "no tag fits"
