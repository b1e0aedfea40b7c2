"""deploy/kubernetes, offline: schemas, CRDs, generated files, and parity with the compose stack.

    kustomize dirs ──render──> objects ──> Kubernetes 1.35 + 1.37 schemas (strict), CRD schemas
    generate.py --check ──> PrometheusRule / Grafana ConfigMaps equal their compose-side sources
    PrometheusRule groups ──> promtool check rules
    helm/*.values.yaml  <──same settings──> docker-compose.monitoring.yml, prometheus/, loki/,
                                              tempo/, alloy/, alertmanager/, grafana/

Run by `make k8s-check`. Native tools (promtool, alloy, amtool, kubectl) come from
tools/which.sh or PATH; missing ones skip locally and fail under CI=true.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
HELM = K8S / "helm"
KUSTOMIZATIONS = [K8S / "base", K8S / "overlays" / "production", K8S / "monitoring"]
STANDALONE = [K8S / "migrate" / "job.yaml"]  # created per release, not part of a kustomization


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


manifests = _module("k8s_manifests", K8S / "manifests.py")
generate = _module("k8s_generate", K8S / "generate.py")


# --- helpers ---------------------------------------------------------------------------------
def tool(name: str) -> str:
    out = subprocess.run([str(REPO / "tools" / "which.sh"), name], capture_output=True, text=True)
    path = out.stdout.strip() if out.returncode == 0 else shutil.which(name)
    if path:
        return path
    reason = f"{name} not found (tools/which.sh {name}, PATH)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"required tool missing on CI: {reason}")
    pytest.skip(reason)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def values(name: str) -> dict[str, Any]:
    return load_yaml(HELM / f"{name}.values.yaml")


@cache
def env_versions() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (REPO / ".env").read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


@cache
def compose_monitoring() -> dict[str, Any]:
    return load_yaml(REPO / "docker-compose.monitoring.yml")


def compose_flag(service: str, flag: str) -> str | bool | None:
    """Value of --flag=value (or True for a bare --flag) in a compose service's command."""
    for arg in compose_monitoring()["services"][service]["command"]:
        if arg == flag:
            return True
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


