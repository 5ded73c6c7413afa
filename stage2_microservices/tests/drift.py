"""Finds disagreements between topology.py and docker-compose.yml, the Dockerfiles and the runner.

Each check returns a list of human-readable problems; an empty list means no drift.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from stage2_microservices import topology
from stage2_microservices.gateway import render

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SERVICES_DIR = REPO_ROOT / "stage2_microservices" / "services"
INFRA = {"postgres", "nats", "gateway"}
PYTHON_IMAGE = "python:3.11-slim"


def dockerfile_path(name: str) -> Path:
    """Where the Dockerfile of a service lives."""
    return SERVICES_DIR / name / "Dockerfile"


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    joined, pending = [], ""
    for line in text.splitlines():
        if not pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        pending += line
        if pending.strip():
            joined.append(pending.strip())
        pending = ""
    return [(head.upper(), rest.strip()) for head, _, rest in (j.partition(" ") for j in joined)]


def locked_versions(lock: Path = REPO_ROOT / "requirements" / "all.txt") -> dict[str, str]:
    """name -> version from the pinned lock file."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def dockerfile_drift(svc: topology.Service, text: str, lock: dict[str, str]) -> list[str]:
    """CMD, EXPOSE, base image, user and pins of one service's Dockerfile."""
    where = f"{svc.name}/Dockerfile"
    ins = dockerfile_instructions(text)
    problems = []
    by_name: dict[str, list[str]] = {}
    for head, rest in ins:
        by_name.setdefault(head, []).append(rest)
    # The base is the official image unless the build argument names a local stand-in.
    if by_name.get("ARG", [None])[0] != f"PYTHON_IMAGE={PYTHON_IMAGE}" or not by_name.get("FROM") or \
            any(f.split()[0] != "${PYTHON_IMAGE}" for f in by_name["FROM"]):
        problems.append(f"{where}: FROM is {by_name.get('FROM')}, expected ${{PYTHON_IMAGE}} with "
                        f"ARG PYTHON_IMAGE={PYTHON_IMAGE}")
    if by_name.get("EXPOSE") != [str(svc.port)]:
        problems.append(f"{where}: EXPOSE {by_name.get('EXPOSE')} but topology port is {svc.port}")
    cmds = by_name.get("CMD", [])
    expected = ["python", *svc.command("0.0.0.0", svc.port)]
    try:
        cmd = json.loads(cmds[-1]) if cmds else None
    except ValueError:
        cmd = None
    if cmd != expected:
        problems.append(f"{where}: CMD {cmd} but topology says {expected}")
    users = by_name.get("USER", [])
    if not users or users[-1] in ("root", "0"):
        problems.append(f"{where}: must switch to a non-root USER")
    if not any(f"stage2_microservices/services/{svc.name}/" in c for c in by_name.get("COPY", [])):
        problems.append(f"{where}: does not COPY its own service package")
    for run in by_name.get("RUN", []):
        for name, version in re.findall(r'"?([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s"]+)"?', run):
            if lock.get(name.lower()) != version:
                problems.append(f"{where}: pins {name}=={version}, requirements/all.txt has "
                                f"{lock.get(name.lower())}")
    return problems


