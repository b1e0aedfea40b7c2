"""`down`, `clean` and `stop SERVICE`: remove exactly what the state file records.

`down` ends the processes this runner started (PID and start time must match), deletes
the stack's namespaces, veths and bridge and the mount points it created, and keeps the
named volumes, as `docker compose down` does. `clean` is `down` plus the project's named
volumes (`docker compose down -v`); external volumes are never deleted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import compose, netns, state
from .console import log
from .netns import Network
from .procs import Stop, terminate
from .settings import Settings
from .state import State


def down(settings: Settings) -> int:
    with state.locked(settings):
        current = state.load(settings)
        if current is None:
            log("down: nothing is running from this state directory")
            return 0
        state.check_owner(settings, current)
        teardown(settings, current)
    log("down: removed what this runner started; named volumes are kept (`clean` deletes them)")
    return 0


def clean(settings: Settings) -> int:
    project = compose.render(settings, [])
    down(settings)
    with state.locked(settings):
        doomed = {path for path in settings.volumes_dir.glob(f"{project.name}_*") if path.is_dir()}
        doomed |= {settings.volumes_dir / volume.name for volume in project.volumes.values() if not volume.external}
        keep = {settings.volumes_dir / volume.name for volume in project.volumes.values() if volume.external}
        for path in sorted(doomed - keep):
            if path.exists():
                shutil.rmtree(path)
                log(f"clean: deleted volume {path.name}")
    return 0


def stop(settings: Settings, name: str) -> int:
    """Stops a service (every replica) or one instance; `start` runs it again."""
    with state.locked(settings):
        _, targets = state.named_instances(settings, name)
        terminate([stop for entry in targets.values() if (stop := entry.stop())])
    log(f"stopped {', '.join(targets)}")
    return 0


def teardown(settings: Settings, current: State) -> None:
    helpers = [Stop(helper, grace=2) for helper in (current.forwarder, current.dns) if helper]
    terminate(helpers + [stop for entry in current.services.values() if (stop := entry.stop())])
    network = Network(settings.net_prefix, settings.subnet)
    for name, entry in current.services.items():
        netns.delete_namespace(network, name, entry.index)
    netns.delete_dns_namespace(network)
    netns.delete_bridge(network)
    in_use = _mount_points_in_use()
    for path in reversed(current.created):
        if any(point == path or point.startswith(path + "/") for point in in_use):
            log(f"left {path} in place: another mount namespace (another stack?) still mounts on it")
        elif Path(path).is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)
    for kind in ("secrets", "configs"):
        shutil.rmtree(settings.state_dir / kind, ignore_errors=True)
    settings.state_file.unlink(missing_ok=True)


def _mount_points_in_use() -> set[str]:
    """Mount points of every mount namespace on this machine other than this process's own."""
    own = os.readlink("/proc/self/ns/mnt")
    seen = {own}
    points: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            namespace = os.readlink(entry / "ns/mnt")
            if namespace in seen:
                continue
            seen.add(namespace)
            lines = (entry / "mountinfo").read_text().splitlines()
        except OSError:  # the process ended meanwhile
            continue
        points.update(_unescape(line.split()[4]) for line in lines)
    return points


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return field.encode().decode("unicode_escape") if "\\" in field else field
