"""Real child processes for tests, with their output kept for failure messages; the alert
sink (alertsink/alertsink.py) as one of them, on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from tests.support import REPO
from tests.support.http import request
from tests.support.net import free_port, poll_until

SINK = REPO / "alertsink" / "alertsink.py"


class Proc:
    """A child process whose combined stdout/stderr goes to `log` (read back on failure)."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, log: Path | None = None):
        self.name = Path(argv[0]).name
        self.log = log
        self.fh: IO[str] | int = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed in stop())
        self.p = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, stdout=self.fh, stderr=subprocess.STDOUT, text=True
        )

    def output(self) -> str:
        return self.log.read_text() if self.log else ""

    def alive(self) -> bool:
        """True while running; an AssertionError with its output once it has exited
        (so a poll_until on a crashed process fails at once instead of timing out)."""
        if self.p.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.p.returncode}:\n{self.output()[-3000:]}")
        return True

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if not isinstance(self.fh, int):
            self.fh.close()


def start_sink(tmp: Path, **env: str) -> tuple[Proc, str]:
    """The alert sink on a free port, healthy; returns the process and its base URL."""
    port = free_port()
    proc = Proc([sys.executable, str(SINK)], env={"PORT": str(port), **env}, log=tmp / "sink.log")
    base = f"http://127.0.0.1:{port}"
    poll_until("alert sink /healthz", lambda: proc.alive() and request("GET", base + "/healthz").status == 200, 15)
    return proc, base
