"""The Kubernetes manifests: rendered by `kubectl kustomize`, valid against the Kubernetes schemas
(offline, kubernetes-validate), and in step with topology.py like the compose file."""
from __future__ import annotations

import base64
import copy
import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from stage2_microservices import topology
from stage2_microservices.gateway import render

K8S = Path(__file__).resolve().parents[1]
# The API version the schemas are checked against (kubectl on this machine is 1.32).
KUBERNETES_VERSION = "1.32.0"


def kustomize(target: Path) -> list[dict]:
    """`kubectl kustomize target` as a list of resources."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        message = "kubectl (with its built-in kustomize) is not installed"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run([kubectl, "kustomize", str(target)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def local() -> list[dict]:
    return kustomize(K8S / "overlays" / "local")


def schema_errors(docs: list[dict]) -> list[str]:
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    return errors


def find(docs: list[dict], kind: str, name: str) -> dict | None:
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)
                 and (d["metadata"]["name"] == name or kind in ("ConfigMap", "Secret"))), None)


def drift(docs: list[dict]) -> list[str]:
    """Disagreements between the rendered manifests and topology.py (and the compose gateway config)."""
    problems = []
    secret = find(docs, "Secret", "postgres") or {"data": {}}
    creds = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    deployment = find(docs, "Secret", "homesense") or {"data": {}}
    shared = {k: base64.b64decode(v).decode() for k, v in deployment.get("data", {}).items()}
    # Compose reads the two secrets from its environment, Kubernetes from the homesense Secret.
    endpoints = dataclasses.replace(
        topology.compose_endpoints(),
        nats_url=topology.nats_url(str(shared.get("nats-password")), "nats", topology.NATS_PORT),
        service_token=str(shared.get("service-token")))
    for svc in topology.SERVICES:
        dep = find(docs, "Deployment", svc.name)
        if dep is None:
            problems.append(f"no Deployment {svc.name}")
            continue
        pod = dep["spec"]["template"]["spec"]
        container = pod["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        if ports.get("http") != svc.port:
            problems.append(f"{svc.name}: containerPort {ports} but topology port is {svc.port}")
        for probe in ("readinessProbe", "livenessProbe"):
            get = (container.get(probe) or {}).get("httpGet") or {}
            if get.get("path") != topology.HEALTH_PATH or get.get("port") != "http":
                problems.append(f"{svc.name}: {probe} does not GET {topology.HEALTH_PATH} on its port")
        if not (container.get("resources") or {}).get("requests"):
            problems.append(f"{svc.name}: no resource requests")
        secrets = {"postgres": creds, "homesense": shared}
        values = {}
        for e in container.get("env", []):
            ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
            if "value" in e:
                values[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: str(values.get(m.group(1))), e["value"])
            elif ref:
                # kustomize's secretGenerator names carry a hash suffix.
                name = next((n for n in secrets if str(ref.get("name", "")).startswith(n)), None)
                values[e["name"]] = (secrets.get(name) or {}).get(ref.get("key"))
        env = {k: v for k, v in values.items() if k.startswith("HOMESENSE_")}
        if env != topology.service_env(svc, endpoints):
            diff = sorted(set(env.items()) ^ set(topology.service_env(svc, endpoints).items()))
            problems.append(f"{svc.name}: environment differs from topology: {diff}")
        service = find(docs, "Service", svc.name)
        if service is None or [p["port"] for p in service["spec"]["ports"]] != [svc.port]:
            problems.append(f"{svc.name}: Service missing or not on port {svc.port}")
        if svc.needs_data_dir and not any(m["mountPath"] == topology.CONTAINER_DATA_DIR
                                          for m in container.get("volumeMounts", [])):
            problems.append(f"{svc.name}: nothing mounted on {topology.CONTAINER_DATA_DIR}")
    init = find(docs, "ConfigMap", "postgres-init") or {"data": {}}
    created = re.findall(r"CREATE DATABASE (\w+);", "".join(init["data"].values()))
    if sorted(created) != sorted(topology.DATABASES):
        problems.append(f"postgres: creates databases {created}, topology has {topology.DATABASES}")
    postgres = find(docs, "Service", "postgres")
    if postgres is None or postgres["spec"]["ports"][0]["port"] != topology.POSTGRES_PORT:
        problems.append("postgres: Service missing or on the wrong port")
    nats = find(docs, "StatefulSet", "nats")
    args = nats["spec"]["template"]["spec"]["containers"][0].get("args", []) if nats else []
    if "-js" not in args or str(topology.NATS_MONITOR_PORT) not in args or "/data" not in args:
        problems.append(f"nats: args {args} lack JetStream on /data or the monitor port")
    if "--user" not in args or "--pass" not in args:
        problems.append(f"nats: args {args} accept connections without credentials")
    if nats and not nats["spec"].get("volumeClaimTemplates"):
        problems.append("nats: JetStream has no persistent volume")
    envoy = find(docs, "ConfigMap", "gateway-envoy") or {"data": {}}
    if envoy["data"].get("envoy.yaml") != render.compose_yaml():
        problems.append("gateway: k8s/base/envoy.yaml is stale: run `python -m stage2_microservices.gateway.render`")
    hpa = find(docs, "HorizontalPodAutoscaler", "telemetry")
    if hpa is None or hpa["spec"]["scaleTargetRef"]["name"] != "telemetry":
        problems.append("telemetry: no HorizontalPodAutoscaler")
    return problems


def test_local_overlay_renders_every_part_of_the_topology(local):
    kinds = sorted({(d["kind"], d["metadata"]["name"]) for d in local if d["kind"] in ("Deployment", "StatefulSet")})
    assert kinds == sorted([("Deployment", n) for n in (*topology.SERVICE_NAMES, "gateway")]
                           + [("StatefulSet", "nats"), ("StatefulSet", "postgres")])
    assert {d["metadata"].get("namespace") for d in local if d["kind"] != "Namespace"} == {"homesense"}


def test_manifests_are_valid_kubernetes(local):
    assert schema_errors(local) == []


def test_base_renders_and_is_valid_on_its_own():
    assert schema_errors(kustomize(K8S / "base")) == []


def test_manifests_match_the_topology(local):
    assert drift(local) == []


def test_every_container_runs_as_non_root_with_requests_and_probes(local):
    for doc in local:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            pod = doc["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
            for c in pod["containers"]:
                assert c["resources"]["requests"] and c["readinessProbe"] and c["livenessProbe"], c["name"]
                assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]


def test_local_overlay_uses_the_compose_built_images(local):
    images = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
              for d in local if d["kind"] == "Deployment"}
    assert {n: images[n] for n in topology.SERVICE_NAMES} == {n: f"homesense-{n}:latest" for n in topology.SERVICE_NAMES}


# --- the checks can fail ----------------------------------------------------------------------------

def _edit(docs, kind, name, fn):
    docs = copy.deepcopy(docs)
    fn(find(docs, kind, name))
    return docs


@pytest.mark.parametrize("kind,name,edit", [
    ("Deployment", "telemetry", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(port=8003)),
    ("Deployment", "alerts", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
        env=[{"name": "X", "valueFrom": {"secretKeyRef": {"key": 1}}}])),
    ("Service", "nats", lambda d: d["spec"]["ports"][0].update(port="4222")),
    ("HorizontalPodAutoscaler", "telemetry", lambda d: d["spec"].update(minReplicas="one")),
], ids=["unknown-field", "bad-env-ref", "port-as-string", "replicas-as-string"])
def test_schema_errors_are_reported(local, kind, name, edit):
    assert schema_errors([find(_edit(local, kind, name, edit), kind, name)]) != []


@pytest.mark.parametrize("kind,name,edit", [
    ("Deployment", "devices", lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(containerPort=9002)),
    ("Deployment", "alerts", lambda d: d["spec"]["template"]["spec"]["containers"][0]["env"].pop()),
    ("Deployment", "notifier", lambda d: d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"].update(path="/")),
    ("Service", "identity", lambda d: d["spec"]["ports"][0].update(port=80)),
    ("StatefulSet", "nats", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(args=["-m", "8222"])),
    ("ConfigMap", "postgres-init", lambda d: d.update(data={"init.sql": "CREATE DATABASE identity;"})),
    ("ConfigMap", "gateway-envoy", lambda d: d["data"].update({"envoy.yaml": "stale"})),
], ids=["port", "env", "probe", "service-port", "no-jetstream", "databases", "envoy-config"])
def test_drift_is_reported(local, kind, name, edit):
    assert drift(_edit(local, kind, name, edit)) != []
