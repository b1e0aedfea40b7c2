#!/usr/bin/env python3
"""The README's pictures of a load test, taken from the running stack with headless Chromium.

    scripts/loadtest.sh ──> loadtest/reports/<run>/report.html, stages.jsonl ──┐
    Prometheus :9090 ── query_range, query_exemplars ──> SVG chart ────────────┼─ Chromium ──> docs/img/*.png
    Prometheus :9090 ── /alerts page ──────────────────────────────────────────┘  (DevTools protocol on a pipe)

Run it right after a load test, while its exemplars (last 15 minutes) and the page it fired
are still in Prometheus:

    scripts/loadtest.sh --profile short --duration 360 && scripts/screenshots.py

Pictures. Each is taken only once the page shows what it is meant to show; otherwise the script
says why and exits 1, so a picture of an empty page never replaces a good one.

    locust-report      the Locust HTML report's charts (requests/s with failures/s, p50/p95,
                       users); its tables are hidden so the picture stays small
    latency-exemplars  p50/p95 from the latency histogram with every exemplar as a dot (one
                       request each, carrying its trace_id) and the load test's fault stages
                       shaded. Drawn here from Prometheus's APIs because the Prometheus 3 web UI
                       does not draw exemplars (its graph ignores "show_exemplars"; its bundle
                       never calls the exemplars API) and Grafana does not run here
    prometheus-alerts  Prometheus's Alerts page: the firing SLO burn-rate pages, one opened

Grafana's dashboards are not pictured: Grafana is AGPL and does not run on the machines this
project is built on. No image library is needed: the window's size is the crop.

Usage: scripts/screenshots.py [--report PATH] [--out docs/img] [NAME ...]
Env: PROMETHEUS_URL (http://localhost:9090), CHROMIUM (chromium on PATH).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import html
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = os.environ.get("PROMETHEUS_URL", "http://localhost:9090")
FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
LATENCY = "histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))"
WINDOW_S = 900
CHART_W, CHART_H = 1200, 560
PAGES_FIRING = "ErrorBudgetBurn"

# The report draws its charts (ECharts, one canvas each) after load. The picture keeps its
# title block and Charts section; the tables (one row per endpoint) would triple its height.
REPORT_READY = "document.querySelectorAll('canvas').length >= 3"
REPORT_CHARTS_ONLY = """
document.querySelectorAll("h2").forEach((h) => {
  if (h.textContent.trim() !== "Charts") h.parentElement.style.display = "none";
});
window.dispatchEvent(new Event("resize"));
"""
# The lowest edge of the page's leaf elements (text, icons): wrappers are often as tall as the window.
CONTENT_BOTTOM = (
    "Math.ceil(Math.max(...Array.from(document.querySelectorAll('body *'), "
    "(e) => (e.children.length === 0 && e.offsetHeight ? e.getBoundingClientRect().bottom : 0))))"
)
# Prometheus's Alerts page lists each rule collapsed. Clicking every one leaves the last open (the
# accordion keeps one open at a time): its expression, annotations and alert labels show.
ALERTS_READY = "document.body.innerText.includes('FIRING')"
ALERTS_OPEN = "document.querySelectorAll('button.mantine-Accordion-control').forEach((b) => b.click())"


class NotShown(Exception):
    """The stack does not (yet) show what the picture is meant to show."""


def api(path: str, **params: str) -> Any:
    url = f"{PROMETHEUS.replace('//localhost:', '//127.0.0.1:')}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)["data"]


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
    JSON messages ending in NUL, commands on fd 3, answers and events on fd 4), so a shot can
    wait until the page shows its data and click first; no websocket library needed."""

    def __init__(self, width: int, height: int) -> None:
        browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
        if not browser:
            raise NotShown("chromium is not installed (apt-get install chromium)")
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-")
        to_child, self.commands = os.pipe()
        self.answers, from_child = os.pipe()
        to_child, from_child = (above_ten(fd) for fd in (to_child, from_child))  # never 3 or 4 themselves
        # bash moves the pipe ends to the fd numbers Chromium expects, then becomes Chromium
        self.proc = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{to_child} 4>&{from_child} {to_child}<&- {from_child}>&-',
                browser,
                *FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile.name}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_child, from_child),
        )
        os.close(to_child)
        os.close(from_child)
        self.buffer, self.next_id, self.session = b"", 0, None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            while b"\0" not in self.buffer:
                chunk = os.read(self.answers, 1 << 16)
                if not chunk:
                    raise NotShown(f"chromium exited (code {self.proc.poll()}) during {method}")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise NotShown(f"{method}: {answer['error']}")
                return answer["result"]
        raise NotShown(f"{method}: no answer within 60 s")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise NotShown(f"the page did not show {what} within {timeout:.0f} s")
            time.sleep(0.5)

    def close(self) -> None:
        with contextlib.suppress(NotShown, OSError):  # it may exit before it answers
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait()
        os.close(self.commands)
        os.close(self.answers)
        self.profile.cleanup()


