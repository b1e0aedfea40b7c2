"""Image -> native program: the one table the native runner needs.

Each entry says which native binary stands in for the image's entrypoint, which
working directory the image declares, and how a healthcheck's argv[0] maps.
Everything else (command, environment, mounts, ports) comes from the compose files.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .model import Service
from .settings import REPO

PG_BIN = Path("/usr/lib/postgresql/15/bin")
Launcher = Literal["exec", "postgres", "redis"]


class ProgramUnavailable(Exception):
    """No native program can stand in for a service's image here; the message says why."""


@dataclass(frozen=True)
class Program:
    entrypoint: list[str]  # native replacement for the image ENTRYPOINT
    workdir: str = "/"  # the image's WORKDIR
    aliases: dict[str, str] = field(default_factory=dict)  # argv[0] in command/healthcheck -> native
    launcher: Launcher = "exec"  # what the image's entrypoint script adds before the program
    stop_signal: str = "SIGTERM"  # the image's STOPSIGNAL


def which_tool(name: str) -> str | None:
    """Path of a pinned native tool (tools/which.sh), or None."""
    result = subprocess.run([str(REPO / "tools/which.sh"), name], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


# image repository -> (tool, the image's WORKDIR, names the image's commands use for it)
SIMPLE = {
    "prom/prometheus": ("prometheus", "/prometheus", ["/bin/prometheus", "prometheus"]),
    "prom/alertmanager": ("alertmanager", "/alertmanager", ["/bin/alertmanager"]),
    "grafana/alloy": ("alloy", "/", ["/bin/alloy", "alloy"]),
    "grafana/loki": ("loki", "/", ["/usr/bin/loki", "loki"]),
    "grafana/promtail": ("promtail", "/", ["/usr/bin/promtail", "promtail"]),
    "grafana/tempo": ("tempo", "/", ["/tempo", "tempo"]),
    "grafana/grafana": ("grafana", "/usr/share/grafana", ["grafana"]),
}


def program_for(service: Service) -> Program:
    """The native program for a service; raises ProgramUnavailable when there is none here."""
    if service.built:  # the app image: code at /app, venv on PATH
        return Program(entrypoint=[], workdir=str(REPO))
    repository = (service.image or "").rsplit(":", 1)[0]
    if repository in SIMPLE:
        tool, workdir, names = SIMPLE[repository]
        path = which_tool(tool)
        if path is None:
            raise ProgramUnavailable(f"no native {tool} at the pinned version (tools/README.md says why)")
        aliases = dict.fromkeys(names, path)
        workdir = _ui_workdir(path) or workdir
        if tool == "prometheus":
            promtool = which_tool("promtool") or "promtool"
            aliases.update({"/bin/promtool": promtool, "promtool": promtool})
        return Program(entrypoint=[path], workdir=workdir, aliases=aliases)
    if repository == "postgres":
        pg_names = ("postgres", "pg_isready", "psql", "initdb")
        aliases = {name: f"{PG_BIN}/{name}" for name in pg_names}
        # STOPSIGNAL SIGINT: a fast shutdown, which does not wait for clients to disconnect
        return Program(entrypoint=[], launcher="postgres", aliases=aliases, stop_signal="SIGINT")
    if repository == "redis":
        server = shutil.which("redis-server") or "redis-server"
        return Program(entrypoint=[], workdir="/data", launcher="redis", aliases={"redis-server": server})
    if repository == "haproxy":  # Debian's haproxy: the version .env pins for the image
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        # STOPSIGNAL SIGUSR1: a soft stop, established connections finish
        return Program(entrypoint=[], aliases={"haproxy": haproxy}, stop_signal="SIGUSR1")
    if repository in ("python", "locustio/locust"):
        python = _python()
        entrypoint = [] if repository == "python" else [str(REPO / ".venv/bin/locust")]
        return Program(entrypoint=entrypoint, aliases={"python": python, "python3": python})
    raise ProgramUnavailable(f"no native program is mapped for image {service.image!r} (tools/runner/programs.py)")


def _ui_workdir(binary: str) -> str | None:
    """Prometheus and Alloy built without their embed tags serve their web UI from a path relative
    to the working directory; tools/build-ui.sh puts it beside the binary: <name>-ui-<version>/."""
    cache_dir = Path(binary).parent
    name, _, version = cache_dir.name.rpartition("-")
    ui = cache_dir.with_name(f"{name}-ui-{version}")
    return str(ui) if name in ("prometheus", "alloy") and (ui / ".complete").exists() else None


def _python() -> str:
    venv = REPO / ".venv/bin/python"
    return str(venv) if venv.exists() else (shutil.which("python3") or "python3")
