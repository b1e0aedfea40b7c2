"""The app as a real server process, started the way its image starts it (`python -m app`,
app/__main__.py), on a free loopback port: for the server test and the benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import IO

from tests.support import REPO
from tests.support.http import get_text
from tests.support.net import free_port, poll_until


def start_app(env: dict[str, str], output: int | IO[str] = subprocess.DEVNULL) -> tuple[subprocess.Popen[str], int]:
    """Start the app with `env` over production defaults and no Sentry; wait for /health/live.

    Returns the process (stdout and stderr together go to `output`) and its port.
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=REPO,
        env={**os.environ, "APP_ENV": "production", "SENTRY_DSN": "", **env, "PORT": str(port)},
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def live() -> str | None:
        if proc.poll() is not None:
            raise AssertionError(f"the app exited with {proc.returncode} before answering")
        return get_text(f"http://127.0.0.1:{port}/health/live")

    poll_until(f"the app on :{port} to answer /health/live", live, 30)
    return proc, port
