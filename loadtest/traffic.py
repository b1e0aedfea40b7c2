"""Gentle always-on traffic for the demo app (compose service `traffic`), so that dashboards show
data as soon as the stack is up instead of flat lines until someone runs the load test.

    traffic ──HTTP, ~3 req/s (Poisson arrivals)──> app:8000 ──> Postgres, Redis

The mix imitates a small live site: mostly page and item reads (cache hits and misses), some
writes and registrations, the enrich call (a second server span in the same trace), big pages
(the slow end of the latency histogram) and a few client errors: 404s (ids that do not exist),
422s (invalid bodies and parameters) and 409s (an email registered twice). No faults are
injected: a 5xx here would be a real one.

Standard library only, so it runs in the plain python image. Settings (environment):
  TRAFFIC_ENABLED   "false" turns it off (the process then idles: `up --wait` stays happy)
  TRAFFIC_TARGET    base URL of the app (default http://app:8000)
  TRAFFIC_RPS       mean requests per second (default 3)
  TRAFFIC_HEARTBEAT a file touched whenever the app answered (the compose healthcheck reads its
                    age: healthy = reaching the app; default /tmp/traffic.alive)
It prints one summary line a minute (counts by status), never one line per request.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path

API = "/api/v1"
TIMEOUT_S = 10.0
HEARTBEAT = Path(os.environ.get("TRAFFIC_HEARTBEAT", "/tmp/traffic.alive"))


def beat() -> None:
    with contextlib.suppress(OSError):  # a read-only or missing folder must not stop the traffic
        HEARTBEAT.touch()


class Client:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.status: Counter[str] = Counter()
        self.items: deque[int] = deque(maxlen=500)
        self.users: deque[int] = deque(maxlen=500)
        self.emails: deque[str] = deque(maxlen=50)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("User-Agent", "obs-stack-traffic/1")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        except (OSError, TimeoutError):
            self.status["unreachable"] += 1
            return 0, None
        self.status[str(status)] += 1
        beat()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def remember(self, pool: deque[int], body: object) -> None:
        if isinstance(body, dict) and isinstance(body.get("items"), list):
            pool.extend(r["id"] for r in body["items"] if isinstance(r, dict) and isinstance(r.get("id"), int))
        elif isinstance(body, dict) and isinstance(body.get("id"), int):
            pool.append(body["id"])

    def pick(self, pool: deque[int], listing: str) -> int | None:
        if not pool:
            self.remember(pool, self.call("GET", f"{API}/{listing}?limit=50")[1])
        return random.choice(pool) if pool else None

    # --- the requests --------------------------------------------------------------------------
    def list_items(self) -> None:
        self.remember(self.items, self.call("GET", f"{API}/items?limit=20&offset={random.randint(0, 5) * 20}")[1])

    def big_page(self) -> None:
        self.call("GET", f"{API}/items?limit=100&offset={random.randint(0, 20) * 100}")

    def read_item(self) -> None:
        if (item := self.pick(self.items, "items")) is not None:
            self.call("GET", f"{API}/items/{item}")

    def enrich(self) -> None:
        if (item := self.pick(self.items, "items")) is not None:
            self.call("GET", f"{API}/items/{item}/enrich")

    def list_users(self) -> None:
        self.remember(self.users, self.call("GET", f"{API}/users?limit=20")[1])

    def read_user(self) -> None:
        if (user := self.pick(self.users, "users")) is not None:
            self.call("GET", f"{API}/users/{user}")

    def create_item(self) -> None:
        body: dict[str, object] = {"name": f"item-{uuid.uuid4().hex[:8]}", "price": f"{random.uniform(1, 500):.2f}"}
        if self.users and random.random() < 0.5:
            body["owner_id"] = random.choice(self.users)
        status, reply = self.call("POST", f"{API}/items", body)
        if status == 201:
            self.remember(self.items, reply)

    def update_item(self) -> None:
        if (item := self.pick(self.items, "items")) is not None:
            self.call("PUT", f"{API}/items/{item}", {"price": f"{random.uniform(1, 500):.2f}"})

    def delete_item(self) -> None:
        if len(self.items) > 100:  # keep the table from shrinking to nothing
            self.call("DELETE", f"{API}/items/{self.items.popleft()}")

    def register(self) -> None:
        email = f"traffic-{uuid.uuid4().hex[:12]}@example.com"
        status, reply = self.call("POST", f"{API}/users", {"email": email, "full_name": "Traffic Generator"})
        if status == 201:
            self.remember(self.users, reply)
            self.emails.append(email)

    def not_found(self) -> None:  # 404: an id that was never issued
        self.call("GET", f"{API}/items/{random.randint(10**8, 10**9)}")

    def invalid(self) -> None:  # 422: a negative price, or a non-numeric page size
        if random.random() < 0.5:
            self.call("POST", f"{API}/items", {"name": "bad", "price": "-1"})
        else:
            self.call("GET", f"{API}/items?limit=lots")

    def duplicate(self) -> None:  # 409: an email registered before
        if self.emails:
            self.call("POST", f"{API}/users", {"email": random.choice(self.emails), "full_name": "Again"})


def mix(c: Client) -> list[tuple[Callable[[], None], int]]:
    """(request, weight): about 93 % succeed, 7 % are client errors."""
    return [
        (c.list_items, 30),
        (c.read_item, 25),
        (c.list_users, 6),
        (c.read_user, 6),
        (c.enrich, 5),
        (c.big_page, 3),
        (c.create_item, 6),
        (c.update_item, 3),
        (c.delete_item, 2),
        (c.register, 2),
        (c.not_found, 4),
        (c.invalid, 2),
        (c.duplicate, 1),
    ]


def run(client: Client, rps: float, stop: threading.Event, summary_every: float = 60.0) -> None:
    calls, weights = zip(*mix(client), strict=True)
    next_summary = time.monotonic() + summary_every
    while not stop.is_set():
        random.choices(calls, weights)[0]()
        if time.monotonic() >= next_summary:
            print(f"traffic: {sum(client.status.values())} requests, by status {dict(client.status)}", flush=True)
            next_summary += summary_every
        stop.wait(random.expovariate(rps))  # Poisson arrivals: no lock-step bursts


def main() -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if os.environ.get("TRAFFIC_ENABLED", "true").strip().lower() in ("0", "false", "no", "off"):
        print("traffic: disabled (TRAFFIC_ENABLED=false); idling", flush=True)
        beat()
        while not stop.wait(10):
            beat()
        return 0
    base = os.environ.get("TRAFFIC_TARGET", "http://app:8000")
    rps = float(os.environ.get("TRAFFIC_RPS", "3"))
    if not 0 < rps <= 50:
        print(f"traffic: TRAFFIC_RPS must be in (0, 50], got {rps}", file=sys.stderr)
        return 2
    print(f"traffic: {rps} req/s against {base}", flush=True)
    run(Client(base), rps, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
