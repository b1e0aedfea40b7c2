"""The `runner` fixture: the native runner for tests/runner/fixture (runner_fixture.py)."""

from __future__ import annotations

import os

import pytest
from runner_fixture import Runner, run_runner


@pytest.fixture(scope="session")
def runner() -> Runner:
    if os.geteuid() != 0:
        pytest.fail("the native runner needs root (network and mount namespaces)")
    return run_runner
