"""Real Postgres / Redis for the tests: shared instances and dedicated, killable ones.

Shared: TEST_DATABASE_URL / TEST_REDIS_URL (scripts/test-app.sh sets them; defaults are
the native dev services). Dedicated instances (for outage tests) come from local
binaries when present, else from Docker; they are really stopped and started again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.ci import missing
from tests.support.net import free_port, poll_until, port_open

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGRES_IMAGE = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:15.14-bookworm")
REDIS_IMAGE = os.environ.get("TEST_REDIS_IMAGE", "redis:7.0.15-bookworm")


def _docker_ok() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


class _Dedicated:
    """A server of its own on a free port: the local binary when there is one, else a container.
    stop() really stops it (and waits for the port to close); start() brings it back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.container: str | None = None

    def _docker_start(self, container_port: int, image: str, *env: str) -> None:
        if self.container is None:
            flags = [f for e in env for f in ("-e", e)]
            self.container = subprocess.check_output(
                ["docker", "run", "-d", *flags, "-p", f"127.0.0.1:{self.port}:{container_port}", image], text=True
            ).strip()
        else:
            subprocess.run(["docker", "start", self.container], check=True, capture_output=True)

    def _stop_native(self) -> bool:
        """Stop the local process if there is one; True when there was."""
        return False

    def _remove_native(self) -> None:
        pass

    def stop(self) -> None:
        if not self._stop_native() and self.container:
            subprocess.run(["docker", "stop", "-t", "0", self.container], capture_output=True)
        poll_until(f"port {self.port} to close", lambda: not port_open(self.port), 10)

    def remove(self) -> None:
        self.stop()
        self._remove_native()
        if self.container:
            subprocess.run(["docker", "rm", "-f", self.container], capture_output=True)


class DedicatedRedis(_Dedicated):
    def __init__(self) -> None:
        super().__init__()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if shutil.which("redis-server"):
            self.proc = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        elif _docker_ok():
            self._docker_start(6379, REDIS_IMAGE)
        else:
            missing("no redis-server binary and no Docker engine for a dedicated Redis")
        poll_until("the dedicated Redis to listen", lambda: port_open(self.port), 15)

    def _stop_native(self) -> bool:
        if self.proc is None:
            return False
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        return True

    def pause(self) -> None:
        """SIGSTOP: hung, not dead. Connections stay open, data stays, nothing answers."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)
        elif self.container:
            subprocess.run(["docker", "pause", self.container], check=True, capture_output=True)

    def resume(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
        elif self.container:
            subprocess.run(["docker", "unpause", self.container], check=True, capture_output=True)


class DedicatedPostgres(_Dedicated):
    def __init__(self) -> None:
        super().__init__()
        self.dir: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://app:app@127.0.0.1:{self.port}/app"

    def _as_pg(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)

    def start(self) -> None:
        if (PG_BIN / "postgres").exists():
            if self.dir is None:
                self.dir = tempfile.mkdtemp(prefix="obs-test-pg-", dir="/var/tmp")
                if os.geteuid() == 0:
                    shutil.chown(self.dir, "postgres", "postgres")
                subprocess.run(
                    self._as_pg(
                        str(PG_BIN / "initdb"),
                        "-D",
                        f"{self.dir}/data",
                        "-U",
                        "app",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ),
                    check=True,
                    capture_output=True,
                )
            subprocess.run(
                self._as_pg(
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    f"{self.dir}/data",
                    "-l",
                    f"{self.dir}/log",
                    "-w",
                    "-o",
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off",
                    "start",
                ),
                check=True,
                capture_output=True,
            )
            created = subprocess.run(
                [
                    str(PG_BIN / "psql"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "app",
                    "-d",
                    "postgres",
                    "-tAc",
                    "SELECT 1 FROM pg_database WHERE datname='app'",
                ],
                capture_output=True,
                text=True,
            ).stdout.strip()
            if created != "1":
                subprocess.run(
                    [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "app", "app"],
                    check=True,
                )
        elif _docker_ok():
            self._docker_start(5432, POSTGRES_IMAGE, "POSTGRES_USER=app", "POSTGRES_PASSWORD=app", "POSTGRES_DB=app")
            poll_until(
                "the dedicated Postgres container to be ready",
                lambda: (
                    subprocess.run(
                        ["docker", "exec", str(self.container), "pg_isready", "-U", "app", "-h", "127.0.0.1"],
                        capture_output=True,
                    ).returncode
                    == 0
                ),
                60,
            )
        else:
            missing("no postgres binaries and no Docker engine for a dedicated Postgres")
        poll_until("the dedicated Postgres to listen", lambda: port_open(self.port), 30)

    def _stop_native(self) -> bool:
        if self.dir is None:
            return False
        subprocess.run(
            self._as_pg(str(PG_BIN / "pg_ctl"), "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop"),
            capture_output=True,
        )
        return True

    def crash(self) -> None:
        """SIGKILL the postmaster (a crash, not a shutdown): the next start runs crash recovery."""
        if self.dir is not None:
            pid = int(Path(f"{self.dir}/data/postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        elif self.container:
            subprocess.run(["docker", "kill", "-s", "KILL", self.container], capture_output=True)
        poll_until(f"port {self.port} to close", lambda: not port_open(self.port), 10)

    def _remove_native(self) -> None:
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
