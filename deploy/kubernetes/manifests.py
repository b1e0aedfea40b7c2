"""Offline checks of deploy/kubernetes: render, schema-validate, no cluster needed.

    kustomization.yaml ──render──> objects ──┬─> built-in kinds: kubernetes-validate (strict)
      (kustomize 5.8.1, and the              │     against the pinned Kubernetes versions
       fallback loader below)                └─> PodMonitor, PrometheusRule: their CRD schemas
                                                   (schemas/*.json), unknown fields rejected

Used by tests/configs/test_kubernetes.py (make k8s-check).

The fallback loader understands the subset of kustomize this directory uses (resources,
namespace, labels without selectors, images, JSON6902 patches, configMapGenerator from files
without a name hash) and nothing else: it exists so
the checks still run where no kustomize can be had, and it refuses a
kustomization with any other field instead of silently ignoring it.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"

# Oldest and newest Kubernetes minor this directory is checked against. 1.35 is the oldest
# minor still in upstream support on 2026-12-01 (1.34 left it in October 2026), so it is what
# a slow-upgrading cluster runs; 1.37 is the newest whose schemas kubernetes-validate 1.37.0
# ships. A field that exists in only one of them fails the check.
KUBERNETES_VERSIONS = ("1.35", "1.37")

CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}

_SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "patches",
    "configMapGenerator",
    "generatorOptions",
}


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def kustomization(directory: Path) -> dict[str, Any]:
    (doc,) = load_yaml_documents(directory / "kustomization.yaml")
    return doc


def listed_files(directory: Path) -> list[Path]:
    """Every path a kustomization's resources list names (directories are other kustomizations)."""
    return [(directory / entry).resolve() for entry in kustomization(directory).get("resources", [])]


def _set_image(container: dict[str, Any], images: list[dict[str, Any]]) -> None:
    name, _, tag = container["image"].partition(":")
    for image in images:
        if image["name"] == name:
            new_name = image.get("newName", name)
            new_tag = image.get("newTag", tag)
            container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _json_patch(obj: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    for op in ops:
        if op["op"] not in ("replace", "add"):
            raise ValueError(f"fallback loader: unsupported patch op {op['op']!r}")
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        node = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if op["op"] == "replace" and last not in node:
            raise ValueError(f"fallback loader: replace of missing path {op['path']}")
        node[last] = op["value"]


def load(directory: Path) -> list[dict[str, Any]]:
    """The objects a kustomization produces, by the fallback loader."""
    kz = kustomization(directory)
    unknown = set(kz) - _SUPPORTED_FIELDS
    if unknown:
        raise ValueError(f"fallback loader: {directory}/kustomization.yaml uses {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for path in listed_files(directory):
        if path.is_dir():
            objects += load(path)
        else:
            objects += copy.deepcopy(load_yaml_documents(path))
    for generator in kz.get("configMapGenerator", []):
        if not kz.get("generatorOptions", {}).get("disableNameSuffixHash"):
            raise ValueError("fallback loader: configMapGenerator needs disableNameSuffixHash: true")
        if set(generator) != {"name", "files"}:
            raise ValueError(f"fallback loader: configMapGenerator fields {sorted(generator)}")
        data = {Path(f).name: (directory / f).read_text() for f in generator["files"]}
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        for label_set in kz.get("labels", []):
            if label_set.get("includeSelectors") or label_set.get("includeTemplates"):
                raise ValueError("fallback loader: labels with includeSelectors/includeTemplates")
            meta.setdefault("labels", {}).update(label_set["pairs"])
        if "namespace" in kz and obj["kind"] != "Namespace":
            meta["namespace"] = kz["namespace"]
        pod_spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
            _set_image(container, kz.get("images", []))
    for patch in kz.get("patches", []):
        target = patch["target"]
        matches = [o for o in objects if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]]
        if len(matches) != 1:
            raise ValueError(f"fallback loader: patch target {target} matched {len(matches)} objects")
        _json_patch(matches[0], yaml.safe_load(patch["patch"]))
    return objects


# kustomize at a pinned version, built from the Go module proxy on first use (about 40 s, then
# cached): the render is the same on every machine that has Go. v5.8.1 is the newest release that
# builds with Go 1.26 (5.8.2+ need 1.27).
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5@v5.8.1"


def kustomize_command() -> list[str] | None:
    """The pinned kustomize through `go run`, else kustomize or kubectl from PATH, else None."""
    if shutil.which("go"):
        return ["go", "run", KUSTOMIZE_MODULE, "build"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(directory: Path) -> list[dict[str, Any]]:
    command = kustomize_command()
    if command is None:
        raise FileNotFoundError("none of go, kustomize, kubectl on PATH")
    out = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=600, cwd=HERE)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} {directory} failed:\n{out.stderr}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc is not None]


def validate_builtin(obj: dict[str, Any], version: str) -> None:
    """Raises kubernetes_validate's ValidationError (or SchemaNotFoundError) on a bad object."""
    kubernetes_validate.validate(obj, version, strict=True)


def _closed(schema: Any) -> Any:
    """Reject unknown fields the way kubectl's strict field validation does: every object
    schema with properties and no x-kubernetes-preserve-unknown-fields gets
    additionalProperties: false. `metadata` stays open (the API server knows its fields)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / CRD_SCHEMAS[(api_version, kind)]).read_text())
    schema = {k: v for k, v in schema.items() if k not in ("$comment", "x-kubernetes-group-version-kind")}
    return jsonschema.Draft202012Validator(_closed(schema))


def is_crd_object(obj: dict[str, Any]) -> bool:
    return (obj.get("apiVersion"), obj.get("kind")) in CRD_SCHEMAS


def crd_errors(obj: dict[str, Any]) -> list[str]:
    validator = crd_validator(obj["apiVersion"], obj["kind"])
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)]
