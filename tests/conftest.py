"""Shared fixtures: the tiny real wheels of the hard cases, and a virtualenv holding them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
