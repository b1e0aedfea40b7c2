"""The stack's DNS server answers like Docker's embedded DNS, and survives junk packets."""

from __future__ import annotations

import json
import os
import socket
import struct
from dataclasses import asdict
from pathlib import Path

from tools.runner.dns import Records, answer
from tools.runner.procs import reference


def query(name: str, qtype: int = 1) -> bytes:
    header = struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    return header + labels + b"\0" + struct.pack("!HH", qtype, 1)


def addresses(reply: bytes, question_length: int) -> list[str]:
    count = struct.unpack("!H", reply[6:8])[0]
    return [
        socket.inet_ntoa(reply[question_length + 16 * i + 12 : question_length + 16 * i + 16]) for i in range(count)
    ]


def records(tmp_path: Path) -> Records:
    me = reference(os.getpid())
    gone = {"pid": me.pid, "start_ticks": me.start_ticks - 1}  # same PID, another process: not alive
    instance = {"service": "app", "index": 0, "names": ["app-1", "app"], "process": asdict(me)}
    services = {
        "app-1": {**instance, "addr": "10.9.0.10"},
        "app-2": {**instance, "names": ["app-2", "app"], "addr": "10.9.0.11"},
        "app-3": {**instance, "names": ["app-3", "app"], "addr": "10.9.0.12", "process": gone},
    }
    state = {"project": "p", "project_dir": "/", "profiles": [], "services": services, "skipped": {}, "created": []}
    (tmp_path / "state.json").write_text(json.dumps(state))
    return Records(tmp_path / "state.json")


def test_a_service_name_resolves_to_every_running_replica(tmp_path: Path) -> None:
    packet = query("App")
    reply = answer(packet, records(tmp_path))
    assert reply is not None and reply[:2] == packet[:2]
    assert struct.unpack("!H", reply[2:4])[0] & 0x800F == 0x8000, "a response, NOERROR"
    assert addresses(reply, len(packet)) == ["10.9.0.10", "10.9.0.11"], "the stopped replica is left out"


def test_unknown_names_are_nxdomain_and_other_types_empty(tmp_path: Path) -> None:
    known = records(tmp_path)
    unknown = answer(query("example.com"), known)
    assert unknown is not None and struct.unpack("!H", unknown[2:4])[0] & 0xF == 3
    aaaa = answer(query("app", qtype=28), known)
    assert aaaa is not None and struct.unpack("!H", aaaa[6:8])[0] == 0


def test_malformed_packets_get_formerr_or_nothing(tmp_path: Path) -> None:
    known = records(tmp_path)
    assert answer(b"\x00\x01", known) is None
    header = query("app")[:12]
    for body in (b"\x3f" + b"abc" * 5, b"\xc0\x0c\x00\x01\x00\x01"):  # label past the end; a pointer
        reply = answer(header + body, known)
        assert reply is not None and struct.unpack("!H", reply[2:4])[0] & 0xF == 1, body
