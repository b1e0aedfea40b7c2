"""Published ports: checked before anything starts, then served by the forwarder process.

A port that cannot be bound is an error naming the process that holds it, as Docker's
"port is already allocated" is: silently not publishing it would send the user's client
(psql, redis-cli, a browser) to whatever else listens there.
"""

from __future__ import annotations

import errno
import re
import socket
import subprocess
import sys
from pathlib import Path

from .console import RunnerError
from .model import Port
from .procs import ProcessRef, start_helper

READY = "forwarder ready"  # the forwarder's last start-up line once every port is bound


def holder(port: int) -> str:
    """Who listens on TCP `port` in this network namespace, as `name (pid N)` where visible."""
    result = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True)
    owners = sorted(set(re.findall(r'\("([^"]+)",pid=(\d+)', result.stdout)))
    if owners:
        return ", ".join(f"{name} (pid {pid}){_whose_forwarder(int(pid))}" for name, pid in owners)
    if result.stdout.strip():
        return "a listener whose process is not visible from here"
    return "no listener (the address may not exist on this machine)"


def _whose_forwarder(pid: int) -> str:
    """Names the checkout when the holder is another native stack's port forwarder."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        checkout = Path(f"/proc/{pid}/cwd").resolve()
    except OSError:
        return ""
    return f", the port forwarder of the native stack run from {checkout}" if b"tools.runner.portfwd" in argv else ""


def check_free(service: str, port: Port) -> None:
    """Raises RunnerError naming the holder when `port` cannot be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the forwarder binds
        try:
            probe.bind((port.host_ip, port.published))
        except OSError as exc:
            who = holder(port.published) if exc.errno == errno.EADDRINUSE else exc.strerror
            raise RunnerError(
                f"service {service} publishes {port.host_ip}:{port.published}, which is taken: {who}. "
                "Stop that program or change the published port, then run `up` again."
            ) from None


def start_forwarder(routes: list[tuple[Port, str]], log_path: Path) -> ProcessRef:
    """Starts the forwarder for (published port, service address) pairs; returns once all are bound."""
    specs = [f"{port.host_ip}:{port.published}={addr}:{port.target}" for port, addr in routes]
    return start_helper([sys.executable, "-m", "tools.runner.portfwd", *specs], log_path, READY, "publishing ports")
