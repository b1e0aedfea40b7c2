"""Where one native stack lives: its compose project, state directory and network names.

Every value comes from the environment once, so a second stack (the runner's own test,
or another checkout) can run beside the default one by choosing other values:

    OBS_COMPOSE_DIR    project directory (default: this repo)
    OBS_COMPOSE_FILES  colon-separated compose files in it
    OBS_NATIVE_STATE   state directory: state file, logs, launch scripts, named volumes
    OBS_NATIVE_NET     prefix of namespace, bridge and veth names (at most 6 characters)
    OBS_NATIVE_SUBNET  first three octets of the bridge's /24
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .console import RunnerError

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    compose_files: tuple[str, ...]
    state_dir: Path
    net_prefix: str
    subnet: str

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def volumes_dir(self) -> Path:
        """Named volumes, one folder per compose volume name (`<project>_<volume>`); `down` keeps them."""
        return self.state_dir / "volumes"


def from_environment() -> Settings:
    prefix = os.environ.get("OBS_NATIVE_NET", "obs")
    if not prefix.isalnum() or len(prefix) > 6:  # veth names are `<prefix>v<index>`, at most 15 characters
        raise RunnerError(f"OBS_NATIVE_NET={prefix!r}: use at most 6 letters or digits")
    return Settings(
        project_dir=Path(os.environ.get("OBS_COMPOSE_DIR", REPO)).resolve(),
        compose_files=tuple(
            os.environ.get("OBS_COMPOSE_FILES", "docker-compose.yml:docker-compose.monitoring.yml").split(":")
        ),
        state_dir=Path(os.environ.get("OBS_NATIVE_STATE", "/var/tmp/obs-native")),
        net_prefix=prefix,
        subnet=os.environ.get("OBS_NATIVE_SUBNET", "10.213.0"),
    )
