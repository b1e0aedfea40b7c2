"""Static checks of the backend configs, for what their validators cannot see (cross-file names)
and for the known upgrade traps of the pinned versions (Loki 3, Tempo 3), since Loki, Tempo and
Promtail have no native validator on this machine."""

from __future__ import annotations

import re

from configfiles import load_yaml

from tests.support import REPO
from tests.support.compose import FILES

PROM = REPO / "prometheus" / "prometheus.yml"
LOKI = REPO / "loki" / "loki.yml"
TEMPO = REPO / "tempo" / "tempo.yml"
PROMTAIL = REPO / "promtail" / "promtail.yml"
ALLOY = REPO / "alloy" / "config.alloy"


def compose_services() -> set[str]:
    names = set()
    for f in FILES:
        names |= set(load_yaml(REPO / f)["services"])
    return names


def test_prometheus_scrapes_the_app_in_openmetrics_and_every_component():
    cfg = load_yaml(PROM)
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert set(jobs) >= {
        "fastapi-app",
        "prometheus",
        "alertmanager",
        "loki",
        "tempo",
        "alloy",
        "grafana",
        "postgres",
        "redis",
        "promtail",
    }
    assert jobs["fastapi-app"]["scrape_protocols"][0] == "OpenMetricsText1.0.0", "exemplars need OpenMetrics"
    services = compose_services()
    for job in jobs.values():
        for sc in job.get("static_configs", []):
            for target in sc["targets"]:
                host = target.split(":")[0]
                assert host == "localhost" or host in services, f"{job['job_name']}: {host} is no compose service"
    assert cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert cfg["rule_files"] == ["rules/*.rules.yml"]


def test_loki3_single_binary_with_retention():
    text = LOKI.read_text()
    cfg = load_yaml(LOKI)
    assert "shared_store" not in re.sub(r"#.*", "", text), "shared_store was removed in Loki 3.0"
    [schema] = cfg["schema_config"]["configs"]
    assert (schema["store"], schema["schema"]) == ("tsdb", "v13"), "structured metadata needs tsdb + v13"
    comp = cfg["compactor"]
    assert comp["retention_enabled"] is True and comp["delete_request_store"] == "filesystem"
    assert cfg["limits_config"]["retention_period"]
    assert cfg["limits_config"].get("allow_structured_metadata", True) is True
    assert cfg["common"]["replication_factor"] == 1 and cfg["common"]["ring"]["kvstore"]["store"] == "inmemory"
    assert "query_timeout" not in cfg.get("querier", {}), "querier.query_timeout moved to limits_config"


def test_tempo3_has_no_removed_blocks():
    cfg = load_yaml(TEMPO)
    removed = {"ingester", "compactor", "ingester_client", "metrics_generator_client"}
    assert not removed & set(cfg), f"blocks removed in Tempo 3: {sorted(removed & set(cfg))}"
    protocols = cfg["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317" and protocols["http"]["endpoint"] == "0.0.0.0:4318"
    gen = cfg["metrics_generator"]
    assert gen["storage"]["remote_write"][0]["url"] == "http://prometheus:9090/api/v1/write"
    processors = cfg["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert set(processors) == {"service-graphs", "span-metrics"}, "local-blocks is gone in Tempo 3"
    assert cfg["backend_worker"]["compaction"]["block_retention"]
    assert cfg["storage"]["trace"]["backend"] == "local"


def test_promtail_does_the_same_job_as_alloy():
    alloy = ALLOY.read_text()
    [job] = load_yaml(PROMTAIL)["scrape_configs"]
    labels = job["static_configs"][0]["labels"]
    assert labels["__path__"] == "/var/log/app/*.log"
    assert '"/var/log/app/*.log"' in alloy
    for key in ("job", "service_name"):
        assert f'"{key}" = "{labels[key]}"' in re.sub(r" +", " ", alloy), f"label {key} differs from Alloy"
    stages = {k: v for s in job["pipeline_stages"] for k, v in s.items()}
    assert set(stages["labels"]) == {"level"}
    assert set(stages["structured_metadata"]) == {"trace_id", "span_id", "request_id"}
    block = re.search(r"stage\.structured_metadata \{(.*?)\n\s*\}", alloy, re.S).group(1)
    assert set(re.findall(r"(\w+)\s*=", block)) - {"values"} == {"trace_id", "span_id", "request_id"}
    assert stages["timestamp"] == {"source": "timestamp", "format": "RFC3339Nano"}


def test_alloy_tail_sampling_policies():
    alloy = ALLOY.read_text()
    assert alloy.count('otelcol.processor.tail_sampling "') == 1, "sampling values belong in one place"
    assert re.search(r'key\s*=\s*"sampling\.kept_by_app"\s*\n\s*value\s*=\s*true', alloy)
    assert re.search(r'status_codes\s*=\s*\["ERROR"\]', alloy)
    assert re.search(r"threshold_ms\s*=\s*1000\b", alloy)
    assert re.search(r"sampling_percentage\s*=\s*5\b", alloy)
    assert re.search(r'otelcol\.exporter\.otlp "tempo"', alloy) and "tempo:4317" in alloy
    for endpoint in ('"0.0.0.0:4317"', '"0.0.0.0:4318"'):
        assert endpoint in alloy
