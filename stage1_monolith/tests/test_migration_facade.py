"""The migration facade (off by default): device events for the NATS relay and the /internal routes."""
from __future__ import annotations

import dataclasses

import pytest

from stage1_monolith.background import OutboxWorker
from stage1_monolith.settings import SettingsError
from stage1_monolith.tests.conftest import signup
from stage1_monolith.web.app import create_app


SERVICE_TOKEN = "test-service-token-0123456789"
SERVICE = {"x-homesense-service-token": SERVICE_TOKEN}


def _device(client, user) -> dict:
    r = client.post("/devices", json={"name": "boiler", "kind": "temperature"}, headers=user["headers"])
    assert r.status_code == 201
    return r.get_json()


def test_off_by_default_no_device_events_and_no_internal_routes(client, memory_uow):
    user = signup(client)
    device = _device(client, user)
    with memory_uow() as tx:
        assert tx.outbox.pending_count() == 0
    assert client.get(f"/internal/devices/{device['id']}").status_code == 404


def test_device_events_reach_the_relay_in_stage_2_form(settings, memory_uow, signing_key, clock, hub):
    on = dataclasses.replace(settings, internal_api=True, service_token=SERVICE_TOKEN)
    client = create_app(on, uow=memory_uow, signing_key=signing_key, clock=clock, hub=hub,
                        device_events=True).test_client()
    user = signup(client)
    device = _device(client, user)
    assert client.patch(f"/devices/{device['id']}", json={"room": "cellar"}, headers=user["headers"]).status_code == 200
    assert client.delete(f"/devices/{device['id']}", headers=user["headers"]).status_code == 204
    relayed = []
    OutboxWorker(memory_uow, clock, hub.publish, lambda *event: relayed.append(event)).run_once()
    assert [e[0] for e in relayed] == ["device.created", "device.updated", "device.deleted"]
    assert relayed[1][1]["device"] == {**device, "room": "cellar", "owner_id": user["id"]}
    assert len({e[2] for e in relayed}) == 3  # one Nats-Msg-Id per outbox row
    with memory_uow() as tx:
        assert tx.outbox.pending_count() == 0


def test_internal_device_snapshot_has_the_owner(settings, memory_uow, signing_key, clock, hub):
    on = dataclasses.replace(settings, internal_api=True, service_token=SERVICE_TOKEN)
    client = create_app(on, uow=memory_uow, signing_key=signing_key, clock=clock, hub=hub).test_client()
    user = signup(client)
    device = _device(client, user)
    r = client.get(f"/internal/devices/{device['id']}", headers=SERVICE)
    assert r.status_code == 200 and r.get_json() == {**device, "owner_id": user["id"]}
    missing = client.get("/internal/devices/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=SERVICE)
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    # No controls wired (only the runtime has them): the hand-over route says so.
    assert client.post("/internal/migration/handover", headers=SERVICE).status_code == 404


def test_internal_routes_need_the_service_token(settings, memory_uow, signing_key, clock, hub):
    on = dataclasses.replace(settings, internal_api=True, service_token=SERVICE_TOKEN)
    client = create_app(on, uow=memory_uow, signing_key=signing_key, clock=clock, hub=hub).test_client()
    user = signup(client)
    device = _device(client, user)
    for headers in ({}, {"x-homesense-service-token": "wrong-token-0123456789"},
                    {"x-homesense-service-token": ""}, user["headers"]):
        for r in (client.get(f"/internal/devices/{device['id']}", headers=headers),
                  client.post("/internal/migration/handover", headers=headers)):
            assert r.status_code == 401 and r.content_type == "application/problem+json", headers
    assert client.get(f"/internal/devices/{device['id']}", headers=SERVICE).status_code == 200


def test_the_internal_api_cannot_be_switched_on_without_a_service_token(settings):
    for token in (None, "", "short"):
        with pytest.raises(SettingsError, match="HOMESENSE_SERVICE_TOKEN"):
            dataclasses.replace(settings, internal_api=True, service_token=token)
