"""Exercise 1 judge for stage 1: GET /me through the Flask test client (the stage's own suite reaches /me only through the contract suite)."""
from __future__ import annotations

import uuid

import pytest

from homesense_core.tokens import SigningKey

from stage1_monolith.adapters.memory import MemoryUnitOfWorkFactory
from stage1_monolith.settings import Settings
from stage1_monolith.web.app import create_app


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(data_dir=tmp_path), uow=MemoryUnitOfWorkFactory(), signing_key=SigningKey.generate())
    return app.test_client()


def test_me_returns_the_callers_account(client):
    name = f"u{uuid.uuid4().hex[:12]}"
    created = client.post("/users", json={"username": name, "password": "correct-horse"})
    assert created.status_code == 201
    token = client.post("/auth/token", json={"username": name, "password": "correct-horse"}).get_json()["access_token"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json() == created.get_json()


def test_me_without_a_token_is_a_401_problem(client):
    r = client.get("/me")
    assert r.status_code == 401
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
