"""GET /health: unauthenticated liveness with the contract version."""
import pytest

from contract_tests.support import describe

pytestmark = pytest.mark.timeout(60)


def test_health_answers_ok_with_contract_version_and_stage(api, stage_name):
    r = api.get("/health")
    assert r.status_code == 200, describe(r)
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json", describe(r)
    body = r.json()
    assert set(body) == {"status", "stage", "version"}, body
    assert body["status"] == "ok"
    assert body["version"] == "1.0.0"
    assert body["stage"] in ("monolith", "microservices", "serverless")
    if stage_name is not None:
        assert body["stage"] == stage_name


def test_health_needs_no_token_and_ignores_a_bad_one(api):
    r = api.get("/health", token="not-a-token")
    assert r.status_code == 200, describe(r)
    assert r.json()["status"] == "ok"
