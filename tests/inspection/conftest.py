"""The site `bundle audit` and its page are tried on, built once per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_support import build_audit_site


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """audit_support's site, built once per module; tests that change it copy it first."""
    return build_audit_site(tmp_path_factory.mktemp("audit"))
