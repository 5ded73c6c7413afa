"""Static container hygiene: Dockerfiles, docker-compose.yml and .dockerignore, without an engine.

Each check returns human-readable problems; [] means clean. live/test_images.py checks the same
properties again on the images `make compose-test` builds.
"""
from __future__ import annotations

import re
from pathlib import Path

from stage2_microservices.tests import drift

REPO_ROOT = drift.REPO_ROOT
AIRGAP = Path(__file__).resolve().parent / "airgap"
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|PRIVATE|TOKEN|API_?KEY)", re.IGNORECASE)
# The compose variables that choose images, and the official image each defaults to.
IMAGE_VARIABLES = {"postgres": ("POSTGRES_IMAGE", "postgres:18-alpine"),
                   "nats": ("NATS_IMAGE", "nats:2.15.1-alpine"),
                   "gateway": ("ENVOY_IMAGE", "envoyproxy/envoy:v1.40.0")}


def all_dockerfiles() -> list[Path]:
    """The five service Dockerfiles and the air-gapped stand-ins."""
    return [drift.dockerfile_path(n) for n in drift.topology.SERVICE_NAMES] + sorted(AIRGAP.glob("*.Dockerfile"))


def dockerfile_problems(text: str, where: str, *, base_image: bool = False) -> list[str]:
    """Non-root USER, a HEALTHCHECK, no secrets in ENV/ARG, no whole-context COPY, offline pip.

    A base image (like the official python one) runs nothing itself: USER and HEALTHCHECK are
    left to the images built on it.
    """
    ins = drift.dockerfile_instructions(text)
    final = ins[max(i for i, (head, _) in enumerate(ins) if head == "FROM"):]  # the runtime stage
    problems = []
    users = [rest for head, rest in final if head == "USER"]
    if not base_image and (not users or users[-1].split(":")[0] in ("root", "0")):
        problems.append(f"{where}: the runtime stage must end as a non-root USER")
    if not base_image and not any(head == "HEALTHCHECK" and "CMD" in rest for head, rest in final):
        problems.append(f"{where}: no HEALTHCHECK")
    for head, rest in ins:
        if head in ("ENV", "ARG") and SECRET_NAME.search(rest):
            problems.append(f"{where}: {head} {rest[:60]} bakes a secret into the image")
        if head in ("COPY", "ADD") and re.match(r"^(--\S+\s+)*\.\s", rest):
            problems.append(f"{where}: {head} {rest} copies the whole build context")
        if head == "RUN" and "pip install" in rest and "--no-index" not in rest:
            problems.append(f"{where}: pip install without --no-index may reach the network")
    return problems


def compose_problems(compose: dict) -> list[str]:
    """Every service has a healthcheck and waits for healthy dependencies; images are variables."""
    problems = []
    for name, spec in compose.get("services", {}).items():
        if not (spec.get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: no healthcheck")
        for dep, cond in (spec.get("depends_on") or {}).items():
            if (cond or {}).get("condition") != "service_healthy":
                problems.append(f"{name}: depends_on {dep} without condition: service_healthy")
        if "build" in spec:
            args = (spec["build"].get("args") or {})
            if args.get("PYTHON_IMAGE") != "${PYTHON_IMAGE:-python:3.11-slim}":
                problems.append(f"{name}: build arg PYTHON_IMAGE must default to python:3.11-slim")
        elif name in IMAGE_VARIABLES:
            variable, default = IMAGE_VARIABLES[name]
            if spec.get("image") != f"${{{variable}:-{default}}}":
                problems.append(f"{name}: image must be ${{{variable}:-{default}}}")
    return problems


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins, `!` re-includes, a pattern
    matching a parent directory excludes everything below it."""
    parts = path.split("/")
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern[1:] if negate else pattern
        pattern = pattern.strip("/")
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(_match(pattern, c) for c in candidates):
            excluded = not negate
    return excluded


def _match(pattern: str, path: str) -> bool:
    # `**` spans directories (also none); `*` stays within one path segment.
    regex = ""
    for piece in re.split(r"(\*\*/?|\*|\?)", pattern):
        if piece in ("**", "**/"):
            regex += "(.*/)?" if piece == "**/" else ".*"
        elif piece == "*":
            regex += "[^/]*"
        elif piece == "?":
            regex += "[^/]"
        else:
            regex += re.escape(piece)
    return re.fullmatch(regex, path) is not None


def dockerignore_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore (comments and blanks dropped)."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


# What a build context must and must not send (paths relative to the repository root).
MUST_EXCLUDE = (".git/HEAD", ".venv/bin/python", "var/stage2/postgres/PG_VERSION", "var/compose-test/x",
                "stage2_microservices/services/telemetry/tests/test_routes.py",
                "stage2_microservices/common/tests/conftest.py", "stage2_microservices/services/conftest.py",
                "contract_tests/test_auth.py", "stage1_monolith/app.py", "stage3_serverless/app.py",
                "stage2_microservices/common/__pycache__/db.cpython-311.pyc", ".pytest_cache/v")
MUST_INCLUDE = ("var/wheelhouse/services/fastapi-0.163.2-py3-none-any.whl", "homesense_core/model.py",
                "stage2_microservices/common/db.py", "stage2_microservices/services/telemetry/main.py",
                "stage2_microservices/containers/airgap/postgres-entrypoint.sh")


def dockerignore_problems(text: str) -> list[str]:
    patterns = dockerignore_patterns(text)
    return ([f".dockerignore lets {p} into the build context" for p in MUST_EXCLUDE
             if not dockerignore_excludes(patterns, p)]
            + [f".dockerignore keeps {p} out, but the images need it" for p in MUST_INCLUDE
               if dockerignore_excludes(patterns, p)])
