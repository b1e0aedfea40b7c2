"""One network namespace per service on a private bridge, with compose names as hostnames.

Addresses live in the project's own namespaces on this machine only; nothing routes
beyond the bridge. `ip netns exec` shows /etc/netns/<ns>/hosts as /etc/hosts, so every
service resolves its peers by their compose names, exactly as on a compose network.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# A second runner (the runner's own test) uses another prefix and subnet beside the stack.
PREFIX = os.environ.get("OBS_NATIVE_NET", "obs")
BRIDGE = f"{PREFIX}br0"
SUBNET = os.environ.get("OBS_NATIVE_SUBNET", "10.213.0")
GATEWAY = f"{SUBNET}.1"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=check)


def ns_name(service: str) -> str:
    return f"{PREFIX}-{service}"


def _veth(index: int) -> str:
    return f"{PREFIX}v{index}"  # interface names are limited to 15 characters


def create_bridge() -> None:
    if sh("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        return
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")


def create_namespace(service: str, index: int, hosts: dict[str, list[str]]) -> str:
    """Creates the service's namespace wired to the bridge; returns its address."""
    ns, veth, addr = ns_name(service), _veth(index), f"{SUBNET}.{10 + index}"
    sh("ip", "netns", "del", ns, check=False)
    sh("ip", "link", "del", veth, check=False)
    sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    sh("ip", "link", "set", veth, "master", BRIDGE, "up")
    sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{addr}/24", "dev", "eth0")
    sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
    sh("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", GATEWAY)
    write_hosts(service, hosts)
    return addr


def write_hosts(service: str, hosts: dict[str, list[str]]) -> None:
    etc = Path("/etc/netns") / ns_name(service)
    etc.mkdir(parents=True, exist_ok=True)
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
    lines += [f"{addr} {' '.join(names)}" for addr, names in hosts.items()]
    (etc / "hosts").write_text("\n".join(lines) + "\n")
    (etc / "resolv.conf").write_text("# native runner: compose names come from /etc/hosts\n")


def delete_namespace(service: str, index: int) -> None:
    sh("ip", "netns", "del", ns_name(service), check=False)
    sh("ip", "link", "del", _veth(index), check=False)
    etc = Path("/etc/netns") / ns_name(service)
    for f in ("hosts", "resolv.conf"):
        (etc / f).unlink(missing_ok=True)
    if etc.exists():
        etc.rmdir()


def delete_bridge() -> None:
    sh("ip", "link", "del", BRIDGE, check=False)
