"""Fixtures and Hypothesis's profiles; the shared helpers live in helpers.py
(`from helpers import ...`).

Every property test runs under one profile: `ci` (the default, what `make test`
runs) is derandomized, so a run is the same on every machine and a green CI stays
green; `fuzz` (GDCLI_FUZZ_PROFILE=fuzz, what `make fuzz` runs) draws new examples
each time, many more of them.
"""

from __future__ import annotations

import os

import pytest
from helpers import run_cli
from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=_QUIET,
)  # fmt: skip
settings.register_profile(
    "fuzz", max_examples=2000, derandomize=False, database=None, deadline=None,
    print_blob=True, suppress_health_check=_QUIET,
)  # fmt: skip
settings.load_profile(os.environ.get("GDCLI_FUZZ_PROFILE", "ci"))


@pytest.fixture
def run():
    """gdcli called in-process as a shell would (see helpers.run_cli)."""
    return run_cli
