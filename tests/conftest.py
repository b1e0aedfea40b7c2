"""The CI policy for the whole tree, as a safety net behind tests/support/ci.py: under CI=true
any skip (a direct pytest.skip, an importorskip, a skipif) is reported as a failure, because
a check that did not run has proved nothing. Expected failures (xfail) are left alone."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tests.support.ci import under_ci


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and under_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"
