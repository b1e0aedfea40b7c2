"""Every page the README lists opens and shows real content; each is also screenshotted with
headless Chromium into $E2E_ARTIFACTS/screenshots (default /var/tmp/obs-e2e/screenshots).

"Real content" means more than HTTP 200: a single-page app's HTML must reference its script
bundle and the bundle must be served as JavaScript; the sink must render its table; /docs must
load only assets the app serves. Pages of components not running here are reported NOT RUN.

Run by scripts/e2e.sh against the running stack (native or Docker).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import REPO, stack
from tests.support.http import request

SHOTS = Path(os.environ.get("E2E_ARTIFACTS", "/var/tmp/obs-e2e")) / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # runs as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,900",
    "--virtual-time-budget=8000",  # let single-page apps fetch their data before the shot
]

# name, URL a browser opens, the component that serves it
PAGES = [
    ("app-docs", "http://localhost:8000/docs", "app"),
    ("app-redoc", "http://localhost:8000/redoc", "app"),
    ("prometheus-query", "http://localhost:9090/query", "prometheus"),
    ("prometheus-alerts", "http://localhost:9090/alerts", "prometheus"),
    ("prometheus-targets", "http://localhost:9090/targets", "prometheus"),
    (
        "prometheus-graph",
        "http://localhost:9090/query?g0.expr=sum%20by%20(status_code)%20(rate(http_requests_total%5B1m%5D))"
        "&g0.tab=graph&g0.range_input=15m",
        "prometheus",
    ),
    ("alertmanager-root", "http://localhost:9093/", "alertmanager"),
    ("alertmanager-ui", "http://localhost:9093/ui/#/status", "alertmanager"),
    ("alert-sink", "http://localhost:9095/", "alert-sink"),
    ("alloy", "http://localhost:12345/", "alloy"),
    ("alloy-graph", "http://localhost:12345/graph", "alloy"),
    ("grafana", "http://localhost:3000/", "grafana"),
    ("loki", "http://localhost:3100/ready", "loki"),
    ("tempo", "http://localhost:3200/ready", "tempo"),
]


def fetch(url: str) -> tuple[int, str, dict]:
    # Pages are named by localhost (what the README shows); fetch them over IPv4 like the
    # published ports are bound.
    status, body, headers = request("GET", url.replace("//localhost:", "//127.0.0.1:"))
    return status, body.decode(errors="replace"), {k.lower(): v for k, v in headers.items()}


def script_bundles(url: str, page: str) -> list[str]:
    """Absolute URLs of the page's own <script src> bundles."""
    srcs = re.findall(r'<script[^>]+src="([^"]+)"', page)
    url = url.split("#")[0]  # a client-side route is not part of the document's address
    base = url if url.endswith("/") else url.rsplit("/", 1)[0] + "/"
    origin = re.match(r"https?://[^/]+", url).group(0)  # type: ignore[union-attr]
    out = []
    for src in srcs:
        if src.startswith("http"):
            out.append(src)
        elif src.startswith("/"):
            out.append(origin + src)
        else:
            out.append(base + src.removeprefix("./"))
    return out


def assert_bundle_served(url: str, page: str, min_bytes: int = 50_000) -> str:
    bundles = script_bundles(url, page)
    assert bundles, f"{url}: no <script src> in the page"
    for b in bundles:
        assert b.startswith(("http://localhost", "http://127.0.0.1")), f"{url} loads a script from elsewhere: {b}"
        status, body, headers = fetch(b)
        assert status == 200, f"{b}: HTTP {status}"
        assert "javascript" in headers.get("content-type", ""), f"{b}: {headers.get('content-type')}"
        assert len(body) > min_bytes, f"{b}: only {len(body)} bytes"
    return f"{len(bundles)} script bundle(s) served"


def answers_a_browser(url: str) -> None:
    """Alertmanager serves an .html page only in the encoding the client accepts; a browser
    accepts br, so a page stored only gzipped is a 404 in the browser and a 200 for urllib."""
    status = request("GET", url.replace("//localhost:", "//127.0.0.1:"), headers={"Accept-Encoding": "gzip, br"})[0]
    assert status == 200, f"{url}: HTTP {status} for a browser's Accept-Encoding"