@cache
def all_objects() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(where, object) for every object of every kustomization (fallback loader) + standalone files."""
    out = []
    for directory in KUSTOMIZATIONS:
        out += [(directory.relative_to(K8S).as_posix(), obj) for obj in manifests.load(directory)]
    for path in STANDALONE:
        out += [(path.relative_to(K8S).as_posix(), obj) for obj in manifests.load_yaml_documents(path)]
    return tuple(out)


def objects_of(kind: str, where: str = "base") -> list[dict[str, Any]]:
    return [o for w, o in all_objects() if o["kind"] == kind and w == where]


def one(kind: str, where: str = "base") -> dict[str, Any]:
    (obj,) = objects_of(kind, where)
    return obj


def ident(where: str, obj: dict[str, Any]) -> str:
    return f"{where}:{obj['kind']}/{obj['metadata'].get('name') or obj['metadata'].get('generateName')}"


def alloy_block(text: str, header: str) -> str:
    """The text of one top-level Alloy block, from its header line to its closing brace."""
    start = text.index(header)
    end = text.index("\n}\n", start)
    return text[start : end + 2]


# --- generated files -------------------------------------------------------------------------
def test_generated_files_match_their_compose_side_sources():
    assert generate.main(["--check"]) == 0, "run: python3 deploy/kubernetes/generate.py"


def test_prometheusrule_carries_every_rule_group_unchanged():
    groups = [
        g for path in sorted((REPO / "prometheus" / "rules").glob("*.rules.yml")) for g in load_yaml(path)["groups"]
    ]
    rule = one("PrometheusRule")
    assert rule["spec"]["groups"] == groups
    assert len(groups) >= 8


def test_dashboard_configmaps_hold_every_dashboard_byte_for_byte():
    cms = {cm["metadata"]["name"]: cm for cm in objects_of("ConfigMap", "monitoring")}
    files = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
    assert files
    for path in files:
        cm = cms[f"grafana-dashboard-{path.stem}"]
        assert cm["data"] == {path.name: path.read_text()}
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert len(json.dumps(cm)) < 1024 * 1024  # ConfigMap size limit


def test_datasource_configmap_keeps_uids_and_settings_and_changes_only_urls():
    compose = load_yaml(REPO / "grafana" / "provisioning" / "datasources" / "datasources.yml")
    cm = next(
        c for c in objects_of("ConfigMap", "monitoring") if c["metadata"].get("labels", {}).get("grafana_datasource")
    )
    (text,) = cm["data"].values()
    k8s = yaml.safe_load(text)
    assert [d["uid"] for d in k8s["datasources"]] == [d["uid"] for d in compose["datasources"]]
    for ours, theirs in zip(k8s["datasources"], compose["datasources"], strict=True):
        assert {k: v for k, v in ours.items() if k != "url"} == {k: v for k, v in theirs.items() if k != "url"}
        assert ours["url"].startswith("http://") and ".monitoring.svc.cluster.local" in ours["url"]


def test_generator_refuses_duplicate_rule_group_names(tmp_path):
    rule = {"groups": [{"name": "same", "rules": [{"record": "a:b", "expr": "1"}]}]}
    (tmp_path / "a.rules.yml").write_text(yaml.safe_dump(rule))
    (tmp_path / "b.rules.yml").write_text(yaml.safe_dump(rule))
    with pytest.raises(SystemExit, match="same"):
        generate.load_groups(tmp_path)


# --- kustomize -------------------------------------------------------------------------------
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: d.relative_to(K8S).as_posix())
def test_every_file_a_kustomization_lists_exists(directory):
    kz = manifests.kustomization(directory)
    for path in manifests.listed_files(directory):
        assert path.exists(), f"{directory}/kustomization.yaml lists missing {path}"
    for generator in kz.get("configMapGenerator", []):
        for f in generator["files"]:
            assert (directory / f).exists()


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: d.relative_to(K8S).as_posix())
def test_kustomize_renders_what_the_fallback_loader_checks(directory):
    if manifests.kustomize_command() is None:
        tool("go")  # skip locally / fail on CI with the usual message
    rendered = manifests.render(directory)

    def key(o):
        return (o["kind"], o["metadata"]["name"])

    assert sorted(map(key, rendered)) == sorted(map(key, manifests.load(directory)))
    by_key = {key(o): o for o in rendered}
    for obj in manifests.load(directory):
        assert obj == by_key[key(obj)], f"{key(obj)} differs between kustomize and the fallback loader"


# --- schemas ---------------------------------------------------------------------------------
BUILTIN = [(w, o) for w, o in all_objects() if not manifests.is_crd_object(o)]
CRD = [(w, o) for w, o in all_objects() if manifests.is_crd_object(o)]


@pytest.mark.parametrize("version", manifests.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("where,obj", BUILTIN, ids=[ident(w, o) for w, o in BUILTIN])
def test_builtin_objects_are_valid_for_the_pinned_kubernetes_versions(where, obj, version):
    manifests.validate_builtin(obj, version)


@pytest.mark.parametrize("where,obj", CRD, ids=[ident(w, o) for w, o in CRD])
def test_operator_objects_are_valid_against_their_crd_schemas(where, obj):
    assert manifests.crd_errors(obj) == []


def test_schema_checks_reject_a_misspelt_field():
    deployment = copy.deepcopy(one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(Exception, match="readinesProbe"):
        manifests.validate_builtin(deployment, manifests.KUBERNETES_VERSIONS[0])
    monitor = copy.deepcopy(one("PodMonitor"))
    monitor["spec"]["podMetricsEndpoints"][0]["honorLabel"] = False
    assert any("honorLabel" in e for e in manifests.crd_errors(monitor))
    rule = copy.deepcopy(one("PrometheusRule"))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "one minute"
    assert manifests.crd_errors(rule)


# --- the app's pods --------------------------------------------------------------------------
POD_SPECS = [("Deployment", "base"), ("Job", "migrate/job.yaml")]


@pytest.mark.parametrize("kind,where", POD_SPECS)
def test_app_pods_meet_the_restricted_pod_security_standard(kind, where):
    pod = one(kind, where)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's app user
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    writable = {m["mountPath"] for c in pod["containers"] for m in c.get("volumeMounts", [])}
    empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert {m["name"] for m in c["volumeMounts"]} <= empty_dirs
        assert c["resources"]["requests"] and c["resources"]["limits"]
    assert "/tmp" in writable


def test_app_log_directory_is_writable_and_bounded():
    pod = one("Deployment")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts["/var/log/app"])
    assert volume["emptyDir"]["sizeLimit"]


def test_probes_use_the_health_endpoints_on_the_named_http_port():
    deployment = one("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    # the app's own /health/ready waits up to HEALTH_CHECK_TIMEOUT_SECONDS per dependency
    config = one("ConfigMap")["data"]
    assert container["readinessProbe"]["timeoutSeconds"] > float(config["HEALTH_CHECK_TIMEOUT_SECONDS"])
    service = one("Service")
    assert service["spec"]["ports"][0]["name"] == "http" and service["spec"]["ports"][0]["targetPort"] == "http"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (service["spec"]["selector"], one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()


def test_autoscaler_leaves_replicas_to_itself_and_fits_the_database():
    deployment, hpa = one("Deployment"), one("HorizontalPodAutoscaler")
    assert "replicas" not in deployment["spec"]  # an apply would otherwise reset the HPA's count
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2  # a PDB with maxUnavailable 1 then always leaves one pod
    config = one("ConfigMap")["data"]
    per_pod = int(config["DB_POOL_SIZE"]) + int(config["DB_MAX_OVERFLOW"])
    compose_pg = load_yaml(REPO / "docker-compose.yml")["services"]["postgres"]["command"]
    max_connections = int(next(a for a in compose_pg if a.startswith("max_connections=")).split("=")[1])
    assert hpa["spec"]["maxReplicas"] * per_pod < max_connections


def test_configmap_sets_only_variables_the_app_reads():
    from app.config import Settings

    known = set(Settings.model_fields) | {"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_PROTOCOL"}
    assert set(one("ConfigMap")["data"]) <= known
    env = one("Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    from_secret = {e["name"] for e in env if "secretKeyRef" in e.get("valueFrom", {})}
    assert from_secret <= set(Settings.model_fields)
    assert {"DATABASE_URL", "ADMIN_TOKEN", "SENTRY_DSN"} <= from_secret


SECRETISH = re.compile(r"(password|passwd|secret|token|api_?key|routing_key|webhook_url|dsn)", re.I)


def _secret_literals(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f"{path}.{k}"
            if isinstance(v, str) and SECRETISH.search(str(k)) and not str(k).endswith(("_file", "Key", "Secret")):
                found.append(sub)
            found += _secret_literals(v, sub)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _secret_literals(v, f"{path}[{i}]")
    return found


def test_no_secret_value_is_committed():
    assert not [ident(w, o) for w, o in all_objects() if o["kind"] == "Secret"]
    for w, o in all_objects():
        if o["kind"] == "ConfigMap":
            assert not [k for k in o.get("data", {}) if SECRETISH.search(k)], ident(w, o)
    for path in sorted(HELM.glob("*.values.yaml")):
        assert _secret_literals(load_yaml(path)) == [], path.name


# --- Prometheus: scrape and rules ------------------------------------------------------------
def test_podmonitor_scrapes_each_pod_like_the_compose_job():
    job = next(
        j for j in load_yaml(REPO / "prometheus" / "prometheus.yml")["scrape_configs"] if j["job_name"] == "fastapi-app"
    )
    monitor = one("PodMonitor")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == job["metrics_path"]
    assert endpoint["honorLabels"] is False
    assert monitor["spec"]["scrapeProtocols"] == job["scrape_protocols"]
    assert monitor["spec"]["fallbackScrapeProtocol"] == job["fallback_scrape_protocol"]
    pod_labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pod_labels[monitor["spec"]["jobLabel"]] == job["job_name"]  # job="fastapi-app" as in compose
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert endpoint["port"] == "http"


def test_kube_prometheus_stack_selects_our_monitor_and_rule():
    spec = values("kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    for obj, selector in ((one("PodMonitor"), "podMonitorSelector"), (one("PrometheusRule"), "ruleSelector")):
        assert spec[f"{selector}NilUsesHelmValues"] is False
        assert spec[selector]["matchLabels"].items() <= obj["metadata"]["labels"].items()
    assert spec["ruleNamespaceSelector"] == {} and spec["podMonitorNamespaceSelector"] == {}
    selector = spec["serviceMonitorSelector"]["matchLabels"]
    assert values("kube-prometheus-stack")["commonLabels"].items() >= selector.items()
    for name, path in (
        ("loki", ("monitoring", "serviceMonitor", "labels")),
        ("tempo-distributed", ("metaMonitoring", "serviceMonitor", "labels")),
        ("grafana", ("serviceMonitor", "labels")),
        ("alloy", ("serviceMonitor", "additionalLabels")),
    ):
        node: Any = values(name)
        for part in path:
            node = node[part]
        assert node.items() >= selector.items(), name


def test_generated_rule_groups_pass_promtool(tmp_path):
    promtool = tool("promtool")
    rules = tmp_path / "prometheusrule.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": one("PrometheusRule")["spec"]["groups"]}))
    out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


# --- Helm values carry the compose settings --------------------------------------------------
def test_prometheus_values_match_the_compose_flags():
    spec = values("kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    assert spec["retention"] == compose_flag("prometheus", "--storage.tsdb.retention.time")
    assert spec["retentionSize"] == compose_flag("prometheus", "--storage.tsdb.retention.size")
    features = compose_flag("prometheus", "--enable-feature")
    assert isinstance(features, str) and set(features.split(",")) == set(spec["enableFeatures"])
    assert "exemplar-storage" in spec["enableFeatures"]
    assert spec["enableRemoteWriteReceiver"] is (
        compose_flag("prometheus", "--web.enable-remote-write-receiver") is True
    )
    glob = load_yaml(REPO / "prometheus" / "prometheus.yml")["global"]
    assert spec["scrapeInterval"] == glob["scrape_interval"]
    assert spec["evaluationInterval"] == glob["evaluation_interval"]
    assert spec["image"]["tag"] == env_versions()["PROMETHEUS_VERSION"]


def test_alertmanager_values_route_like_alertmanager_yml():
    compose = load_yaml(REPO / "alertmanager" / "alertmanager.yml")
    am = values("kube-prometheus-stack")["alertmanager"]
    ours = copy.deepcopy(am["config"])
    # the only addition: the chart's always-firing Watchdog/InfoInhibitor go to "null"
    first = ours["route"]["routes"].pop(0)
    assert first["receiver"] == "null" and "Watchdog" in first["matchers"][0]
    assert ours["route"] == compose["route"]
    assert ours["inhibit_rules"] == compose["inhibit_rules"]
    assert {r["name"] for r in ours["receivers"]} == {r["name"] for r in compose["receivers"]} | {"null"}
    assert am["alertmanagerSpec"]["retention"] == compose_flag("alertmanager", "--data.retention")
    assert am["alertmanagerSpec"]["image"]["tag"] == env_versions()["ALERTMANAGER_VERSION"]


def test_alertmanager_values_config_passes_amtool(tmp_path):
    amtool = tool("amtool")
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(values("kube-prometheus-stack")["alertmanager"]["config"]))
    out = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_loki_values_match_loki_yml():
    compose = load_yaml(REPO / "loki" / "loki.yml")
    loki = values("loki")["loki"]
    assert loki["limits_config"] == compose["limits_config"]  # retention, structured metadata, limits
    assert loki["limits_config"]["allow_structured_metadata"] is True
    (ours,) = loki["schemaConfig"]["configs"]
    (theirs,) = compose["schema_config"]["configs"]
    assert (ours["store"], ours["schema"], ours["index"]) == ("tsdb", "v13", theirs["index"])
    assert str(ours["from"]) == str(theirs["from"])
    for key in ("compaction_interval", "retention_enabled", "retention_delete_delay"):
        assert loki["compactor"][key] == compose["compactor"][key]
    assert loki["compactor"]["delete_request_store"] == ours["object_store"]  # same store as the chunks
    assert loki["auth_enabled"] == compose["auth_enabled"]
    assert loki["pattern_ingester"]["enabled"] is compose["pattern_ingester"]["enabled"]
    assert loki["image"]["tag"] == env_versions()["LOKI_VERSION"]


def test_tempo_values_match_tempo_yml():
    compose = load_yaml(REPO / "tempo" / "tempo.yml")
    tempo = values("tempo-distributed")
    generator = tempo["metricsGenerator"]["config"]
    assert tempo["metricsGenerator"]["enabled"] is True
    assert generator["processor"] == compose["metrics_generator"]["processor"]
    assert generator["registry"]["external_labels"] == compose["metrics_generator"]["registry"]["external_labels"]
    (ours,) = generator["storage"]["remote_write"]
    (theirs,) = compose["metrics_generator"]["storage"]["remote_write"]
    assert ours["send_exemplars"] is theirs["send_exemplars"] is True
    assert ours["url"].endswith("/api/v1/write")
    assert tempo["overrides"]["defaults"] == compose["overrides"]["defaults"]
    retention = tempo["backendScheduler"]["config"]["provider"]["compaction"]["compaction"]["block_retention"]
    assert retention == compose["backend_worker"]["compaction"]["block_retention"]
    assert tempo["streamOverHTTPEnabled"] is compose["stream_over_http_enabled"]
    assert tempo["tempo"]["image"]["tag"] == env_versions()["TEMPO_VERSION"]


ALLOY_COMPOSE = REPO / "alloy" / "config.alloy"
ALLOY_K8S = K8S / "monitoring" / "config.alloy"


def test_alloy_tail_sampling_policy_is_identical():
    header = 'otelcol.processor.tail_sampling "default" {'
    k8s = alloy_block(ALLOY_K8S.read_text(), header)
    assert k8s == alloy_block(ALLOY_COMPOSE.read_text(), header)
    assert "sampling_percentage = 5" in k8s


def test_alloy_parses_app_logs_like_compose():
    def stages(text: str) -> list[str]:
        block = alloy_block(text, 'loki.process "app_json" {')
        return [
            alloy_block(block.replace("\n\t", "\n"), f"{s} {{")
            for s in re.findall(r"^\t(stage\.(?:json|labels|structured_metadata|timestamp)) \{", block, re.M)
        ]

    ours, theirs = stages(ALLOY_K8S.read_text()), stages(ALLOY_COMPOSE.read_text())
    assert len(theirs) == 4 and ours == theirs


def test_alloy_batches_logs_and_spans_like_compose():
    """The send timers cut Alloy's idle wake-ups (alloy/config.alloy says by how much): both
    pipelines use the same values."""
    compose, k8s = ALLOY_COMPOSE.read_text(), ALLOY_K8S.read_text()
    batch = 'otelcol.processor.batch "default" {'
    assert alloy_block(k8s, batch) == alloy_block(compose, batch)

    def batch_wait(text: str) -> list[str]:
        return re.findall(r'^\t\tbatch_wait\s*=\s*"([^"]+)"', alloy_block(text, 'loki.write "default" {'), re.M)

    assert batch_wait(k8s) == batch_wait(compose) == ["5s"]


def test_alloy_values_mount_the_pipeline_and_open_its_ports():
    alloy = values("alloy")
    kz = manifests.kustomization(K8S / "monitoring")
    (generator,) = kz["configMapGenerator"]
    assert alloy["alloy"]["configMap"] == {"create": False, "name": generator["name"], "key": ALLOY_K8S.name}
    assert alloy["alloy"]["clustering"]["enabled"] is True
    ports = {p["port"] for p in alloy["alloy"]["extraPorts"]}
    endpoints = {int(p) for p in re.findall(r'endpoint = "0\.0\.0\.0:(\d+)"', ALLOY_K8S.read_text())}
    assert endpoints == ports == {4317, 4318, 4319}
    assert alloy["image"]["tag"] == env_versions()["ALLOY_VERSION"]
    app_endpoint = one("ConfigMap")["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert app_endpoint == "http://alloy.monitoring.svc.cluster.local:4317"


def test_alloy_kubernetes_pipeline_validates():
    alloy = tool("alloy")
    for args in (["validate"], ["fmt", "--test"]):
        out = subprocess.run([alloy, *args, str(ALLOY_K8S)], capture_output=True, text=True)
        assert out.returncode == 0, f"alloy {' '.join(args)}: {out.stdout}{out.stderr}"


def test_grafana_values_load_the_generated_configmaps():
    grafana = values("grafana")
    sidecar = grafana["sidecar"]
    cms = objects_of("ConfigMap", "monitoring")
    dashboards = [c for c in cms if sidecar["dashboards"]["label"] in c["metadata"].get("labels", {})]
    datasources = [c for c in cms if sidecar["datasources"]["label"] in c["metadata"].get("labels", {})]
    assert sidecar["dashboards"]["enabled"] and sidecar["datasources"]["enabled"]
    assert len(dashboards) == len(list((REPO / "grafana" / "dashboards").glob("*.json"))) and len(datasources) == 1
    folder = {c["metadata"]["annotations"][sidecar["dashboards"]["folderAnnotation"]] for c in dashboards}
    provider = load_yaml(REPO / "grafana" / "provisioning" / "dashboards" / "dashboards.yml")["providers"][0]
    assert folder == {provider["folder"]}
    home = grafana["grafana.ini"]["dashboards"]["default_home_dashboard_path"]
    compose_home = compose_monitoring()["services"]["grafana"]["environment"][
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"
    ]
    assert home.endswith(f"/{provider['folder']}/{Path(compose_home).name}")
    assert grafana["grafana.ini"]["auth.anonymous"]["org_role"] == "Viewer"
    assert grafana["image"]["tag"] == env_versions()["GRAFANA_VERSION"]


# --- provenance of the CRD schemas -----------------------------------------------------------
OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator@v0.93.1"
CRD_SOURCE = "prometheus-operator v0.93.1 example/prometheus-operator-crd (the CRDs of kube-prometheus-stack 88.5.3)"


def test_crd_schemas_are_those_of_the_pinned_prometheus_operator():
    """Re-derive schemas/*.json from the operator's Go module (Go module proxy, then cached)."""
    go = tool("go")
    out = subprocess.run([go, "mod", "download", "-json", OPERATOR_MODULE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"go mod download {OPERATOR_MODULE} failed: {out.stdout}{out.stderr}"
    crds = Path(json.loads(out.stdout)["Dir"]) / "example" / "prometheus-operator-crd"
    extract = _module("k8s_extract_crd_schema", K8S / "schemas" / "extract_crd_schema.py")
    for (_, kind), name in manifests.CRD_SCHEMAS.items():
        crd = crds / f"monitoring.coreos.com_{kind.lower()}s.yaml"
        assert extract.schema_json(str(crd), "v1", CRD_SOURCE) == (K8S / "schemas" / name).read_text(), name


SERVICE_MONITORS = {
    "loki": ("monitoring", "serviceMonitor"),
    "tempo-distributed": ("metaMonitoring", "serviceMonitor"),
    "alloy": ("serviceMonitor",),
    "grafana": ("serviceMonitor",),
}


@pytest.mark.parametrize("chart", SERVICE_MONITORS)
def test_backend_service_monitors_keep_the_compose_job_names(chart):
    """The rules select backends by job (job="loki", ...); each chart's ServiceMonitor sets it."""
    node: Any = values(chart)
    for part in SERVICE_MONITORS[chart]:
        node = node[part]
    assert node["enabled"] is True
    compose_jobs = {j["job_name"] for j in load_yaml(REPO / "prometheus" / "prometheus.yml")["scrape_configs"]}
    (relabel,) = [r for r in node["relabelings"] if r["targetLabel"] == "job"]
    assert relabel["replacement"] in compose_jobs and relabel["action"] == "replace"
    # the operator's RelabelConfig schema (the same type in PodMonitor and ServiceMonitor)
    schema = manifests.crd_validator("monitoring.coreos.com/v1", "PodMonitor").schema
    item = schema["properties"]["spec"]["properties"]["podMetricsEndpoints"]["items"]["properties"]["relabelings"][
        "items"
    ]
    assert not list(jsonschema.Draft202012Validator(item).iter_errors(relabel))
