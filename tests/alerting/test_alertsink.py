"""alertsink/alertsink.py as a real process over HTTP: API, validation, bounded memory."""

from __future__ import annotations

import json
from http.client import HTTPConnection

import pytest

from tests.support.http import exchange
from tests.support.procs import start_sink


def notification(name: str, status: str = "firing", receiver: str = "chat") -> dict:
    return {
        "version": "4",
        "receiver": receiver,
        "status": status,
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name},
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "severity": "warning"},
                "annotations": {"summary": f"{name} summary"},
                "startsAt": "2026-11-26T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "abc",
            }
        ],
    }


@pytest.fixture
def sink(tmp_path):
    proc, url = start_sink(tmp_path, MAX_NOTIFICATIONS="3")
    yield proc, url
    proc.stop()


def test_store_filter_and_log(sink):
    proc, url = sink
    assert exchange("POST", url + "/webhook", notification("A"))[0] == 200
    assert exchange("POST", url + "/webhook", notification("B", receiver="pager"))[0] == 200
    assert exchange("POST", url + "/webhook", notification("A", status="resolved"))[0] == 200

    code, items = exchange("GET", url + "/alerts")
    assert code == 200
    assert [n["alerts"][0]["labels"]["alertname"] for n in items] == ["A", "B", "A"]
    assert all(isinstance(n["received_at"], float) and n["received_at_iso"].endswith("Z") for n in items)
    assert len(exchange("GET", url + "/alerts?alertname=A")[1]) == 2
    assert len(exchange("GET", url + "/alerts?alertname=A&status=resolved")[1]) == 1
    assert [n["receiver"] for n in exchange("GET", url + "/alerts?receiver=pager")[1]] == ["pager"]
    assert exchange("GET", url + "/healthz") == (200, {"status": "ok", "notifications": 3})

    proc.stop()  # flush and close the log, then read it: one JSON line per alert
    lines = [json.loads(line) for line in proc.output().splitlines()]
    alerts = [line for line in lines if line["event"] == "alert"]
    assert [(a["alertname"], a["status"], a["receiver"]) for a in alerts] == [
        ("A", "firing", "chat"),
        ("B", "firing", "pager"),
        ("A", "resolved", "chat"),
    ]


def test_memory_is_bounded(sink):
    _, url = sink
    for i in range(5):
        assert exchange("POST", url + "/webhook", notification(f"N{i}"))[0] == 200
    names = [n["alerts"][0]["labels"]["alertname"] for n in exchange("GET", url + "/alerts")[1]]
    assert names == ["N2", "N3", "N4"]
    assert exchange("DELETE", url + "/alerts")[0] == 200
    assert exchange("GET", url + "/alerts") == (200, [])


def test_rejects_bad_requests(sink):
    _, url = sink
    assert exchange("POST", url + "/webhook", {"no": "alerts"})[0] == 400
    assert exchange("POST", url + "/webhook", {"alerts": ["not an object"]})[0] == 400
    assert exchange("POST", url + "/webhook", [1, 2])[0] == 400
    assert exchange("POST", url + "/elsewhere", notification("A"))[0] == 404
    assert exchange("GET", url + "/nothing")[0] == 404
    # Refused from the header alone, before any of the body is read.
    conn = HTTPConnection(url.removeprefix("http://"), timeout=5)
    conn.putrequest("POST", "/webhook")
    conn.putheader("Content-Length", str(2 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    assert exchange("GET", url + "/alerts") == (200, [])


def get_page(url: str) -> tuple[int, dict[str, str], str]:
    conn = HTTPConnection(url.removeprefix("http://").split("/")[0], timeout=5)
    conn.request("GET", "/" + url.removeprefix("http://").partition("/")[2])
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def with_links(n: dict, runbook: str, source: str) -> dict:
    n["alerts"][0]["annotations"]["runbook_url"] = runbook
    n["alerts"][0]["generatorURL"] = source
    return n


def test_html_view_lists_each_alert_newest_first_with_its_links(sink):
    _, url = sink
    assert get_page(url + "/")[2].count("No alerts received yet.") == 1
    first = with_links(
        notification("HighErrorRate"), "http://localhost:8000/runbook", "http://localhost:9090/g?x=1&y=2"
    )
    assert exchange("POST", url + "/webhook", first)[0] == 200
    assert (
        exchange("POST", url + "/webhook", notification("HighErrorRate", status="resolved", receiver="pager"))[0] == 200
    )

    status, headers, page = get_page(url + "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none': no script runs
    assert '<meta http-equiv="refresh" content="10">' in page
    rows = page.split("<tbody>")[1].split("</tbody>")[0].strip().splitlines()
    assert len(rows) == 2
    assert 'class="resolved"' in rows[0] and "pager" in rows[0]  # newest first
    assert 'class="firing"' in rows[1] and ">HighErrorRate<" in rows[1] and ">warning<" in rows[1]
    assert "HighErrorRate summary" in rows[1]
    assert '<a href="http://localhost:8000/runbook" rel="noopener noreferrer">runbook</a>' in rows[1]
    assert 'href="http://localhost:9090/g?x=1&amp;y=2"' in rows[1]
    # The same filters as the JSON API.
    assert get_page(url + "/?receiver=pager")[2].count("<tr class=") == 1


def test_html_view_escapes_hostile_labels_and_links(sink):
    _, url = sink
    evil = notification('<script>alert("x")</script>')
    evil["receiver"] = "<b>r</b>"
    evil["alerts"][0]["labels"]["severity"] = '"><img src=x onerror=alert(1)>'
    evil["alerts"][0]["annotations"]["summary"] = "</td></tr></table><iframe src=//evil>"
    with_links(evil, "javascript:alert(1)", 'http://localhost:9090/"onmouseover="alert(1)')
    assert exchange("POST", url + "/webhook", evil)[0] == 200

    page = get_page(url + "/")[2]
    for raw in ("<script>", "<img", "<iframe", "<b>r", "javascript:"):
        assert raw not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'href="http://localhost:9090/&quot;onmouseover=&quot;alert(1)"' in page
    assert page.count("<tr class=") == 1  # the summary did not close the table early
