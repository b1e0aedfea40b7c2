"""The compose files as the pinned docker compose CLI itself renders them (interpolation,
merging, profiles): lint what compose will run, not the YAML as written."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from typing import Any

from tests.support import REPO
from tests.support.tools import require_tool

FILES = ("docker-compose.yml", "docker-compose.monitoring.yml")
PROFILES = ("promtail", "loadtest")
# Secrets are files under secrets/ (scripts/secrets.sh): compose interpolates no secret
# variable, so rendering needs no placeholders.
PLACEHOLDER_SECRETS: dict[str, str] = {}


@cache
def compose_config() -> dict[str, Any]:
    """Both files with every profile, as JSON (skips locally / fails on CI without the CLI)."""
    cmd = [require_tool("docker-compose"), "--env-file", str(REPO / ".env")]
    for name in FILES:
        cmd += ["-f", name]
    for profile in PROFILES:
        cmd += ["--profile", profile]
    out = subprocess.run(
        [*cmd, "config", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **PLACEHOLDER_SECRETS},
    )
    assert out.returncode == 0, f"docker compose config failed:\n{out.stderr}"
    return dict(json.loads(out.stdout))
