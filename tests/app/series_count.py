"""Drive a fixed traffic mix through a fresh app process and print its series per metric.

Run as a script (a fresh interpreter: prometheus_client's registry is process-wide, so
counting inside the test session would also count every other test's label values).
Output: one JSON object {sample name: series count}, written to the path in argv[1].
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from helpers import base_settings, running_app


async def traffic() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_app(base_settings(Path(tmp), ENRICH_URL="http://127.0.0.1:9")) as r:
            c = r.client
            user = (
                await c.post("/api/v1/users", json={"email": f"s-{uuid.uuid4().hex}@example.com", "full_name": "S"})
            ).json()
            item = (await c.post("/api/v1/items", json={"name": "n", "price": "1.00"})).json()
            for path in (f"/api/v1/users/{user['id']}", "/api/v1/users", f"/api/v1/items/{item['id']}"):
                await c.get(path)
            await c.get("/api/v1/items?limit=2")
            await c.put(f"/api/v1/items/{item['id']}", json={"name": "m", "price": "2.00"})
            await c.get(f"/api/v1/items/{item['id']}/enrich")  # the outbound call fails fast
            await c.get("/api/v1/items/999999")  # 404 from the route
            await c.get("/no/such/path")  # unmatched
            await c.delete(f"/api/v1/items/{item['id']}")
            return (await c.get("/metrics")).text


def count(body: str) -> dict[str, int]:
    series: Counter[str] = Counter()
    for line in body.splitlines():
        if line and not line.startswith("#"):
            series[line.split("{", 1)[0].split(" ", 1)[0]] += 1
    return dict(sorted(series.items()))


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(count(asyncio.run(traffic())), indent=1) + "\n")
