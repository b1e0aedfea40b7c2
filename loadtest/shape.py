"""Staged load shape: warm-up, steady, error-burst, latency-spike, recovery.

Each stage switches the app's failure injection (PUT /admin/faults, header X-Admin-Token from
env ADMIN_TOKEN), prints which alert it should fire and roughly when, and is recorded in a
timeline file (JSON lines: stage, start, end, faults, expect) that loadtest/time_to_fire.py reads.

  LOADTEST_PROFILE   full (default, ~21 min, `make loadtest`) | short (~7 min, end-to-end test)
  LOADTEST_USERS     peak users (default 20 full, 10 short); each user paces 1 request/s
  LOADTEST_DURATION  optional total, e.g. 900, 15m: cuts the shape short or stretches recovery
  LOADTEST_TIMELINE  default loadtest/reports/stages.jsonl

The fast-burn page reaches the sink ~2 min after a fault starts (scrape/eval 15 s, `for: 1m`,
group_wait 10 s) and resolves ~30 min after it ends (the 30m window of the 6x pair).
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import requests
from locust import LoadTestShape, events

HERE = Path(__file__).resolve().parent
NO_FAULTS = {"error_rate_percent": 0, "latency_ms": 0, "slow_query_ms": 0}


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: int
    faults: dict = field(default_factory=dict)
    expect: str = "no alert"
    alerts: tuple[str, ...] = ()  # alert names this stage's fault should fire (time_to_fire.py)
    eta_seconds: int = 0  # roughly when after the stage start


PAGE_ETA = 120
_RESOLVE_NOTE = (
    "pages stay open until the 30m window of the 6x pair is clean (~30 min after "
    "the fault ended); slow-burn tickets fire 15 min after a fault and are inhibited "
    "while the page of the same alert fires"
)


def _stages(burst: int, spike: int, warm: int, steady: int, recovery: int) -> list[Stage]:
    return [
        Stage("warm-up", warm, expect="no alert: ramping users up, clean baseline"),
        Stage("steady", steady, expect="no alert: SLIs at ~100 %"),
        Stage(
            "error-burst",
            burst,
            {"error_rate_percent": 30},
            "AvailabilityErrorBudgetBurn (critical page: 30 % 5xx = 300x burn) in ~2 min"
            + ("; HighErrorRate (warning, per endpoint) after ~6 min" if burst >= 400 else ""),
            ("AvailabilityErrorBudgetBurn",),
            PAGE_ETA,
        ),
        Stage(
            "latency-spike",
            spike,
            {"latency_ms": 800},
            "LatencyErrorBudgetBurn (critical page: every API request > 0.5 s) in ~2 min",
            ("LatencyErrorBudgetBurn",),
            PAGE_ETA,
        ),
        Stage("recovery", recovery, expect="faults off; " + _RESOLVE_NOTE),
    ]


PROFILES = {
    "full": (20, _stages(warm=60, steady=180, burst=420, spike=300, recovery=300)),
    "short": (10, _stages(warm=20, steady=40, burst=150, spike=150, recovery=60)),
}


def parse_duration(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([smh]?)\s*", text or "")
    if not m:
        raise ValueError(f"bad duration {text!r} (use 900, 900s, 15m or 1h)")
    return int(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[m[2]]


def plan(profile: str, duration: str | None = None) -> list[Stage]:
    """The profile's stages; a duration cuts them short or stretches the recovery stage."""
    stages = list(PROFILES[profile][1])
    if not duration:
        return stages
    total, out, t = parse_duration(duration), [], 0
    for st in stages:
        if t >= total:
            break
        out.append(Stage(st.name, min(st.seconds, total - t), st.faults, st.expect, st.alerts, st.eta_seconds))
        t += out[-1].seconds
    if t < total:
        last = out[-1]
        out[-1] = Stage(last.name, last.seconds + total - t, last.faults, last.expect, last.alerts, last.eta_seconds)
    return out