def compose_drift(compose: dict) -> list[str]:
    """docker-compose.yml against the topology: services, builds, env, health, depends_on, DBs."""
    problems = []
    services = compose.get("services", {})
    expected_names = INFRA | set(topology.SERVICE_NAMES)
    if set(services) != expected_names:
        problems.append(f"compose services {sorted(services)} != topology {sorted(expected_names)}")
    endpoints = topology.compose_endpoints()
    for svc in topology.SERVICES:
        spec = services.get(svc.name)
        if spec is None:
            continue
        build = spec.get("build", {})
        if build.get("context") != "." or build.get("dockerfile") != \
                f"stage2_microservices/services/{svc.name}/Dockerfile":
            problems.append(f"{svc.name}: build {build} does not use its own Dockerfile from the repo root")
        env = {k: str(v) for k, v in (spec.get("environment") or {}).items()}
        want = topology.service_env(svc, endpoints)
        if env != want:
            diff = sorted(set(env.items()) ^ set(want.items()))
            problems.append(f"{svc.name}: environment differs from topology: {diff}")
        test = " ".join(map(str, (spec.get("healthcheck") or {}).get("test", [])))
        if f"http://127.0.0.1:{svc.port}{topology.HEALTH_PATH}" not in test:
            problems.append(f"{svc.name}: healthcheck {test!r} does not probe port {svc.port}")
        deps = spec.get("depends_on") or {}
        if set(deps) != set(svc.depends_on):
            problems.append(f"{svc.name}: depends_on {sorted(deps)} != topology {sorted(svc.depends_on)}")
        if any((d or {}).get("condition") != "service_healthy" for d in deps.values()):
            problems.append(f"{svc.name}: every depends_on must wait for service_healthy")
    gateway = services.get("gateway", {})
    if set(gateway.get("depends_on") or {}) != set(topology.SERVICE_NAMES):
        problems.append("gateway: must depend on every service")
    if not any(str(p).endswith(f":{topology.GATEWAY_PORT}") for p in gateway.get("ports", [])):
        problems.append(f"gateway: no published port maps to container port {topology.GATEWAY_PORT}")
    if not any("gateway/envoy.compose.yaml:" in str(v) for v in gateway.get("volumes", [])):
        problems.append("gateway: does not mount stage2_microservices/gateway/envoy.compose.yaml")
    nats_cmd = [str(a) for a in services.get("nats", {}).get("command", [])]
    if "-js" not in nats_cmd or str(topology.NATS_MONITOR_PORT) not in nats_cmd:
        problems.append(f"nats: command {nats_cmd} lacks -js or monitor port {topology.NATS_MONITOR_PORT}")
    init_sql = (compose.get("configs", {}).get("postgres-databases") or {}).get("content", "")
    created = tuple(re.findall(r"CREATE DATABASE (\w+);", init_sql))
    if sorted(created) != sorted(topology.DATABASES):
        problems.append(f"postgres: creates databases {created}, topology has {topology.DATABASES}")
    pg_env = services.get("postgres", {}).get("environment", {})
    if (pg_env.get("POSTGRES_USER"), pg_env.get("POSTGRES_PASSWORD")) != \
            (topology.POSTGRES_USER, topology.POSTGRES_PASSWORD):
        problems.append("postgres: credentials differ from topology")
    return problems


def gateway_drift(committed: str) -> list[str]:
    """The committed compose Envoy config against a fresh render of the template."""
    if committed != render.compose_yaml():
        return ["stage2_microservices/gateway/envoy.compose.yaml is stale: run "
                "`python -m stage2_microservices.gateway.render`"]
    clusters = {c["name"]: c for c in yaml.safe_load(committed)["static_resources"]["clusters"]}
    problems = []
    for svc in topology.SERVICES:
        try:
            addr = clusters[svc.name]["load_assignment"]["endpoints"][0]["lb_endpoints"][0][
                "endpoint"]["address"]["socket_address"]
        except (KeyError, IndexError):
            problems.append(f"gateway: no cluster for {svc.name}")
            continue
        if (addr["address"], addr["port_value"]) != (svc.name, svc.port):
            problems.append(f"gateway: cluster {svc.name} points at {addr}")
    return problems


def runner_drift(runner) -> list[str]:
    """A LocalTopology's process definitions against the topology (same modules, flags, env keys)."""
    problems = []
    compose_keys = {s.name: set(topology.service_env(s, topology.compose_endpoints())) for s in topology.SERVICES}
    for svc in topology.SERVICES:
        proc = runner.processes[svc.name]
        want = svc.command(runner.host, runner.ports[svc.name])
        if proc.argv[1:] != want:
            problems.append(f"runner {svc.name}: argv {proc.argv[1:]} != topology {want}")
        keys = {k for k in (proc.env or {}) if k.startswith("HOMESENSE_")}
        if keys != compose_keys[svc.name]:
            problems.append(f"runner {svc.name}: env keys {sorted(keys)} != compose {sorted(compose_keys[svc.name])}")
        url = (proc.env or {}).get("HOMESENSE_DATABASE_URL", "")
        if svc.database and not url.endswith(f"/{svc.database}"):
            problems.append(f"runner {svc.name}: database URL {url!r} is not database {svc.database}")
    if "-js" not in runner.processes["nats"].argv:
        problems.append("runner nats: JetStream (-js) not enabled")
    return problems


def env_file_drift(svc: topology.Service, text: str) -> list[str]:
    """Variables a service's ENV file marks required that the topology does not provide."""
    given = set(topology.service_env(svc, topology.compose_endpoints()))
    required = {line.split()[0] for line in text.splitlines()
                if line.strip() and "required" in line.partition("#")[2].lower()}
    return [f"{svc.name}/ENV: {name} is required but the topology does not set it"
            for name in sorted(required - given)]
