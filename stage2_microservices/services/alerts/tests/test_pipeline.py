"""Integration: devices -> telemetry -> alerts -> notifier over real PostgreSQL and JetStream.

Each service runs its own uvicorn in a thread, with its own database, as in production.
"""

import asyncio
import json

import pytest
import requests
import websockets

from homesense_core.tokens import SigningKey, TokenIssuer

from stage2_microservices.common.auth import JwksVerifier, static_jwks
from stage2_microservices.testing.support import AUTH_SETTINGS, ServerThread, wait_until
from stage2_microservices.services.alerts.main import create_app as alerts_app
from stage2_microservices.services.alerts.settings import AlertsSettings
from stage2_microservices.services.devices.main import create_app as devices_app
from stage2_microservices.services.devices.settings import DevicesSettings
from stage2_microservices.services.notifier.main import create_app as notifier_app
from stage2_microservices.services.notifier.settings import NotifierSettings
from stage2_microservices.services.telemetry.main import create_app as telemetry_app
from stage2_microservices.services.telemetry.settings import TelemetrySettings

KEY = SigningKey.generate()
USER = "01PIPELINEUSER"
H = {"Authorization": "Bearer " + TokenIssuer(KEY).issue(USER, "u", 3600)}

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(postgres, nats_server, namespace):
    common = {"nats_url": nats_server.url, "events_namespace": namespace}
    auth = {**common, **AUTH_SETTINGS}

    def verifier():
        return JwksVerifier(static_jwks(KEY.jwks()))
    devices = ServerThread(devices_app(DevicesSettings(database_url=postgres.create_database("dev"), **auth),
                                       verifier=verifier()))
    alerts_db = postgres.create_database("alr")
    alerts_settings = AlertsSettings(database_url=alerts_db, devices_url=devices.url,
                                     escalation_poll_seconds=0.2, **auth)
    servers = {
        "devices": devices,
        "telemetry": ServerThread(telemetry_app(TelemetrySettings(
            database_url=postgres.create_database("tel"), devices_url=devices.url, **auth),
            verifier=verifier())),
        "alerts": ServerThread(alerts_app(alerts_settings, verifier=verifier())),
    }

    async def jwks():
        return KEY.jwks()

    servers["notifier"] = ServerThread(notifier_app(
        NotifierSettings(identity_url="http://127.0.0.1:1", **common), verifier=JwksVerifier(jwks)))
    servers["alerts_settings"] = alerts_settings
    yield servers
    for name, server in servers.items():
        if isinstance(server, ServerThread):
            server.stop()


def _alerts(stack, **params):
    return requests.get(stack["alerts"].url + "/alerts", headers=H, params=params, timeout=5).json()["items"]


def test_reading_to_alert_to_push_then_delete_cleans_up(stack):
    device = requests.post(stack["devices"].url + "/devices", headers=H, timeout=5, json={
        "name": "cellar", "kind": "temperature", "low_threshold": 10, "high_threshold": 30}).json()
    ws_url = stack["notifier"].url.replace("http", "ws") + "/ws?token=" + TokenIssuer(KEY).issue(USER, "u", 60)

    async def watch():
        async with websockets.connect(ws_url) as ws:
            r = requests.post(f"{stack['telemetry'].url}/devices/{device['id']}/readings", headers=H,
                              timeout=5, json={"readings": [{"value": 5}, {"value": 3}, {"value": 20}]})
            assert r.status_code == 202
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]

    pushed = asyncio.run(watch())
    assert [m["type"] for m in pushed] == ["alert.opened", "alert.resolved"]
    (alert,) = wait_until(lambda: _alerts(stack, status="resolved"))
    assert alert["reading_count"] == 2 and alert["last_value"] == 3

    assert requests.delete(f"{stack['devices'].url}/devices/{device['id']}", headers=H, timeout=5).status_code == 204
    # Hidden once alerts consumes device.deleted (its own projection decides, not a call to devices).
    wait_until(lambda: _alerts(stack) == [], timeout=5)
    assert requests.get(f"{stack['alerts'].url}/alerts/{alert['id']}", headers=H, timeout=5).status_code == 404
    readings = requests.get(f"{stack['telemetry'].url}/devices/{device['id']}/readings", headers=H, timeout=5)
    assert readings.status_code == 404


def test_escalation_survives_a_restart_of_the_alerts_service(stack):
    device = requests.post(stack["devices"].url + "/devices", headers=H, timeout=5, json={
        "name": "attic", "kind": "co2", "high_threshold": 1000, "escalation_after_seconds": 1}).json()
    requests.post(f"{stack['telemetry'].url}/devices/{device['id']}/readings", headers=H, timeout=5,
                  json={"readings": [{"value": 1500}]})
    (alert,) = wait_until(lambda: _alerts(stack))
    stack["alerts"].stop()  # the due row stays in the database while nobody runs
    stack["alerts"] = ServerThread(alerts_app(stack["alerts_settings"],
                                              verifier=JwksVerifier(static_jwks(KEY.jwks()))))
    escalated = wait_until(lambda: [a for a in _alerts(stack) if a["level"] == 3], timeout=10)
    assert escalated[0]["id"] == alert["id"] and escalated[0]["escalated_at"] is not None


def test_alerts_answer_from_the_projection_while_devices_is_down(stack):
    device = requests.post(stack["devices"].url + "/devices", headers=H, timeout=5, json={
        "name": "garage", "kind": "temperature", "low_threshold": 10}).json()
    requests.post(f"{stack['telemetry'].url}/devices/{device['id']}/readings", headers=H, timeout=5,
                  json={"readings": [{"value": 1}]})
    (alert,) = wait_until(lambda: _alerts(stack, device_id=device["id"]))
    stack["devices"].stop()
    url = f"{stack['alerts'].url}/alerts/{alert['id']}"
    assert [a["id"] for a in _alerts(stack, device_id=device["id"])] == [alert["id"]]
    assert requests.get(url, headers=H, timeout=5).json()["id"] == alert["id"]
    acked = requests.post(url + "/ack", headers=H, timeout=5)
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
