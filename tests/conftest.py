"""Fixtures only; the shared helpers live in helpers.py (`from helpers import ...`)."""

from __future__ import annotations

import pytest
from helpers import run_cli


@pytest.fixture
def run():
    """gdcli called in-process as a shell would (see helpers.run_cli)."""
    return run_cli
