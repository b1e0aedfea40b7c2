"""`ps` and `logs`: what the state file and the log folder say about the stack."""

from __future__ import annotations

from .procs import alive
from .settings import Settings
from .state import load


def ps(settings: Settings) -> int:
    current = load(settings)
    if current is None:
        print("the native stack is not up")
        return 0
    for name, entry in sorted(current.services.items()):
        process = entry.process
        status = "created" if process is None else "running" if alive(process) else "exited"
        pid = str(process.pid) if process else "-"
        print(f"{name:20} {entry.addr:14} pid={pid:<8} {status}")  # one line per replica
    for name, why in sorted(current.skipped.items()):
        print(f"{name:20} {'-':14} {'':12} skipped: {why}")
    return 0


def logs(settings: Settings, service: str | None) -> int:
    """The last 20 kB of a service's logs (every replica's) or of every log; stdout and stderr together."""
    if service is None:
        files = sorted(settings.logs_dir.glob("*.log"))
    else:
        current = load(settings)
        instances = list(current.select(service)) if current else []
        replicas = sorted(settings.logs_dir.glob(f"{service}-[0-9]*.log"))  # also after `down`
        files = (
            [settings.logs_dir / f"{name}.log" for name in instances]
            or replicas
            or [settings.logs_dir / f"{service}.log"]
        )
    for path in files:
        print(f"===== {path.stem} =====")
        print(path.read_text(errors="replace")[-20000:] if path.exists() else "(no log)")
    return 0
