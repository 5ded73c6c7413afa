"""Container hygiene without an engine: non-root, HEALTHCHECK, healthy depends_on, no secrets, .dockerignore."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stage2_microservices.containers import hygiene

DOCKERFILES = hygiene.all_dockerfiles()
IDS = [p.parent.name if p.name == "Dockerfile" else p.name for p in DOCKERFILES]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((hygiene.REPO_ROOT / "docker-compose.yml").read_text())


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_dockerfile_is_hygienic(path):
    assert hygiene.dockerfile_problems(path.read_text(), path.name,
                                       base_image=path.name == "python.Dockerfile") == []


@pytest.mark.parametrize("path", [p for p in DOCKERFILES if p.parent == hygiene.AIRGAP], ids=lambda p: p.name)
def test_airgap_dockerfile_passes_hadolint(path):
    tool = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(tool), "--failure-threshold", "warning", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_airgap_entrypoints_are_executable():
    for script in hygiene.AIRGAP.glob("*.sh"):
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable (COPY keeps the mode)"


def test_compose_is_hygienic(compose):
    assert hygiene.compose_problems(compose) == []


def test_dockerignore_keeps_tests_and_local_state_out():
    assert hygiene.dockerignore_problems((hygiene.REPO_ROOT / ".dockerignore").read_text()) == []


# --- the checks above can fail --------------------------------------------------------------------

@pytest.mark.parametrize("old,new", [
    ("USER 10001", "USER root"),
    ("USER 10001", ""),
    ("HEALTHCHECK --interval=5s", "LABEL x=y\n#"),
    ("ENV PYTHONDONTWRITEBYTECODE=1", "ENV JWT_SECRET=abc PYTHONDONTWRITEBYTECODE=1"),
    ("COPY homesense_core/ homesense_core/", "COPY . ."),
    ("pip install --no-index --find-links /wheels", "pip install"),
])
def test_dockerfile_problems_are_reported(old, new):
    text = hygiene.drift.dockerfile_path("alerts").read_text()
    assert old in text
    assert hygiene.dockerfile_problems(text.replace(old, new), "alerts") != []


@pytest.mark.parametrize("service,key,value", [
    ("nats", "healthcheck", None),
    ("gateway", "depends_on", {"alerts": {"condition": "service_started"}}),
    ("postgres", "image", "postgres:18-alpine"),
    ("devices", "build", {"context": ".", "dockerfile": "x"}),
])
def test_compose_problems_are_reported(compose, service, key, value):
    doc = copy.deepcopy(compose)
    if value is None:
        del doc["services"][service][key]
    else:
        doc["services"][service][key] = value
    assert hygiene.compose_problems(doc) != []


@pytest.mark.parametrize("patterns,path,excluded", [
    (["var"], "var/wheelhouse/a.whl", True),
    (["var/*", "!var/wheelhouse"], "var/wheelhouse/a.whl", False),
    (["var/*", "!var/wheelhouse"], "var/stage2/x", True),
    (["**/tests"], "a/b/tests/test_x.py", True),
    (["**/tests"], "a/b/testsuite.py", False),
    (["*.pyc"], "a/b.pyc", False),
    (["**/*.pyc"], "a/b.pyc", True),
])
def test_dockerignore_matcher_follows_docker_rules(patterns, path, excluded):
    assert hygiene.dockerignore_excludes(patterns, path) is excluded


def test_dockerignore_problems_are_reported():
    assert hygiene.dockerignore_problems(".git\n.venv\n")
