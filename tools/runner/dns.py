"""The stack's DNS server: compose names -> addresses of the instances running now.

    python -m tools.runner.dns STATE_FILE ADDRESS:PORT     (run in its own namespace by `up`)

Docker's embedded DNS answers a service name with the address of every running replica;
programs that resolve through /etc/resolv.conf alone, such as Prometheus's `dns_sd_configs`
(it queries the nameserver directly and never reads /etc/hosts), need that to discover
replicas. This server answers A queries from the state file: every name an instance carries
(instance, service, aliases), only while the instance's process is alive, with TTL 0 so a
stopped replica disappears at the next lookup. Unknown names get NXDOMAIN at once; nothing
is forwarded (the stack has no route beyond its bridge).
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from pathlib import Path

from .procs import ProcessRef, alive
from .state import parse

TYPE_A, CLASS_IN = 1, 1
FORMERR, SERVFAIL, NXDOMAIN = 1, 2, 3


class Records:
    """name -> [(address, process)], reloaded whenever the state file changes."""

    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file
        self.version = -1  # the state file's inode: every save replaces the file
        self.table: dict[str, list[tuple[str, ProcessRef | None]]] = {}

    def lookup(self, name: str) -> list[str] | None:
        """Live addresses for `name`, or None when no instance carries that name."""
        try:
            version = self.state_file.stat().st_ino
        except FileNotFoundError:
            return None
        if version != self.version:
            self.version, self.table = version, self._load()
        entries = self.table.get(name)
        if entries is None:
            return None
        return [addr for addr, process in entries if process is not None and alive(process)]

    def _load(self) -> dict[str, list[tuple[str, ProcessRef | None]]]:
        table: dict[str, list[tuple[str, ProcessRef | None]]] = {}
        for instance in parse(json.loads(self.state_file.read_text())).services.values():
            for name in instance.names:
                table.setdefault(name.lower(), []).append((instance.addr, instance.process))
        return table


def parse_question(packet: bytes) -> tuple[str, int, int, int]:
    """(name, type, class, end offset) of the first question; raises ValueError when malformed."""
    labels, offset = [], 12
    while True:
        length = packet[offset]
        if length == 0:
            offset += 1
            break
        if length & 0xC0:  # compression is not used in questions
            raise ValueError("compressed question name")
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    qtype, qclass = struct.unpack("!HH", packet[offset : offset + 4])
    return ".".join(labels).lower(), qtype, qclass, offset + 4


def answer(packet: bytes, records: Records) -> bytes | None:
    if len(packet) < 17:
        return None
    query_id, flags, question_count = struct.unpack("!HHH", packet[:6])
    if flags & 0x8000 or question_count != 1:  # a response, or a query this server does not handle
        return struct.pack("!HHHHHH", query_id, 0x8000 | FORMERR, 0, 0, 0, 0)
    try:
        name, qtype, qclass, end = parse_question(packet)
    except (ValueError, IndexError, struct.error):
        return struct.pack("!HHHHHH", query_id, 0x8000 | FORMERR, 0, 0, 0, 0)
    addresses = records.lookup(name)
    code = NXDOMAIN if addresses is None else 0
    found = addresses if qtype == TYPE_A and qclass == CLASS_IN and addresses else []
    # QR, the query's opcode and RD, authoritative; no recursion available.
    header = struct.pack("!HHHHHH", query_id, 0x8400 | (flags & 0x7900) | code, 1, len(found), 0, 0)
    body = b"".join(struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, 0, 4) + socket.inet_aton(addr) for addr in found)
    return header + packet[12:end] + body


def serve(state_file: Path, listen: str) -> None:
    host, port = listen.rsplit(":", 1)
    records = Records(state_file)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((host, int(port)))
        print(f"dns ready on {listen}", flush=True)
        while True:
            packet, client = server.recvfrom(4096)
            try:
                reply = answer(packet, records)
            except Exception as exc:  # an unreadable state file must not end the server: answer SERVFAIL
                print(f"lookup failed: {exc!r}", flush=True)
                reply = packet[:2] + struct.pack("!HHHHH", 0x8000 | SERVFAIL, 0, 0, 0, 0)
            if reply is not None:
                server.sendto(reply, client)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2])