class StagedShape(LoadTestShape):
    """Drives users and failure injection through the profile's stages."""

    def __init__(self) -> None:
        super().__init__()
        self.profile = os.environ.get("LOADTEST_PROFILE", "full")
        if self.profile not in PROFILES:
            raise ValueError(f"LOADTEST_PROFILE must be one of {sorted(PROFILES)}")
        self.users = int(os.environ.get("LOADTEST_USERS") or PROFILES[self.profile][0])
        self.stages = plan(self.profile, os.environ.get("LOADTEST_DURATION"))
        self.timeline: Path | None = Path(os.environ.get("LOADTEST_TIMELINE") or HERE / "reports" / "stages.jsonl")
        self.current: dict | None = None
        self.index = -1
        _ACTIVE[0] = self

    # --- failure injection ------------------------------------------------------------
    def set_faults(self, faults: dict) -> dict:
        host = self.runner.environment.host if self.runner else None
        token = os.environ.get("ADMIN_TOKEN")
        if not host or not token:
            raise RuntimeError("need --host and env ADMIN_TOKEN to switch failure injection")
        resp = requests.put(
            f"{host.rstrip('/')}/admin/faults",
            json={**NO_FAULTS, **faults},
            headers={"X-Admin-Token": token},
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json()

    # --- timeline -----------------------------------------------------------------------
    def _close_stage(self, now: float) -> None:
        if self.current is None:
            return
        self.current["end"] = round(now, 3)
        if self.timeline is not None:
            with self.timeline.open("a") as fh:
                fh.write(json.dumps(self.current) + "\n")
        self.current = None

    def _open_timeline(self) -> None:
        if self.timeline is None:
            return
        try:  # one run per file
            self.timeline.parent.mkdir(parents=True, exist_ok=True)
            self.timeline.write_text("")
        except OSError as exc:  # e.g. a read-only mount in the compose web UI: run without it
            print(f"[loadtest] WARNING: no stage timeline ({exc}); set LOADTEST_TIMELINE", flush=True)
            self.timeline = None

    def _start_stage(self, i: int) -> None:
        now = time.time()
        self._close_stage(now)
        st = self.stages[i]
        applied = self.set_faults(st.faults)
        started = time.time()  # the fault is live from here
        self.current = {
            "profile": self.profile,
            "stage": st.name,
            "start": round(started, 3),
            "faults": applied,
            "expect": list(st.alerts),
            "note": st.expect,
        }
        eta = ""
        if st.alerts:
            at = time.strftime("%H:%M:%S", time.localtime(started + st.eta_seconds))
            eta = f" (around {at})"
        print(
            f"[loadtest] stage {i + 1}/{len(self.stages)} {st.name} for {st.seconds}s, "
            f"faults {applied}: expect {st.expect}{eta}",
            flush=True,
        )

    def finish(self) -> None:
        """Faults off and the last stage closed; runs on every stop, also on Ctrl-C."""
        if self.index < 0:
            return
        try:
            self.set_faults({})
        except Exception as exc:  # noqa: BLE001 - report and keep stopping
            print(f"[loadtest] WARNING: could not reset faults: {exc}", flush=True)
        self._close_stage(time.time())
        self.index = -1

    def tick(self):
        run_time = self.get_run_time()
        t, i = 0, None
        for n, st in enumerate(self.stages):
            t += st.seconds
            if run_time < t:
                i = n
                break
        if i is None:
            return None  # done: test_stop resets the faults
        if i != self.index:
            if self.index < 0 and self.current is None:
                self._open_timeline()
            try:
                self._start_stage(i)
            except Exception as exc:  # noqa: BLE001
                print(f"[loadtest] ERROR: stage {self.stages[i].name}: {exc}", flush=True)
                self.runner.environment.process_exit_code = 2
                return None
            self.index = i
        warm = self.stages[0]
        users = self.users
        if i == 0 and warm.name == "warm-up":  # linear ramp over the warm-up
            users = max(1, round(self.users * min(1.0, (run_time + 1) / warm.seconds)))
        return users, max(1, self.users // 5)


_ACTIVE: list[StagedShape | None] = [None]


@events.test_stop.add_listener
def _reset_faults(**_kwargs) -> None:
    if _ACTIVE[0] is not None:
        _ACTIVE[0].finish()


@events.init.add_listener
def _stop_cleanly_on_sigterm(environment, **_kwargs) -> None:
    # Locust 2.47 installs its SIGTERM handler only after a headless shape test has finished,
    # so `docker stop` / `kill` would leave the app's faults switched on. Turn SIGTERM into a
    # normal stop (which fires test_stop: faults off, timeline closed). Locust's own handler
    # replaces this one where it is installed (web UI mode), and it stops the same way.
    def on_sigterm() -> None:
        print("[loadtest] SIGTERM: switching faults off and stopping", flush=True)
        if _ACTIVE[0] is not None:
            _ACTIVE[0].finish()
        if environment.runner is not None:
            gevent.spawn(environment.runner.quit)

    gevent.signal_handler(signal.SIGTERM, on_sigterm)
