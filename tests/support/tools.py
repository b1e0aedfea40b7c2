"""Pinned native programs (promtool, amtool, alloy, docker-compose...), found only through
tools/which.sh, which reads tools/pinned.tsv and .env: the one place that knows names,
versions and the cache folder. A program on PATH at another version does not count."""

from __future__ import annotations

import subprocess

from tests.support import REPO
from tests.support.ci import missing


def find_tool(name: str) -> str | None:
    out = subprocess.run([str(REPO / "tools" / "which.sh"), name], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def require_tool(name: str) -> str:
    """The tool's path, or the test stops (skip locally, failure under CI)."""
    path = find_tool(name)
    if path is None:
        missing(f"{name} not found at the pinned version (tools/which.sh {name}; run 'make tools')")
    return path
