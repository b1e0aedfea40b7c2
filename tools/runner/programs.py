"""Image → native program: the one table the native runner needs.

Each entry says which native binary stands in for the image's entrypoint, which
working directory the image declares, and how a healthcheck's argv[0] maps.
Everything else (command, environment, mounts, ports) comes from the compose files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def which_tool(name: str) -> str | None:
    """Path of a pinned native tool (tools/which.sh), or None."""
    out = subprocess.run([str(REPO / "tools/which.sh"), name], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


@dataclass
class Program:
    entrypoint: list[str]  # native replacement for the image ENTRYPOINT
    workdir: str = "/"  # the image's WORKDIR
    aliases: dict[str, str] = field(default_factory=dict)  # argv[0] in command/healthcheck → native
    launcher: str = "exec"  # "exec", "postgres" or "redis": what the image entrypoint adds


def program_for(image: str | None, build: bool) -> Program | str:
    """The native program for a service, or a reason string when there is none here."""
    venv_bin = str(REPO / ".venv/bin")
    if build:  # the app image: code at /app, venv on PATH
        return Program(entrypoint=[], workdir=str(REPO))
    repo = (image or "").rsplit(":", 1)[0]
    simple = {
        "prom/prometheus": ("prometheus", "/prometheus", ["/bin/prometheus", "prometheus"]),
        "prom/alertmanager": ("alertmanager", "/alertmanager", ["/bin/alertmanager"]),
        "grafana/alloy": ("alloy", "/", ["/bin/alloy", "alloy"]),
        "grafana/loki": ("loki", "/", ["/usr/bin/loki", "loki"]),
        "grafana/promtail": ("promtail", "/", ["/usr/bin/promtail", "promtail"]),
        "grafana/tempo": ("tempo", "/", ["/tempo", "tempo"]),
        "grafana/grafana": ("grafana", "/usr/share/grafana", ["grafana"]),
        "prometheuscommunity/postgres-exporter": ("postgres_exporter", "/", ["/bin/postgres_exporter"]),
        "oliver006/redis_exporter": ("redis_exporter", "/", ["/redis_exporter"]),
    }
    if repo in simple:
        tool, workdir, names = simple[repo]
        path = which_tool(tool)
        if not path:
            return f"no native {tool} at the pinned version (tools/README.md says why)"
        aliases = {n: path for n in names}
        workdir = _ui_workdir(path) or workdir
        if tool == "prometheus":
            promtool = which_tool("promtool") or "promtool"
            aliases.update({"/bin/promtool": promtool, "promtool": promtool})
        return Program(entrypoint=[path], workdir=workdir, aliases=aliases)
    if repo == "postgres":
        return Program(
            entrypoint=[],
            workdir="/",
            launcher="postgres",
            aliases={n: str(PG_BIN / n) for n in ("postgres", "pg_isready", "psql", "initdb")},
        )
    if repo == "redis":
        return Program(
            entrypoint=[],
            workdir="/data",
            launcher="redis",
            aliases={"redis-server": shutil.which("redis-server") or "redis-server"},
        )
    if repo in ("python", "locustio/locust"):
        ep = [] if repo == "python" else [os.path.join(venv_bin, "locust")]
        return Program(entrypoint=ep, workdir="/", aliases={"python": _python(), "python3": _python()})
    return f"no native program is mapped for image {image!r} (tools/runner/programs.py)"


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