def content_check(name: str, url: str, page: str) -> str:
    answers_a_browser(url)
    if name.startswith("prometheus"):
        assert "<title>Prometheus" in page, page[:300]
        return assert_bundle_served(url, page, 500_000)
    if name == "alertmanager-root":
        assert "Alertmanager" in page and ('href="ui/"' in page or "<script" in page), page[:300]
        return "root page with links" if "<script" not in page else assert_bundle_served(url, page)
    if name == "alertmanager-ui":
        return assert_bundle_served(url, page, 200_000)
    if name.startswith("alloy"):
        assert "Alloy" in page, page[:300]
        return assert_bundle_served(url, page, 200_000)
    if name == "alert-sink":
        assert "<table>" in page and "<th>alert</th>" in page and "<th>source</th>" in page
        return "HTML table of alerts"
    if name in ("app-docs", "app-redoc"):
        assets = re.findall(r"/docs-assets/[\w.-]+\.js", page)
        assert assets, page[:300]
        for a in assets:
            status, body, headers = fetch("http://localhost:8000" + a)
            assert status == 200 and "javascript" in headers["content-type"] and len(body) > 500_000, a
        return f"{len(assets)} local script(s) served"
    if name == "grafana":
        assert "Grafana" in page
        return "Grafana login/home"
    return f"{len(page)} bytes"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(browser: str, name: str, url: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    out = SHOTS / f"{name}.png"
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        r = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}", url],
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert out.exists() and out.stat().st_size > 10_000, f"{name}: no screenshot ({r.returncode}): {r.stderr[-500:]}"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return out


def rendered_dom(browser: str, url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        r = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=90,
        )
    return r.stdout


@pytest.mark.parametrize(("name", "url", "service"), PAGES, ids=[p[0] for p in PAGES])
def test_page_opens_with_real_content(name, url, service):
    skipped = stack.native_skipped()
    if service in skipped:
        print(f"NOT RUN  {name:20} {url}: {service} is not running here ({skipped[service]})")
        return
    status, page, headers = fetch(url)
    assert status == 200, f"{url}: HTTP {status}: {page[:300]}"
    what = content_check(name, url, page)
    browser = chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (apt-get install chromium): no screenshots")
        print(f"PASS     {name:20} {url}: {what} (no chromium: no screenshot)")
        return
    shot = screenshot(browser, name, url)
    print(f"PASS     {name:20} {url}: {what}; screenshot {shot}")


def test_single_page_apps_render_in_a_browser():
    """The bundles do not just download: they run and draw the app (DOM after scripts ran)."""
    browser = chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    skipped = stack.native_skipped()
    want = [
        ("prometheus", "http://localhost:9090/query", "Execute"),
        ("alloy", "http://localhost:12345/", "Clustering"),
        ("alertmanager", "http://localhost:9093/ui/", "Alerts List"),
        ("app", "http://localhost:8000/docs", "swagger-ui"),
    ]
    for service, url, text in want:
        if service in skipped:
            continue
        dom = rendered_dom(browser, url)
        assert text in dom, f"{url}: rendered DOM lacks {text!r}: {dom[:500]}"


def test_every_url_make_up_prints_opens_and_nothing_else_is_printed():
    out = subprocess.run([str(REPO / "scripts" / "urls.sh")], capture_output=True, text=True, timeout=60).stdout
    urls = re.findall(r"http://localhost:\d+[^\s)]*", out)
    assert urls, out
    for url in urls:
        status = fetch(url)[0]
        assert status == 200, f"urls.sh printed {url}, which answers HTTP {status}"
    for service in stack.native_skipped():
        port = {"grafana": 3000, "loki": 3100, "tempo": 3200, "alloy": 12345}.get(service)
        assert port is None or f"localhost:{port}" not in out, f"urls.sh printed {service}, which is not running"
