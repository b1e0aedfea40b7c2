"""`ps` and `logs`: what the state file and the log folder say about the stack."""

from __future__ import annotations

import time
from pathlib import Path

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


def logs(settings: Settings, service: str | None, tail: int | None = None, follow: bool = False) -> int:
    """A service's logs (every replica's) or every log, stdout and stderr together: by default the
    last 20 kB of each under a header; with --tail/--follow, lines prefixed with their instance."""
    files = _log_files(settings, service)
    if tail is None and not follow:
        for path in files:
            print(f"===== {path.stem} =====")
            print(path.read_text(errors="replace")[-20000:] if path.exists() else "(no log)")
        return 0
    offsets: dict[Path, int] = {}
    for path in files:
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        for line in lines[-tail:] if tail else lines:
            print(f"{path.stem} | {line}")
        offsets[path] = path.stat().st_size if path.exists() else 0
    try:
        while follow:
            time.sleep(0.5)
            for path in files:
                if path.exists() and path.stat().st_size > offsets[path]:
                    with open(path, "rb") as log_file:
                        log_file.seek(offsets[path])
                        added = log_file.read()
                    offsets[path] += len(added)
                    for line in added.decode(errors="replace").splitlines():
                        print(f"{path.stem} | {line}", flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def _log_files(settings: Settings, service: str | None) -> list[Path]:
    if service is None:
        return sorted(settings.logs_dir.glob("*.log"))
    current = load(settings)
    instances = list(current.select(service)) if current else []
    replicas = sorted(settings.logs_dir.glob(f"{service}-[0-9]*.log"))  # also after `down`
    return (
        [settings.logs_dir / f"{name}.log" for name in instances] or replicas or [settings.logs_dir / f"{service}.log"]
    )
