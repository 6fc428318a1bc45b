"""The Lambda runtimes: which Python, glibc and machine each one is, and the wheel tags
it accepts, worked out from the table below and never from the host."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from packaging.tags import Tag, compatible_tags, cpython_tags

from bundler.errors import UsageError

# runtime -> (Python version, operating system, glibc version)
RUNTIMES: dict[str, tuple[tuple[int, int], str, tuple[int, int]]] = {
    "python3.8": ((3, 8), "Amazon Linux 2", (2, 26)),
    "python3.9": ((3, 9), "Amazon Linux 2", (2, 26)),
    "python3.10": ((3, 10), "Amazon Linux 2", (2, 26)),
    "python3.11": ((3, 11), "Amazon Linux 2", (2, 26)),
    "python3.12": ((3, 12), "Amazon Linux 2023", (2, 34)),
    "python3.13": ((3, 13), "Amazon Linux 2023", (2, 34)),
    "python3.14": ((3, 14), "Amazon Linux 2023", (2, 34)),
}

# Lambda's arch names, and the spellings people use for them
ARCHES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "x64": "x86_64",
    "arm64": "arm64",
    "aarch64": "arm64",
}
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}  # Lambda arch -> `uname -m`

# The manylinux names that came before PEP 600, as packaging yields them
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_OLDEST_GLIBC = {"x86_64": (2, 5), "aarch64": (2, 17)}


@dataclass(frozen=True)
class Target:
    """The Python the zips are for: a Lambda runtime on one architecture, e.g. python3.11 on
    arm64, with the patch release markers see (the chosen interpreter's when it is the same
    minor version, else 0).

    `from_names` and `for_python` accept only the runtimes in `RUNTIMES`; a plain
    `Target(python)` is also made for an interpreter that is not one (audit and verify read
    such environments), and then only its markers are asked for.
    """

    python: tuple[int, int]
    arch: str = "x86_64"
    patch: int = 0

    @classmethod
    def from_names(cls, runtime: str, arch: str = "x86_64") -> Target:
        """Validate `--runtime` and `--arch`; a `UsageError` says what is supported."""
        arch_name = ARCHES.get(arch.lower())
        if arch_name is None:
            raise UsageError.of(
                f"unknown architecture {arch!r}",
                hint="use --arch x86_64 or --arch arm64 (also accepted: amd64, aarch64)",
            )
        found = RUNTIMES.get(runtime.lower())
        if found is None:
            raise UsageError.of(
                f"unknown Lambda runtime {runtime!r}",
                hint=f"use one of {', '.join(RUNTIMES)}",
            )
        return cls(found[0], arch_name)

    @classmethod
    def for_python(cls, version: tuple[int, ...], arch: str = "x86_64") -> Target:
        """The runtime of an interpreter's version, e.g. (3, 11, 7) -> python3.11."""
        runtime = f"python{version[0]}.{version[1]}"
        if runtime not in RUNTIMES:
            raise UsageError.of(
                f"Python {version[0]}.{version[1]} is not a Lambda runtime",
                hint=f"use an interpreter of one of {', '.join(RUNTIMES)}, or pass --runtime",
            )
        return cls.from_names(runtime, arch)

    @property
    def runtime(self) -> str:
        """The Lambda runtime's name, e.g. python3.11."""
        return f"python{self.python[0]}.{self.python[1]}"

    @property
    def version(self) -> tuple[int, int, int]:
        """The full Python version markers see, e.g. (3, 11, 7)."""
        return (self.python[0], self.python[1], self.patch)

    @property
    def os(self) -> str:
        """The runtime's operating system, e.g. Amazon Linux 2."""
        return RUNTIMES[self.runtime][1]

    @property
    def glibc(self) -> tuple[int, int]:
        """The runtime's glibc version, e.g. (2, 26)."""
        return RUNTIMES[self.runtime][2]

    @property
    def machine(self) -> str:
        """`platform.machine()` on the runtime: x86_64 or aarch64."""
        return MACHINES[self.arch]

    @property
    def abi(self) -> str:
        """The CPython ABI tag, e.g. cp311."""
        return f"cp{self.python[0]}{self.python[1]}"

    @cached_property
    def platforms(self) -> tuple[str, ...]:
        """Platform tags, most specific first: manylinux_2_26_x86_64 ... manylinux1_x86_64."""
        found = []
        major, newest = self.glibc
        oldest = _OLDEST_GLIBC[self.machine][1]
        for minor in range(newest, oldest - 1, -1):
            found.append(f"manylinux_{major}_{minor}_{self.machine}")
            legacy = _LEGACY_MANYLINUX.get((major, minor))
            if legacy:
                found.append(f"{legacy}_{self.machine}")
        return tuple(found)

    @cached_property
    def tags(self) -> tuple[Tag, ...]:
        """Every wheel tag the runtime accepts, best first, as pip would order them."""
        platforms = list(self.platforms)
        ordered = list(cpython_tags(self.python, [self.abi], platforms))
        ordered += compatible_tags(self.python, self.abi, platforms)
        return tuple(dict.fromkeys(ordered))

    @cached_property
    def tag_set(self) -> frozenset[Tag]:
        """`tags` as a set, for quick membership tests."""
        return frozenset(self.tags)

    def accepts(self, tag: Tag) -> bool:
        """Whether a wheel with this tag can load on the runtime."""
        return tag in self.tag_set

    def describe(self) -> str:
        """`python3.11 on x86_64 (Amazon Linux 2, glibc 2.26)`."""
        return f"{self.runtime} on {self.arch} ({self.os}, glibc {self.glibc[0]}.{self.glibc[1]})"

    def needs(self) -> str:
        """What a wheel must be for this runtime, for messages."""
        return (
            f"a {self.abi}, abi3 or py3 wheel for manylinux_{self.glibc[0]}_{self.glibc[1]}_"
            f"{self.machine} or older, or a pure-Python one"
        )

    def marker_environment(self) -> dict[str, str]:
        """A complete PEP 508 environment: `Marker.evaluate` would fill gaps from the host."""
        full = ".".join(str(v) for v in self.version)
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": full,
            "python_version": f"{self.python[0]}.{self.python[1]}",
            "sys_platform": "linux",
        }


def normalise_arch(arch: str) -> str | None:
    """x86_64/amd64/x64 -> x86_64, arm64/aarch64 -> arm64, anything else -> None."""
    return ARCHES.get(arch.lower())
