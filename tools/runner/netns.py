"""One network namespace per service on a private bridge, with compose names as hostnames.

Addresses live in the project's own namespaces on this machine only; nothing routes
beyond the bridge. `ip netns exec` shows /etc/netns/<ns>/hosts as /etc/hosts, so every
service resolves its peers by their compose names, exactly as on a compose network.
Names carry the stack's prefix (settings.py), so two stacks with different prefixes and
subnets never touch each other's interfaces.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .console import RunnerError


@dataclass(frozen=True)
class Network:
    prefix: str
    subnet: str  # first three octets

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br0"

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    def namespace(self, instance: str) -> str:
        return f"{self.prefix}-{instance}"

    def address(self, index: int) -> str:
        return f"{self.subnet}.{10 + index}"

    def veth(self, index: int) -> str:
        return f"{self.prefix}v{index}"  # interface names are limited to 15 characters

    # The DNS server's own namespace ("_" cannot start a compose service name, so no clash).
    @property
    def dns_namespace(self) -> str:
        return f"{self.prefix}-_dns"

    @property
    def dns_address(self) -> str:
        return f"{self.subnet}.2"

    @property
    def dns_veth(self) -> str:
        return f"{self.prefix}vdns"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def ensure_free(network: Network) -> None:
    """Refuses a prefix or subnet that something else on this machine already uses."""
    if _ip("link", "show", network.bridge, check=False).returncode == 0:
        raise RunnerError(
            f"interface {network.bridge} exists but no state file of this stack records it: another native "
            "stack uses the same OBS_NATIVE_NET prefix (run this one beside it with another prefix and subnet); "
            f"if none runs, a crashed run left it behind: `ip link del {network.bridge}`"
        )
    leftovers = [
        line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.startswith(f"{network.prefix}-")
    ]
    if leftovers:
        raise RunnerError(
            f"network namespaces {', '.join(leftovers)} exist but no state file of this stack records them: "
            "another native stack uses the same OBS_NATIVE_NET prefix; if none runs, a crashed run left them "
            "behind: `ip netns del NAME` for each"
        )
    users = _ip("-o", "-4", "addr", "show", "to", f"{network.subnet}.0/24").stdout.split()
    if users:
        raise RunnerError(
            f"subnet {network.subnet}.0/24 is already used by interface {users[1]}; set OBS_NATIVE_SUBNET"
        )


def create_bridge(network: Network) -> None:
    _ip("link", "add", network.bridge, "type", "bridge")
    _ip("addr", "add", f"{network.gateway}/24", "dev", network.bridge)
    _ip("link", "set", network.bridge, "up")


def create_namespace(network: Network, name: str, index: int, hosts: dict[str, list[str]]) -> None:
    """Creates a service instance's namespace wired to the bridge, its peers in its hosts file
    and the stack's DNS server (dns.py) as its only nameserver."""
    _wire(network, network.namespace(name), network.veth(index), network.address(index))
    etc = Path("/etc/netns") / network.namespace(name)
    etc.mkdir(parents=True, exist_ok=True)
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
    lines += [f"{addr} {' '.join(names)}" for addr, names in hosts.items()]
    (etc / "hosts").write_text("\n".join(lines) + "\n")
    (etc / "resolv.conf").write_text(
        "# native runner: compose names, from the stack's own DNS server (as Docker's embedded DNS)\n"
        f"nameserver {network.dns_address}\noptions timeout:1 attempts:2\n"
    )


def create_dns_namespace(network: Network) -> None:
    _wire(network, network.dns_namespace, network.dns_veth, network.dns_address)


def _wire(network: Network, namespace: str, veth: str, address: str) -> None:
    _ip("netns", "add", namespace)
    _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
    _ip("link", "set", veth, "master", network.bridge, "up")
    inside = ("netns", "exec", namespace, "ip")
    _ip(*inside, "link", "set", "lo", "up")
    _ip(*inside, "addr", "add", f"{address}/24", "dev", "eth0")
    _ip(*inside, "link", "set", "eth0", "up")
    _ip(*inside, "route", "add", "default", "via", network.gateway)


def delete_namespace(network: Network, name: str, index: int) -> None:
    _unwire(network.namespace(name), network.veth(index))
    etc = Path("/etc/netns") / network.namespace(name)
    for file_name in ("hosts", "resolv.conf"):
        (etc / file_name).unlink(missing_ok=True)
    if etc.exists():
        etc.rmdir()


def delete_dns_namespace(network: Network) -> None:
    _unwire(network.dns_namespace, network.dns_veth)


def _unwire(namespace: str, veth: str) -> None:
    _ip("netns", "del", namespace, check=False)
    _ip("link", "del", veth, check=False)


def delete_bridge(network: Network) -> None:
    _ip("link", "del", network.bridge, check=False)
