"""Renders the compose project with the real compose CLI: the runner never parses YAML itself.

`config --format json` applies `.env` interpolation, profiles and file merging exactly as
`docker compose up` would, so both engines start from the same normalised model.
"""

from __future__ import annotations

import json
import subprocess

from .console import RunnerError
from .model import Project, parse_project
from .programs import which_tool
from .settings import Settings


def render(settings: Settings, profiles: list[str]) -> Project:
    compose = which_tool("docker-compose")
    if compose is None:
        raise RunnerError("the compose CLI is missing: run `make tools` (tools/README.md)")
    argv = [compose, "--project-directory", str(settings.project_dir)]
    for env_file in (".env", ".env.secrets"):
        if (settings.project_dir / env_file).exists():
            argv += ["--env-file", str(settings.project_dir / env_file)]
    for compose_file in settings.compose_files:
        argv += ["-f", str(settings.project_dir / compose_file)]
    for profile in profiles:
        argv += ["--profile", profile]
    result = subprocess.run([*argv, "config", "--format", "json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise RunnerError(f"compose config failed:\n{result.stderr}")
    try:
        return parse_project(json.loads(result.stdout))
    except ValueError as exc:
        raise RunnerError(f"compose project not usable natively: {exc}") from exc
