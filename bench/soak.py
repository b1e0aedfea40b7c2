"""Soak: one app process under steady mixed load for a long time; does its memory or its
metric series keep growing?

    python bench/soak.py            (scripts/soak.sh sets up services and calls this)

    load generator (asyncio + httpx, open loop)  ──SOAK_RPS──>  uvicorn app (1 worker, 127.0.0.1)
        ~86 %  the API as clients use it                         ├── Postgres, Redis (dev services)
        ~14 %  random paths, methods, ids, query strings         └── OTLP ──> bench/otlp_sink.py
    sampler, every SOAK_SAMPLE_SECONDS: RSS (/proc/<pid>/status) + series in GET /metrics

Open loop at a fixed rate: requests start on schedule whether or not earlier ones finished
(at most SOAK_MAX_IN_FLIGHT at once; a start that would exceed it is counted as "shed", never
queued), so a slowing app shows up as latency and shed starts, not as a lower rate.

At the end: the RSS slope after warm-up (least-squares line through the samples, KiB/min) and
the series slope (series/min), plus the largest metric families. A leak shows as a slope that
stays positive however long the run; allocator warm-up and bounded caches (the log dedup LRU,
the per-label value cap) level off, which is what the warm-up cut is for.

Env: SOAK_SECONDS (1800), SOAK_WARMUP_SECONDS (min(300, SOAK_SECONDS/5)), SOAK_RPS (40),
SOAK_SAMPLE_SECONDS (10), SOAK_MAX_IN_FLIGHT (64), SOAK_SEED (1),
SOAK_MAX_SLOPE_KIB_PER_MIN (unset: report only; set: exit 1 above it).
Exit 1 also when the app dies. Every address is 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SECONDS = float(os.environ.get("SOAK_SECONDS", "1800"))
WARMUP = float(os.environ.get("SOAK_WARMUP_SECONDS", str(min(300.0, SECONDS / 5))))
RPS = float(os.environ.get("SOAK_RPS", "40"))
SAMPLE_EVERY = float(os.environ.get("SOAK_SAMPLE_SECONDS", "10"))
MAX_IN_FLIGHT = int(os.environ.get("SOAK_MAX_IN_FLIGHT", "64"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
MAX_SLOPE = os.environ.get("SOAK_MAX_SLOPE_KIB_PER_MIN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def series_by_family(exposition: str) -> Counter[str]:
    """Samples per metric family in a Prometheus text exposition (one sample = one series)."""
    families: Counter[str] = Counter()
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            for suffix in ("_bucket", "_count", "_sum", "_created", "_total"):
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
                    break
            families[name] += 1
    return families


@dataclass
class Window:
    """What happened between two samples."""

    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    shed: int = 0

    def line(self) -> str:
        n = sum(self.statuses.values())
        lat = sorted(self.latencies)
        p50 = lat[len(lat) // 2] * 1000 if lat else 0.0
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
        classes = Counter(s[0] + "xx" if s[0].isdigit() else s for s in self.statuses.elements())
        mix = " ".join(f"{k}={v}" for k, v in sorted(classes.items()))
        return f"req={n:5d} p50={p50:6.1f}ms p99={p99:7.1f}ms shed={self.shed} {mix}"


class Load:
    """The request mix. Ids come from what this run created, so reads mostly hit real rows."""

    def __init__(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.users: list[int] = []
        self.items: list[int] = []
        self.serial = 0

    def _id(self, pool: list[int]) -> int:
        return self.rng.choice(pool) if pool and self.rng.random() < 0.9 else self.rng.randint(1, 10**6)

    async def one(self) -> httpx.Response:
        r = self.rng.random()
        c = self.client
        if r < 0.05 or not self.users:
            self.serial += 1
            email = f"soak-{SEED}-{self.serial}-{self.rng.getrandbits(32):x}@example.com"
            resp = await c.post("/api/v1/users", json={"email": email, "full_name": "Soak Test"})
            if resp.status_code == 201:
                self.users.append(resp.json()["id"])
            return resp
        if r < 0.15 or not self.items:
            body: dict[str, object] = {"name": f"item {self.serial}", "price": f"{self.rng.uniform(0, 999):.2f}"}
            if self.rng.random() < 0.5:
                body["owner_id"] = self._id(self.users)
            resp = await c.post("/api/v1/items", json=body)
            if resp.status_code == 201:
                self.items.append(resp.json()["id"])
            return resp
        if r < 0.42:
            return await c.get(f"/api/v1/items/{self._id(self.items)}")  # mostly cache hits
        if r < 0.55:
            return await c.get(f"/api/v1/users/{self._id(self.users)}")
        if r < 0.62:
            limit, offset = self.rng.randint(1, 100), self.rng.randint(0, 500)
            path = self.rng.choice(["/api/v1/items", "/api/v1/users"])
            return await c.get(path, params={"limit": limit, "offset": offset})
        if r < 0.69:
            body = {"price": f"{self.rng.uniform(0, 999):.2f}", "description": "updated" * self.rng.randint(0, 20)}
            return await c.put(f"/api/v1/items/{self._id(self.items)}", json=body)
        if r < 0.72 and len(self.items) > 50:
            item = self.items.pop(self.rng.randrange(len(self.items)))
            return await c.delete(f"/api/v1/items/{item}")
        if r < 0.76:
            return await c.get(f"/api/v1/items/{self._id(self.items)}/enrich")  # outbound HTTP span
        if r < 0.86:
            return await c.get(self.rng.choice(["/health/live", "/health/ready", "/health", "/metrics"]))
        return await self.random_request()

    async def random_request(self) -> httpx.Response:
        """Paths, methods and values no client should send: 404/405/422 without new series."""
        rng = self.rng
        token = secrets.token_hex(rng.randint(1, 12))
        path = rng.choice(
            [
                f"/{token}",
                f"/api/v1/{token}/{rng.randint(0, 10**9)}",
                f"/api/v1/items/{token}",
                f"/api/v1/items/{rng.choice(['-1', '0', '1e3', '9' * rng.randint(10, 40), '%20', 'NaN'])}",
                f"/api/v1/users/{rng.randint(1, 10**6)}/{token}",
                f"/static/{token}.js",
                "/admin/faults",
                "/docs",
                "/openapi.json",
            ]
        )
        method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
        params = {token[:8]: token} if rng.random() < 0.5 else None
        content = secrets.token_bytes(rng.randint(0, 2048)) if method in ("POST", "PUT", "PATCH") else None
        headers = {"X-Admin-Token": token} if path == "/admin/faults" else None
        return await self.client.request(method, path, params=params, content=content, headers=headers)


async def drive(base: str, pid: int, out_dir: Path) -> list[tuple[float, int, int]]:
    rng = random.Random(SEED)
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    samples: list[tuple[float, int, int]] = []  # (seconds since start, RSS KiB, series)
    window = Window()
    server_errors: Counter[str] = Counter()  # "METHOD /path -> status" of every 5xx
    async with httpx.AsyncClient(base_url=base, timeout=10.0, limits=limits) as client:
        load = Load(client, rng)
        in_flight: set[asyncio.Task] = set()
        start = time.monotonic()

        async def one() -> None:
            t0 = time.monotonic()
            try:
                resp = await load.one()
                window.statuses[str(resp.status_code)] += 1
                if resp.status_code >= 500:
                    server_errors[f"{resp.request.method} {resp.request.url.path[:60]} -> {resp.status_code}"] += 1
            except httpx.HTTPError as exc:
                window.statuses[type(exc).__name__] += 1
            window.latencies.append(time.monotonic() - t0)

        async def sample() -> None:
            nonlocal window
            t = time.monotonic() - start
            metrics = (await client.get("/metrics")).text
            series = sum(series_by_family(metrics).values())
            rss = rss_kib(pid)
            samples.append((t, rss, series))
            print(f"[soak] t={t:6.0f}s rss={rss / 1024:7.1f}MiB series={series:5d} {window.line()}", flush=True)
            (out_dir / "metrics-last.txt").write_text(metrics)
            window = Window()

        await sample()
        sent, next_sample = 0, SAMPLE_EVERY
        while (now := time.monotonic() - start) < SECONDS:
            if now >= next_sample:
                await sample()
                next_sample += SAMPLE_EVERY
            due = int(now * RPS)
            while sent < due:
                sent += 1
                if len(in_flight) >= MAX_IN_FLIGHT:
                    window.shed += 1
                    continue
                task = asyncio.create_task(one())
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            await asyncio.sleep(min(0.01, max(0.0, (sent + 1) / RPS - (time.monotonic() - start))))
        await asyncio.gather(*in_flight, return_exceptions=True)
        await sample()
    if server_errors:
        print(f"[soak] {sum(server_errors.values())} server errors; most frequent:")
        for what, n in server_errors.most_common(8):
            print(f"[soak]   {n:5d}  {what}")
    return samples


def report(samples: list[tuple[float, int, int]], out_dir: Path) -> float | None:
    after = [(t, rss, n) for t, rss, n in samples if t >= WARMUP]
    first, last = samples[0], samples[-1]
    print(f"[soak] duration {last[0]:.0f}s at {RPS:g} req/s, {len(samples)} samples, warm-up {WARMUP:.0f}s")
    print(
        f"[soak] RSS     {first[1] / 1024:.1f} -> {last[1] / 1024:.1f} MiB (max {max(s[1] for s in samples) / 1024:.1f})"
    )
    print(f"[soak] series  {first[2]} -> {last[2]}")
    if len(after) < 3:
        print("[soak] too few samples after warm-up for a slope (run longer or sample more often)")
        return None
    minutes = [t / 60 for t, _, _ in after]
    rss_slope, _ = statistics.linear_regression(minutes, [float(r) for _, r, _ in after])
    series_slope, _ = statistics.linear_regression(minutes, [float(n) for _, _, n in after])
    span = minutes[-1] - minutes[0]
    print(f"[soak] RSS slope after warm-up: {rss_slope:+.1f} KiB/min over {span:.1f} min ({len(after)} samples)")
    print(f"[soak] series slope after warm-up: {series_slope:+.2f} series/min")
    top = series_by_family((out_dir / "metrics-last.txt").read_text()).most_common(8)
    print("[soak] largest metric families: " + ", ".join(f"{k}={v}" for k, v in top))
    return rss_slope


def main() -> int:
    out_dir = Path(tempfile.mkdtemp(prefix="soak-"))
    port, otlp_port = free_port(), free_port()
    sink = subprocess.Popen([PY, str(ROOT / "bench" / "otlp_sink.py"), str(otlp_port), str(out_dir / "spans")])
    env = {
        **os.environ,
        "APP_ENV": "production",
        "PORT": str(port),  # the enrich call goes back to this process
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
        "LOG_FILE": str(out_dir / "app.log"),
        "ADMIN_TOKEN": secrets.token_hex(16),
        "SENTRY_DSN": "",
        "FAULT_ERROR_RATE_PERCENT": "0",
        "FAULT_LATENCY_MS": "0",
        "FAULT_SLOW_QUERY_MS": "0",
    }
    app = subprocess.Popen(
        [PY, "-m", "app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=open(out_dir / "stdout.log", "wb"),  # noqa: SIM115 (handed to the child)
        stderr=subprocess.STDOUT,
    )
    print(f"[soak] app pid {app.pid} on 127.0.0.1:{port}; logs in {out_dir}", flush=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if app.poll() is not None:
                print(f"[soak] the app exited with {app.returncode}; see {out_dir}/stdout.log")
                return 1
            time.sleep(0.2)
        else:
            print("[soak] the app did not become ready in 30 s")
            return 1
        samples = asyncio.run(drive(f"http://127.0.0.1:{port}", app.pid, out_dir))
        if app.poll() is not None:
            print(f"[soak] FAILED: the app exited with {app.returncode} during the run")
            return 1
        slope = report(samples, out_dir)
        if MAX_SLOPE is not None and slope is not None and slope > float(MAX_SLOPE):
            print(f"[soak] FAILED: RSS slope {slope:+.1f} KiB/min > {MAX_SLOPE}")
            return 1
        return 0
    finally:
        for proc in (app, sink):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    sys.exit(main())
