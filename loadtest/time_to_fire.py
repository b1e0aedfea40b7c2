#!/usr/bin/env python3
"""Time from fault to alert: reads the load test's stage timeline and the alert sink.

For every alert a stage expects (the "expect" list shape.py writes to the timeline), or every
--expect NAME[:SEVERITY], reports seconds
  - from the fault's start to firing: Prometheus's firing time (the alert's startsAt) and the
    first notification the sink received (adds Alertmanager's group_wait),
  - from the fault's end to resolved: Prometheus's resolve time (endsAt of the resolved
    notification) and when the sink received it (adds group_interval).

  python3 loadtest/time_to_fire.py --timeline loadtest/reports/stages.jsonl \
      --sink http://127.0.0.1:9095 [--wait 120] [--max-fire 180] [--require-resolved NAME] [--json]

Exit 0 when every expected alert fired (within --max-fire seconds of its fault, if given) and
every --require-resolved alert resolved; 1 otherwise; 2 when the inputs cannot be read.
Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

DEFAULT_SEVERITY = "critical"  # the stages' faults are meant to page


def ts(text: str | None) -> float | None:
    """RFC 3339 (any fraction length, Z) -> unix seconds; Go's zero time -> None."""
    if not text or text.startswith("0001-"):
        return None
    m = re.fullmatch(r"(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not m:
        raise ValueError(f"bad timestamp {text!r}")
    frac = (m[2] or "0")[:6].ljust(6, "0")
    zone = "+00:00" if m[3] == "Z" else m[3]
    return datetime.fromisoformat(f"{m[1]}.{frac}{zone}").timestamp()


def load_timeline(path: Path) -> list[dict]:
    stages = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not stages:
        raise ValueError(f"{path} has no stages")
    return stages


def fetch_alerts(sink: str) -> list[dict]:
    with urllib.request.urlopen(f"{sink.rstrip('/')}/alerts", timeout=10) as resp:
        return json.load(resp)


def expectations(stages: list[dict], extra: list[str]) -> list[tuple[str, str, dict]]:
    """(alertname, severity, stage) for each stage's expected alerts and each --expect."""
    out = [(name, DEFAULT_SEVERITY, st) for st in stages for name in st.get("expect", [])]
    faulty = [st for st in stages if st.get("expect")] or stages
    for spec in extra:
        name, _, sev = spec.partition(":")
        stage = next((st for st in faulty if name in st.get("expect", [])), faulty[0])
        out.append((name, sev or DEFAULT_SEVERITY, stage))
    return list({(n, s, st["stage"]): (n, s, st) for n, s, st in out}.values())  # dedupe


def measure(name: str, severity: str, stage: dict, notifications: list[dict]) -> dict:
    start, end = stage["start"], stage.get("end")
    row = {
        "alert": name,
        "severity": severity,
        "stage": stage["stage"],
        "fault_start": start,
        "fault_end": end,
        "fired_s": None,
        "notified_s": None,
        "resolved_s": None,
        "resolved_notified_s": None,
        "receivers": [],
    }
    firing_keys = set()
    for n in sorted(notifications, key=lambda n: n["received_at"]):
        for a in n["alerts"]:
            labels = a.get("labels") or {}
            if labels.get("alertname") != name or labels.get("severity") != severity:
                continue
            started = ts(a.get("startsAt"))
            if started is None or started < start - 1:
                continue  # fired before this fault: not caused by it
            key = json.dumps(labels, sort_keys=True)
            if a["status"] == "firing":
                firing_keys.add(key)
                if row["fired_s"] is None:
                    row["fired_s"] = round(started - start, 1)
                    row["notified_s"] = round(n["received_at"] - start, 1)
                if n["receiver"] not in row["receivers"]:
                    row["receivers"].append(n["receiver"])
            elif a["status"] == "resolved" and key in firing_keys and row["resolved_s"] is None:
                base = end if end is not None else start
                ended = ts(a.get("endsAt"))
                row["resolved_s"] = round(ended - base, 1) if ended else None
                row["resolved_notified_s"] = round(n["received_at"] - base, 1)
    return row


def fmt(v: float | None, sign: str = "+") -> str:
    return "-" if v is None else f"{sign}{v:.0f}s"


def table(rows: list[dict]) -> str:
    head = (
        f"{'alert':30} {'severity':9} {'stage':14} {'fault start':12} {'fired':>7} "
        f"{'notified':>9} {'resolved':>9} {'res.notif':>9}  receivers"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        start = time.strftime("%H:%M:%S", time.localtime(r["fault_start"]))
        lines.append(
            f"{r['alert']:30} {r['severity']:9} {r['stage']:14} {start:12} "
            f"{fmt(r['fired_s']):>7} {fmt(r['notified_s']):>9} "
            f"{fmt(r['resolved_s']):>9} {fmt(r['resolved_notified_s']):>9}  "
            f"{','.join(r['receivers']) or '-'}"
        )
    lines.append(
        "fired/notified: seconds after the fault started; resolved/res.notif: seconds "
        "after the fault ended (- = not yet)"
    )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeline", type=Path, default=Path(__file__).parent / "reports" / "stages.jsonl")
    ap.add_argument("--sink", default="http://127.0.0.1:9095")
    ap.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="NAME[:SEVERITY]",
        help="also require this alert (default severity critical)",
    )
    ap.add_argument("--require-resolved", action="append", default=[], metavar="NAME")
    ap.add_argument("--max-fire", type=float, help="fail if an alert fired later than this")
    ap.add_argument("--wait", type=float, default=0, help="poll the sink up to this many seconds for missing alerts")
    ap.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = ap.parse_args()

    try:
        stages = load_timeline(args.timeline)
        wanted = expectations(stages, args.expect)
        deadline = time.monotonic() + args.wait
        while True:
            notifications = fetch_alerts(args.sink)
            rows = [measure(n, s, st, notifications) for n, s, st in wanted]
            done = all(r["fired_s"] is not None for r in rows) and all(
                r["resolved_s"] is not None for r in rows if r["alert"] in args.require_resolved
            )
            if done or time.monotonic() >= deadline:
                break
            time.sleep(5)
    except (OSError, ValueError, KeyError) as exc:
        print(f"time_to_fire: {exc}", file=sys.stderr)
        return 2

    print(json.dumps(rows, indent=2) if args.json else table(rows))
    problems = []
    for r in rows:
        if r["fired_s"] is None:
            problems.append(f"{r['alert']} ({r['severity']}) did not fire after {r['stage']}")
        elif args.max_fire is not None and r["fired_s"] > args.max_fire:
            problems.append(
                f"{r['alert']} fired {r['fired_s']:.0f}s after {r['stage']} started (limit {args.max_fire:.0f}s)"
            )
        if r["alert"] in args.require_resolved and r["resolved_s"] is None:
            problems.append(f"{r['alert']} ({r['severity']}) did not resolve")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
