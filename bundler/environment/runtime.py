"""What every Lambda Python runtime provides beside the standard library: the AWS SDK and
what it requires. One table, read by the size check's advice, the audit, `why`, `verify`
and `serve`, so that they never disagree.

AWS does not publish the versions per runtime. Up to python3.10 they live in `/var/runtime`,
from python3.11 in `/var/lang/lib/python3.X/site-packages`; the task root comes first on
`sys.path`, so a zip's own copy wins.
"""

from __future__ import annotations

# canonical distribution names, boto3's own requirements closed over (botocore 1.3x,
# s3transfer, jmespath, python-dateutil, six, urllib3)
RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)


def runtime_provides(name: str) -> bool:
    """Whether every Lambda Python runtime provides distribution `name` (canonical)."""
    return name in RUNTIME_PROVIDED


def provided_note(names: list[str], runtime: str) -> str:
    """`boto3, botocore: provided by the python3.11 runtime`."""
    return f"{', '.join(names)}: provided by the {runtime} runtime"
