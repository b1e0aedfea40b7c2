"""Links in notifications open from a browser on the host: Prometheus and Alertmanager run with
the external URLs the compose file gives them (localhost, the published ports), so an alert's
generatorURL and Alertmanager's externalURL are not container names. Real Prometheus, real
Alertmanager, real sink; the flags are read from docker-compose.monitoring.yml, not repeated."""

from __future__ import annotations

import yaml

from tests.support import REPO
from tests.support.http import exchange
from tests.support.net import free_port, poll_until
from tests.support.procs import Proc, start_sink
from tests.support.tools import require_tool

COMPOSE = REPO / "docker-compose.monitoring.yml"


def external_url(service: str) -> str:
    command = yaml.safe_load(COMPOSE.read_text())["services"][service]["command"]
    flags = [c.split("=", 1)[1] for c in command if c.startswith("--web.external-url=")]
    assert flags, f"{service} has no --web.external-url in {COMPOSE.name}"
    return flags[0]


def test_compose_gives_host_reachable_external_urls():
    assert external_url("prometheus") == "http://localhost:9090"
    assert external_url("alertmanager") == "http://localhost:9093"


def test_alert_links_in_the_sink_point_at_localhost(tmp_path):
    prometheus, alertmanager = require_tool("prometheus"), require_tool("alertmanager")
    sink, sink_url = start_sink(tmp_path)
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "am.yml").write_text(
        yaml.safe_dump(
            {
                "route": {"receiver": "sink", "group_wait": "1s", "group_interval": "1s"},
                "receivers": [{"name": "sink", "webhook_configs": [{"url": sink_url + "/webhook"}]}],
            }
        )
    )
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "t",
                        "interval": "1s",
                        "rules": [
                            {
                                "alert": "LinkCheck",
                                "expr": "vector(1)",
                                "labels": {"severity": "info"},
                                "annotations": {"summary": "fires at once"},
                            }
                        ],
                    }
                ]
            }
        )
    )
    (tmp_path / "prometheus.yml").write_text(
        yaml.safe_dump(
            {
                "global": {"evaluation_interval": "1s"},
                "rule_files": [str(tmp_path / "rules.yml")],
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            }
        )
    )
    am = Proc(
        [
            alertmanager,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            f"--web.external-url={external_url('alertmanager')}",
            "--cluster.listen-address=",
        ],
        log=tmp_path / "alertmanager.log",
    )
    prom = Proc(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            f"--web.external-url={external_url('prometheus')}",
        ],
        log=tmp_path / "prometheus.log",
    )
    try:

        def delivered():
            return [n for n in exchange("GET", sink_url + "/alerts?alertname=LinkCheck")[1] if n["alerts"]]

        notification = poll_until("LinkCheck in the sink", lambda: prom.alive() and delivered(), 60)[0]
        alert = notification["alerts"][0]
        assert alert["generatorURL"].startswith("http://localhost:9090/"), alert["generatorURL"]
        assert notification["externalURL"] == "http://localhost:9093"
        page = exchange("GET", sink_url + "/")[1]
        assert 'href="http://localhost:9090/' in page
    finally:
        prom.stop()
        am.stop()
        sink.stop()
