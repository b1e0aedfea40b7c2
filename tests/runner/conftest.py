"""The `runner` fixture: the native runner for tests/runner/fixture (runner_fixture.py)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator

import pytest
from runner_fixture import Runner, run_runner


@pytest.fixture(scope="session")
def runner() -> Iterator[Runner]:
    if os.geteuid() != 0:
        pytest.fail("the native runner needs root (network and mount namespaces)")
    # The fixture stack's names and port are fixed: a second run of this suite (another
    # checkout) waits here instead of tripping over the first.
    with open("/tmp/obs-runner-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield run_runner
