"""Devices HTTP API over the in-memory fake: behaviour, errors and the events it queues."""

import pytest
from fastapi.testclient import TestClient

from stage2_microservices.testing.support import AUTH_SETTINGS, bearer, tokens_verifier
from stage2_microservices.services.devices.main import create_app
from stage2_microservices.services.devices.memory import InMemoryDevicesUnitOfWork, memory_state
from stage2_microservices.services.devices.settings import DevicesSettings

ALICE = bearer("alice01")
BOB = bearer("bob01")
NEW = {"name": "Hall", "kind": "temperature", "low_threshold": 10, "high_threshold": 30}


@pytest.fixture
def state():
    return memory_state()


@pytest.fixture
def client(state):
    settings = DevicesSettings(database_url="postgresql://unused/x", nats_url="nats://127.0.0.1:1",
                               **AUTH_SETTINGS)
    with TestClient(create_app(settings, uow_factory=lambda: InMemoryDevicesUnitOfWork(state),
                              verifier=tokens_verifier())) as c:
        yield c


def test_create_returns_201_location_and_queues_device_created(client, state):
    r = client.post("/devices", json=NEW, headers=ALICE)
    assert r.status_code == 201
    device = r.json()
    assert r.headers["location"] == f"/devices/{device['id']}"
    assert device["escalation_after_seconds"] == 300 and device["room"] == ""
    assert [(e.event_type, e.payload["device"]["owner_id"]) for e in state.outbox] == [("device.created", "alice01")]


def test_another_users_device_is_404_everywhere(client):
    device = client.post("/devices", json=NEW, headers=ALICE).json()
    for method in ("GET", "DELETE"):
        r = client.request(method, f"/devices/{device['id']}", headers=BOB)
        assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    assert client.patch(f"/devices/{device['id']}", json={"name": "x"}, headers=BOB).status_code == 404
    assert client.get("/devices", headers=BOB).json()["items"] == []


def test_patch_merges_and_empty_patch_changes_nothing(client, state):
    device = client.post("/devices", json=NEW, headers=ALICE).json()
    same = client.patch(f"/devices/{device['id']}", json={}, headers=ALICE).json()
    assert same == device
    patched = client.patch(f"/devices/{device['id']}", json={"low_threshold": None}, headers=ALICE).json()
    assert patched["low_threshold"] is None and patched["high_threshold"] == 30
    assert [e.event_type for e in state.outbox] == ["device.created", "device.updated"]


def test_delete_is_204_then_404_and_queues_device_deleted(client, state):
    device = client.post("/devices", json=NEW, headers=ALICE).json()
    assert client.delete(f"/devices/{device['id']}", headers=ALICE).status_code == 204
    assert client.get(f"/devices/{device['id']}", headers=ALICE).status_code == 404
    assert state.outbox[-1].event_type == "device.deleted"


def test_pagination_walks_every_device_once(client):
    ids = [client.post("/devices", json={**NEW, "name": f"d{i}"}, headers=ALICE).json()["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/devices", params=params, headers=ALICE).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_idempotency_key_replays_and_rejects_other_body(client, state):
    h = {**ALICE, "Idempotency-Key": "create-1"}
    first = client.post("/devices", json=NEW, headers=h)
    again = client.post("/devices", json=NEW, headers=h)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    other = client.post("/devices", json={**NEW, "name": "Other"}, headers=h)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(state.outbox) == 1


@pytest.mark.parametrize("body,ctype,status,slug", [
    (b'{"name": ', "application/json", 400, "malformed-request"),
    (b'name=x', "text/plain", 415, "unsupported-media-type"),
    (b'[1]', "application/json", 422, "validation-error"),
    (b'{"name": "x", "kind": "lava"}', "application/json", 422, "validation-error"),
    (b'{"name": "x", "kind": "co2", "colour": 1}', "application/json", 422, "validation-error"),
])
def test_bad_bodies_are_problems_and_store_nothing(client, state, body, ctype, status, slug):
    r = client.post("/devices", content=body, headers={**ALICE, "content-type": ctype})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"/problems/{slug}"
    assert state.outbox == [] and state.tables["devices"] == {}


def test_missing_caller_header_is_401_with_bearer_challenge(client):
    r = client.get("/devices")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_unknown_route_and_method_are_problems(client):
    assert client.get("/nowhere", headers=ALICE).json()["type"] == "/problems/not-found"
    r = client.request("PUT", "/devices", headers=ALICE)
    assert r.status_code == 405 and r.json()["type"] == "/problems/method-not-allowed"


def test_bad_cursor_and_limit_are_422_on_the_parameter(client):
    r = client.get("/devices", params={"cursor": "nope", "limit": "0"}, headers=ALICE)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"cursor", "limit"}


def test_internal_routes_expose_owner_for_other_services_with_the_service_token_only(client):
    device = client.post("/devices", json=NEW, headers=ALICE).json()
    service = {"x-homesense-service-token": AUTH_SETTINGS["service_token"]}
    assert client.get(f"/internal/devices/{device['id']}", headers=service).json()["owner_id"] == "alice01"
    assert client.get("/internal/devices/missing", headers=service).status_code == 404
    for headers in ({}, ALICE, {"x-homesense-service-token": "wrong-token-0123456789"}):
        r = client.get(f"/internal/devices/{device['id']}", headers=headers)
        assert r.status_code == 401 and r.json()["type"] == "/problems/unauthorized"


def test_the_user_header_alone_is_refused_and_a_token_is_checked_by_the_service(client):
    # Zero trust: whoever reaches the port must prove who they are with a valid token.
    r = client.get("/devices", headers={"x-homesense-user-id": "alice01"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    forged = ALICE["Authorization"][:-4] + "AAAA"
    assert client.get("/devices", headers={"Authorization": forged}).status_code == 401


def test_request_id_is_echoed_when_valid_and_made_when_not(client):
    assert client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/health", headers={"X-Request-Id": "bad id!"}).headers["x-request-id"]
    assert made != "bad id!" and len(made) == 26
