"""HTTP edges (problem+json for every failure, request ids, CORS) and fail-fast settings."""

import psycopg
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from homesense_core.problems import Conflict

from stage2_microservices.common.settings import BaseServiceSettings, DatabaseSettings, NatsSettings
from stage2_microservices.testing.support import AppClient, bearer, tokens_verifier
from stage2_microservices.common.web import caller_id, install_edges, json_response, read_json


@pytest.fixture
def client():
    app = FastAPI()
    app.state.verifier = tokens_verifier()
    install_edges(app, "https://a.example,https://b.example")

    @app.post("/echo")
    async def echo(request: __import__("fastapi").Request):
        await caller_id(request)
        return json_response(await read_json(request))

    @app.get("/conflict")
    async def conflict():
        raise Conflict("taken")

    @app.get("/db-down")
    async def db_down():
        raise psycopg.OperationalError("connection refused")

    @app.get("/bug")
    async def bug():
        raise KeyError("secret internals")

    with AppClient(app) as c:
        yield c


def test_core_problems_render_as_problem_json(client):
    r = client.get("/conflict")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json() == {"type": "/problems/conflict", "title": "Conflict", "status": 409, "detail": "taken"}


def test_unavailable_dependency_is_503_and_a_bug_is_500_without_internals(client):
    down = client.get("/db-down")
    assert down.json()["type"] == "/problems/service-unavailable"
    assert down.status_code == 503 and down.headers["retry-after"] == "1"
    r = client.get("/bug", headers={"X-Request-Id": "req-1"})
    assert r.status_code == 500 and r.json()["type"] == "/problems/internal-error"
    assert "secret" not in r.content.decode() and r.headers["x-request-id"] == "req-1"


def test_body_rules_come_from_the_core(client):
    h = bearer("u1")
    assert client.post("/echo", content=b"{}", headers={**h, "content-type": "text/plain"}).status_code == 415
    assert client.post("/echo", content=b"x" * (1024 * 1024 + 1),
                       headers={**h, "content-type": "application/json"}).status_code == 413
    assert client.post("/echo", json={"a": 1}, headers=h).json() == {"a": 1}


def test_cors_allow_list_and_preflight(client):
    r = client.get("/conflict", headers={"origin": "https://b.example"})
    assert r.headers["access-control-allow-origin"] == "https://b.example"
    pre = client.request("OPTIONS", "/echo", headers={"origin": "https://a.example",
                                                      "access-control-request-method": "POST"})
    assert pre.status_code == 204 and pre.headers["access-control-max-age"] == "600"
    assert "Idempotency-Key" in pre.headers["access-control-allow-headers"]


def test_settings_fail_fast_on_missing_or_unsafe_values(monkeypatch):
    class S(BaseServiceSettings, DatabaseSettings, NatsSettings):
        service_name: str = "x"

    monkeypatch.delenv("HOMESENSE_DATABASE_URL", raising=False)
    monkeypatch.setenv("HOMESENSE_NATS_URL", "nats://127.0.0.1:4222")
    with pytest.raises(ValidationError):
        S()
    monkeypatch.setenv("HOMESENSE_DATABASE_URL", "sqlite:///tmp.db")
    with pytest.raises(ValidationError):
        S()
    monkeypatch.setenv("HOMESENSE_DATABASE_URL", "postgresql://u@h/db")
    assert S().events_namespace == "homesense"


def test_log_lines_escape_control_characters(capsys):
    import logging

    from stage2_microservices.common import web
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_homesense", False)]
    try:
        web.configure_logging("test")
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/1.1" %d', "127.0.0.1", "GET",
                                                 "/devices\r\nINFO forged line", 200)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    # One JSON line per record; the message itself carries the escaped CR/LF.
    import json
    lines = [json.loads(line) for line in err.splitlines() if "forged" in line]
    assert len(lines) == 1 and "\\x0d\\x0aINFO forged line" in lines[0]["message"], err
