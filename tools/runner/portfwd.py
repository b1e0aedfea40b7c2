"""Publishes service ports on this machine's loopback, as `ports: 127.0.0.1:H:C` does.

    python -m tools.runner.portfwd 127.0.0.1:9090=10.213.0.12:9090 ...

Binds every listed port or none: one that cannot be bound ends the forwarder with exit
status 1 and a line naming the holder, which `up` shows to the user.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from .ports import READY, holder

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def _handler(host: str, port: int) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        except (TimeoutError, OSError):
            writer.close()  # the service is not listening (yet): the client sees a closed connection
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return handle


async def serve(specs: list[str]) -> int:
    servers = []
    for spec in specs:
        listen, target = spec.split("=")
        listen_host, listen_port = listen.rsplit(":", 1)
        target_host, target_port = target.rsplit(":", 1)
        try:
            servers.append(
                await asyncio.start_server(_handler(target_host, int(target_port)), listen_host, int(listen_port))
            )
        except OSError as exc:
            print(f"ERROR cannot publish {listen} -> {target}: {exc}; held by {holder(int(listen_port))}", flush=True)
            return 1
        print(f"forwarding {listen} -> {target}", flush=True)
    print(READY, flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(serve(sys.argv[1:])))
