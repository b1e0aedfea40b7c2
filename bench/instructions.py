"""Machine instructions per request, counted by valgrind (callgrind): the kit's cost without noise.

Throughput ratios on a shared VM move by several points from run to run; an instruction count
barely does (the trivial endpoint's repeat within 0.5 %; a DB request's within about 10 %, since
how many event-loop turns a query takes depends on timing). It is not a throughput figure: cache misses and system calls
(the access log's writes) are not in it, and under a real server the same instructions take
longer than this count suggests. Use it to see what a change to the kit saves, and where.

    valgrind -> python bench/instructions.py --child CONFIG PATH N TAG   (instrumentation off)
      builds the app in-process (no HTTP server), warms up 200 requests, says "ready"
    driver: callgrind_control -i on -> the child serves N requests -> callgrind_control -i off
    reported: instructions of the event-loop thread / N, per configuration, and the difference
    to OBSERVABILITY_ENABLED=false (the export and gRPC threads are printed apart).

    python bench/instructions.py [PATH] [N]      (needs valgrind, DATABASE_URL / REDIS_URL, user 1)
Env: INSTRUCTIONS_CONFIGS (comma list, default bare,full,full-collector).
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.asgi_cost import BARE, CONFIGS, call, start  # noqa: E402 - run as a script

MEASURABLE = {"bare": BARE, **CONFIGS}  # bench/asgi_cost.py's configurations, and bare


def wait_for(path: Path, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"instructions: timed out waiting for {path}")
        time.sleep(0.05)


async def child(config: str, path: str, n: int, signals: Path) -> None:
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the app logs to stdout
    app, lifespan = await start(MEASURABLE[config])
    for _ in range(200):
        assert await call(app, path) == 200, path
    (signals / "ready").touch()
    wait_for(signals / "go")
    for _ in range(n):
        await call(app, path)
    (signals / "done").touch()
    wait_for(signals / "stop")
    await lifespan.__aexit__(None, None, None)


def measure(config: str, path: str, n: int) -> dict[str, float]:
    """Instructions per request by thread (01 is the event loop), for one configuration."""
    signals = Path(tempfile.mkdtemp(prefix="instructions-"))
    out = signals / "callgrind.out"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
         f"--callgrind-out-file={out}", sys.executable, __file__, "--child", config, path, str(n), str(signals)],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(signals / "ready")
    subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
    (signals / "go").touch()
    wait_for(signals / "done")
    subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True)
    (signals / "stop").touch()
    proc.wait(timeout=300)
    threads: dict[str, float] = {}
    for dump in glob.glob(f"{out}*"):
        totals = [int(m.group(1)) for m in re.finditer(r"^(?:summary|totals):\s+(\d+)", Path(dump).read_text(), re.M)]
        if totals and max(totals):
            threads[dump.rsplit("-", 1)[-1]] = max(totals) / n
    return threads


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "/internal/ping"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    names = os.environ.get("INSTRUCTIONS_CONFIGS", "bare,full,full-collector").split(",")
    print(f"instructions per request on {path} (callgrind, {n} requests in-process, event-loop thread)")
    loop: dict[str, float] = {}
    for name in names:
        threads = measure(name, path, n)
        loop[name] = threads.pop("01", 0.0)
        others = ", ".join(f"{v / 1000:.1f}k" for v in threads.values() if v >= 50) or "none"
        extra = (
            f"  {loop[name] / loop['bare']:.3f}x bare, +{(loop[name] - loop['bare']) / 1000:.1f}k"
            if "bare" in loop
            else ""
        )
        print(f"  {name:<16} {loop[name] / 1000:8.1f}k{extra}   (other threads: {others})", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        asyncio.run(child(sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])))
    else:
        main()