def above_ten(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


def shoot(
    url: str, out: Path, width: int, height: int, ready: str = "true", what: str = "", then: str = "", fit: bool = False
) -> None:
    """Opens url, waits until the JS expression `ready` is true, runs `then`, saves a PNG."""
    browser = Browser(width, height)
    try:
        browser.call("Page.navigate", url=url)
        browser.wait_for(f"document.readyState === 'complete' && !!({ready})", what or "its content")
        if then:
            browser.evaluate(then)
        time.sleep(1.5)  # charts animate and redraw after a resize or click
        if fit:  # as tall as the content, at most `height`
            tall = int(browser.evaluate(CONTENT_BOTTOM) or height) + 40
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=min(tall, height),
                deviceScaleFactor=1,
                mobile=False,
            )
            time.sleep(0.5)
        png = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    finally:
        browser.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)


def newest_report() -> Path:
    reports = sorted((REPO / "loadtest" / "reports").glob("*/report.html"), key=lambda p: p.stat().st_mtime)
    if not reports:
        raise NotShown("no loadtest/reports/*/report.html: run scripts/loadtest.sh first")
    return reports[-1]


def locust_report(out: Path, report: Path | None) -> str:
    report = (report or newest_report()).resolve()
    if "Locust" not in report.read_text(errors="replace")[:5000] + report.read_text(errors="replace")[-5000:]:
        raise NotShown(f"{report} is not a Locust HTML report")
    shoot(report.as_uri(), out, 1200, 1100, ready=REPORT_READY, what="its three charts", then=REPORT_CHARTS_ONLY)
    return f"charts of {report.relative_to(REPO) if report.is_relative_to(REPO) else report}"


def exemplars_chart(out: Path) -> str:
    """p50/p95 lines and every exemplar of the last 15 minutes, drawn as SVG from Prometheus's
    query_range and query_exemplars APIs, then rendered to PNG by the browser."""
    end = float(api("/api/v1/query", query="time()")["result"][1])
    start, step = end - WINDOW_S, 15
    lines = {}
    for q in (0.5, 0.95):
        result = api("/api/v1/query_range", query=LATENCY.format(q=q), start=str(start), end=str(end), step=str(step))
        lines[q] = [
            (float(t), float(v)) for row in result["result"] for t, v in row["values"] if v not in ("NaN", "+Inf")
        ]
    dots = [
        (float(e["timestamp"]), float(e["value"]), e["labels"].get("trace_id", ""), series["seriesLabels"])
        for series in api("/api/v1/query_exemplars", query=LATENCY.format(q=0.95), start=str(start), end=str(end))
        for e in series["exemplars"]
    ]
    if not dots:
        raise NotShown("no exemplars on http_request_duration_seconds in the last 15 min (kept traces only)")
    svg = exemplar_svg(start, end, lines, dots, stages(start, end))
    with tempfile.TemporaryDirectory(prefix="chart-") as tmp:
        page = Path(tmp) / "chart.html"
        page.write_text(f'<html><body style="margin:0;background:#fff">{svg}</body></html>')
        shoot(page.as_uri(), out, CHART_W, CHART_H)
    return f"{len(dots)} exemplars, {sum(map(len, lines.values()))} quantile points"


def stages(start: float, end: float) -> list[tuple[float, float, str]]:
    """The newest load test's fault stages that overlap the window (loadtest/reports/*/stages.jsonl)."""
    timelines = sorted((REPO / "loadtest" / "reports").glob("*/stages.jsonl"), key=lambda p: p.stat().st_mtime)
    out = []
    for line in timelines[-1].read_text().splitlines() if timelines else []:
        st = json.loads(line)
        if (
            any(st["faults"].get(k) for k in ("error_rate_percent", "latency_ms"))
            and st["end"] > start
            and st["start"] < end
        ):
            out.append((max(st["start"], start), min(st["end"], end), st["stage"]))
    return out


