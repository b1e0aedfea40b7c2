"""Runs the real alloy/exporters.alloy (postgres_exporter and redis_exporter embedded in the pinned
Alloy) against a dedicated Postgres and a password-protected Redis, and proves:

- both components serve pg_up 1 / redis_up 1 on the paths prometheus/prometheus.yml scrapes,
  reading the passwords from secret files (the only harness change: file paths and addresses,
  through the environment variables the config reads);
- every pg_* / redis_* metric that a rule or dashboard query uses is one these exporters expose
  (metric names changed between exporter releases before; a rename must fail here, not leave
  an empty panel or a silent alert);
- pg_up turns 0 when Postgres stops, which is what PostgresDown fires on.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.app.infra import DedicatedPostgres
from tests.support import REPO
from tests.support.http import get_text
from tests.support.net import free_port, poll_until, port_open
from tests.support.procs import Proc
from tests.support.tools import require_tool

METRIC = re.compile(r"\b(?:pg|redis)_[a-z0-9_]+")
PASSWORD = "0123456789abcdef"  # hex, like scripts/secrets.sh


def _path(component: str) -> str:
    """The metrics path prometheus/prometheus.yml scrapes for a job (asserted, not assumed)."""
    jobs = {
        j["job_name"]: j for j in yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())["scrape_configs"]
    }
    path = jobs[component]["metrics_path"]
    assert path.endswith("/metrics") and "prometheus.exporter." in path
    return path


def used_metric_names() -> set[str]:
    """pg_*/redis_* names in every rule expression and dashboard query."""
    exprs: list[str] = []
    for f in (REPO / "prometheus/rules").glob("*.rules.yml"):
        for group in yaml.safe_load(f.read_text())["groups"]:
            exprs += [r["expr"] for r in group["rules"]]
    for f in (REPO / "grafana/dashboards").glob("*.json"):
        exprs += re.findall(r'"expr":\s*"((?:[^"\\]|\\.)*)"', f.read_text())
    return {m for e in exprs for m in METRIC.findall(e)}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("exporters")
    pg = DedicatedPostgres()
    pg.start()
    # The role `migrate` creates: statistics only.
    subprocess.run(
        ["/usr/lib/postgresql/15/bin/psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "app", "-d", "app", "-c",
         f"CREATE ROLE postgres_exporter LOGIN PASSWORD '{PASSWORD}' IN ROLE pg_monitor"],
        check=True, capture_output=True,
    )  # fmt: skip
    redis_port = free_port()
    (tmp / "redis.conf").write_text(f"requirepass {PASSWORD}\n")
    redis = Proc(
        ["redis-server", str(tmp / "redis.conf"), "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""],
        log=tmp / "redis.log",
    )
    poll_until("the dedicated Redis", lambda: redis.alive() and port_open(redis_port), 15)
    # A key, so the per-database gauges (redis_db_keys) exist as they do with the app running.
    subprocess.run(["redis-cli", "-p", str(redis_port), "-a", PASSWORD, "--no-auth-warning", "set", "k", "v"],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield {"tmp": tmp, "pg": pg, "redis_port": redis_port}
    finally:
        redis.stop()
        pg.remove()


@pytest.fixture(scope="module")
def exporters(stores):
    binary = require_tool("alloy")
    tmp = stores["tmp"]
    (tmp / "pg_pass").write_text(PASSWORD)
    (tmp / "redis_pass").write_text(PASSWORD)
    http = free_port()
    proc = Proc(
        [binary, "run", str(REPO / "alloy/exporters.alloy"), f"--storage.path={tmp / 'data'}",
         f"--server.http.listen-addr=127.0.0.1:{http}", "--disable-reporting"],
        env={
            "POSTGRES_EXPORTER_PASSWORD_FILE": str(tmp / "pg_pass"),
            "REDIS_PASSWORD_FILE": str(tmp / "redis_pass"),
            "POSTGRES_ADDR": f"127.0.0.1:{stores['pg'].port}",
            "REDIS_ADDR": f"127.0.0.1:{stores['redis_port']}",
        },
        log=tmp / "alloy.log",
    )  # fmt: skip
    base = f"http://127.0.0.1:{http}"
    try:
        poll_until("Alloy /-/ready", lambda: proc.alive() and get_text(f"{base}/-/ready"), 60)
        yield {"base": base, "proc": proc}
    finally:
        proc.stop()


def scrape(exporters, job: str) -> str:
    return get_text(exporters["base"] + _path(job)) or ""


def test_exporters_report_both_stores_up_with_passwords_from_files(exporters):
    poll_until("pg_up 1", lambda: "\npg_up 1" in scrape(exporters, "postgres"), 30)
    poll_until("redis_up 1", lambda: "\nredis_up 1" in scrape(exporters, "redis"), 30)
    assert PASSWORD not in (exporters["proc"].output() + (get_text(exporters["base"] + "/api/v0/web/components") or ""))


def test_every_pg_and_redis_metric_the_rules_and_dashboards_query_is_exposed(exporters):
    exposed = set(METRIC.findall(scrape(exporters, "postgres") + scrape(exporters, "redis")))
    used = used_metric_names()
    assert {"pg_up", "redis_up"} <= used
    missing = sorted(used - exposed)
    assert not missing, f"queried but not exposed by the exporters in Alloy: {missing}"


def _drop_rules(job: str) -> list[re.Pattern[str]]:
    jobs = {
        j["job_name"]: j for j in yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())["scrape_configs"]
    }
    rules = jobs[job].get("metric_relabel_configs") or []
    assert all(r["action"] == "drop" and r["source_labels"] == ["__name__"] for r in rules)
    return [re.compile(r["regex"]) for r in rules]  # Prometheus anchors the regex: fullmatch below


def test_dropped_series_are_ones_no_rule_or_dashboard_reads(exporters):
    used = used_metric_names()
    for job in ("postgres", "redis"):
        rules = _drop_rules(job)
        exposed = set(re.findall(r"^([a-z_0-9]+)", scrape(exporters, job), re.M))
        dropped = {n for n in exposed if any(r.fullmatch(n) for r in rules)}
        assert dropped, f"{job}: the drop rules match nothing the exporter exposes"
        assert not {n for n in used if any(r.fullmatch(n) for r in rules)}, f"{job}: a used metric is dropped"
    assert "pg_settings_max_connections" in used and not any(
        r.fullmatch("pg_settings_max_connections") for r in _drop_rules("postgres")
    )


# Last: it stops the dedicated Postgres.
def test_pg_up_turns_0_when_postgres_stops(exporters, stores):
    poll_until("pg_up 1", lambda: "\npg_up 1" in scrape(exporters, "postgres"), 30)
    stores["pg"].stop()
    poll_until("pg_up 0", lambda: "\npg_up 0" in scrape(exporters, "postgres"), 30)
