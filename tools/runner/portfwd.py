"""Publishes service ports on this machine's loopback, as `ports: 127.0.0.1:H:C` does.

python -m tools.runner.portfwd 127.0.0.1:9090=10.213.0.12:9090 ...
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def _handler(host: str, port: int):
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        except (TimeoutError, OSError):
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return handle


async def main(specs: list[str]) -> None:
    servers = []
    for spec in specs:
        listen, target = spec.split("=")
        lhost, lport = listen.rsplit(":", 1)
        thost, tport = target.rsplit(":", 1)
        try:
            servers.append(await asyncio.start_server(_handler(thost, int(tport)), lhost, int(lport)))
        except OSError as exc:  # e.g. a local Postgres already holds 5432: reach it by address
            print(f"NOT forwarding {listen} -> {target}: {exc}", flush=True)
            continue
        print(f"forwarding {listen} -> {target}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