def exemplar_svg(start, end, lines, dots, bands) -> str:
    left, top, right, bottom = 70, 78, CHART_W - 30, CHART_H - 45
    top_s = max([v for _, v, _, _ in dots] + [v for pts in lines.values() for _, v in pts]) * 1.08
    grid = nice_step(top_s)
    x = lambda t: left + (t - start) / (end - start) * (right - left)  # noqa: E731
    y = lambda v: bottom - v / top_s * (bottom - top)  # noqa: E731
    e = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" height="{CHART_H}" font-family="sans-serif" font-size="13">',
        '<text x="20" y="28" font-size="19" font-weight="bold">Request latency with exemplars, last 15 minutes</text>',
        '<text x="20" y="52" fill="#555">Lines: p50 and p95 of the http_request_duration_seconds histogram '
        "(histogram_quantile over 1m rates). Dots: exemplars, one request each, with its trace_id.</text>",
    ]
    for b0, b1, name in bands:
        color = "#fde2e1" if "error" in name else "#fff1d6"
        parts.append(
            f'<rect x="{x(b0):.1f}" y="{top}" width="{x(b1) - x(b0):.1f}" height="{bottom - top}" fill="{color}"/>'
        )
        parts.append(f'<text x="{x(b0) + 6:.1f}" y="{top + 16}" fill="#a33">{e(name)}</text>')
    v = 0.0
    while v <= top_s:
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e4e4e4"/>')
        label = f"{v * 1000:.0f} ms" if v < 1 else f"{v:g} s"
        parts.append(f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#555">{label}</text>')
        v = round(v + grid, 6)
    t = (start // 120 + 1) * 120
    while t < end:
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{bottom}" stroke="#f0f0f0"/>')
        clock = time.strftime("%H:%M", time.gmtime(t))
        parts.append(f'<text x="{x(t):.1f}" y="{bottom + 20}" text-anchor="middle" fill="#555">{clock}</text>')
        t += 120
    parts.append(f'<text x="{right}" y="{bottom + 38}" text-anchor="end" fill="#555">UTC</text>')
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#999"/>')
    for ts, v, _, _ in dots:
        parts.append(f'<circle cx="{x(ts):.1f}" cy="{y(v):.1f}" r="3.2" fill="#1aa39a" fill-opacity="0.55"/>')
    for q, color in ((0.5, "#3b6fd4"), (0.95, "#8e44ad")):
        pts = " ".join(f"{x(ts):.1f},{y(v):.1f}" for ts, v in lines[q])
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2.2"/>')
    ts, v, trace, labels = max(dots, key=lambda d: d[1])
    what = f"{labels.get('method', '')} {labels.get('endpoint', '')}, ".lstrip(" ,")
    anchor = "end" if x(ts) > (left + right) / 2 else "start"
    dx = -10 if anchor == "end" else 10
    parts += [
        f'<circle cx="{x(ts):.1f}" cy="{y(v):.1f}" r="5.5" fill="none" stroke="#111" stroke-width="1.5"/>',
        f'<text x="{x(ts) + dx:.1f}" y="{y(v) + 4:.1f}" text-anchor="{anchor}" fill="#111">'
        f"slowest: {v * 1000:.0f} ms, {e(what)}trace_id {e(trace[:16])}…</text>",
    ]
    legend = [("#3b6fd4", "p50", "line"), ("#8e44ad", "p95", "line"), ("#1aa39a", "exemplar", "dot")]
    lx = right - 270
    for color, name, kind in legend:
        if kind == "line":
            parts.append(
                f'<line x1="{lx}" x2="{lx + 22}" y1="{top - 8}" y2="{top - 8}" stroke="{color}" stroke-width="3"/>'
            )
        else:
            parts.append(f'<circle cx="{lx + 11}" cy="{top - 8}" r="4" fill="{color}"/>')
        parts.append(f'<text x="{lx + 28}" y="{top - 4}">{name}</text>')
        lx += 90
    parts.append("</svg>")
    return "\n".join(parts)


def nice_step(span: float) -> float:
    """A 1/2/5 x 10^n grid step giving four to eight lines over span."""
    step = 10 ** math.floor(math.log10(span / 5))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 8:
            return step * factor
    return step * 10


def prometheus_alerts(out: Path) -> str:
    firing = [a["labels"]["alertname"] for a in api("/api/v1/alerts")["alerts"] if a["state"] == "firing"]
    pages = sorted({name for name in firing if PAGES_FIRING in name})
    if not pages:
        raise NotShown(f"no *{PAGES_FIRING} alert firing (firing: {sorted(set(firing)) or 'none'})")
    params = {"state": "firing", "search": PAGES_FIRING}
    url = f"{PROMETHEUS}/alerts?{urllib.parse.urlencode(params)}"
    shoot(url, out, 1300, 1100, ready=ALERTS_READY, what="a firing alert", then=ALERTS_OPEN, fit=True)
    return "firing: " + ", ".join(pages)


def main() -> int:
    names = ("locust-report", "latency-exemplars", "prometheus-alerts")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="some of: " + ", ".join(names) + " (default: all)")
    parser.add_argument("--report", type=Path, help="Locust HTML report (default: the newest under loadtest/reports)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()
    unknown = set(args.names) - set(names)
    if unknown:
        parser.error(f"unknown picture(s) {sorted(unknown)}; choose from {', '.join(names)}")
    failed = 0
    for name in args.names or names:
        out = args.out / f"{name}.png"
        try:
            if name == "locust-report":
                what = locust_report(out, args.report)
            elif name == "latency-exemplars":
                what = exemplars_chart(out)
            else:
                what = prometheus_alerts(out)
        except (NotShown, OSError) as exc:
            print(f"FAIL  {name}: {exc}")
            failed += 1
            continue
        print(f"PASS  {name}: {out} ({out.stat().st_size // 1024} KiB): {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
