"""No trust by network position: a process that reaches a service port, NATS or Envoy's admin
interface directly gets nothing without the credentials the deployment hands out.

The real topology runs here; every "direct" call bypasses the gateway on purpose.
"""
from __future__ import annotations

import asyncio
import http.client
import socket
import uuid

import nats
import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

PROBLEM = "application/problem+json"


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=5)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.unix_path)


@pytest.fixture(scope="module")
def world(real_topology):
    """A user with a device and a token, made through the gateway."""
    base = real_topology.base_url
    name, password = f"zt{uuid.uuid4().hex[:10]}", "correct-horse-battery"
    user = requests.post(base + "/users", json={"username": name, "password": password}, timeout=10)
    assert user.status_code == 201, user.text
    token = requests.post(base + "/auth/token", json={"username": name, "password": password},
                          timeout=10).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    device = requests.post(base + "/devices", headers=auth, timeout=10, json={
        "name": "cellar", "kind": "temperature", "low_threshold": 10}).json()
    return {"topo": real_topology, "user_id": user.json()["id"], "token": token, "device": device}


# (service, method, path template, body): every user route, called on the service's own port.
DIRECT_CALLS = [
    ("identity", "GET", "/me", None),
    ("devices", "GET", "/devices", None),
    ("devices", "POST", "/devices", {"name": "evil", "kind": "temperature"}),
    ("devices", "GET", "/devices/{device}", None),
    ("devices", "PATCH", "/devices/{device}", {"name": "owned"}),
    ("devices", "DELETE", "/devices/{device}", None),
    ("telemetry", "POST", "/devices/{device}/readings", {"readings": [{"value": 1}]}),
    ("telemetry", "GET", "/devices/{device}/readings", None),
    ("telemetry", "GET", "/devices/{device}/readings/summary", None),
    ("alerts", "GET", "/alerts", None),
    ("alerts", "POST", "/alerts/{device}/ack", None),
]


@pytest.mark.parametrize("service,method,path,body", DIRECT_CALLS,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in DIRECT_CALLS])
@pytest.mark.parametrize("credentials", ["user-header-only", "forged-token"])
def test_a_direct_call_to_a_service_port_without_a_valid_token_is_401(world, service, method, path,
                                                                       body, credentials):
    headers = {"x-homesense-user-id": world["user_id"]}
    if credentials == "forged-token":
        # A well-formed token for the victim, signed by a key identity never published.
        from homesense_core.tokens import SigningKey, TokenIssuer
        forged = TokenIssuer(SigningKey.generate()).issue(world["user_id"], "victim", 600)
        headers["Authorization"] = f"Bearer {forged}"
    url = world["topo"].service_url(service) + path.format(device=world["device"]["id"])
    response = requests.request(method, url, json=body, headers=headers, timeout=10)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "/problems/unauthorized"
    # Nothing changed: the device is still there, unrenamed, through the gateway.
    auth = {"Authorization": f"Bearer {world['token']}"}
    still = requests.get(f"{world['topo'].base_url}/devices/{world['device']['id']}", headers=auth, timeout=10)
    assert still.status_code == 200 and still.json()["name"] == "cellar"


def test_a_valid_token_works_on_the_service_port_so_the_401s_are_about_the_token(world):
    auth = {"Authorization": f"Bearer {world['token']}"}
    response = requests.get(world["topo"].service_url("devices") + "/devices", headers=auth, timeout=10)
    assert response.status_code == 200
    assert [d["id"] for d in response.json()["items"]] == [world["device"]["id"]]


def test_the_internal_device_route_needs_the_service_token(world):
    url = f"{world['topo'].service_url('devices')}/internal/devices/{world['device']['id']}"
    for headers in ({}, {"x-homesense-user-id": world["user_id"]},
                    {"Authorization": f"Bearer {world['token']}"},
                    {"x-homesense-service-token": "0" * 64}):
        assert requests.get(url, headers=headers, timeout=10).status_code == 401
    good = {"x-homesense-service-token": world["topo"].secrets["service_token"]}
    assert requests.get(url, headers=good, timeout=10).json()["owner_id"] == world["user_id"]


def test_the_notifier_websocket_refuses_a_direct_upgrade_without_a_token(world):
    url = world["topo"].service_url("notifier").replace("http", "ws") + "/ws"
    with pytest.raises(InvalidStatus) as refused:
        with connect(url, additional_headers={"x-homesense-user-id": world["user_id"]}, open_timeout=10):
            pass
    assert refused.value.response.status_code == 403
    with connect(f"{url}?token={world['token']}", open_timeout=10) as ws:
        ws.send('{"action":"ping"}')
        assert ws.recv(timeout=10) == '{"type":"pong"}'


def test_nats_refuses_a_client_without_the_deployment_credentials(world):
    topo = world["topo"]
    anonymous = f"nats://{topo.host}:{topo.ports['nats']}"

    async def attempt(url):
        nc = await nats.connect(url, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0)
        await nc.publish("homesense.alert.opened", b"{}")
        await nc.close()

    for url in (anonymous, anonymous.replace("nats://", "nats://homesense:wrong@")):
        with pytest.raises(Exception) as refused:
            asyncio.run(attempt(url))
        assert "authorization" in repr(refused.value).lower()
    asyncio.run(attempt(topo.nats_url))  # the runner's credentials do work


def test_envoy_admin_is_a_private_unix_socket_and_no_tcp_port(world):
    topo = world["topo"]
    config = (topo.data_dir / "gateway" / "envoy.yaml").read_text()
    admin = config[config.index("\nadmin:"):config.index("\noverload_manager:")]
    assert "socket_address" not in admin and "pipe:" in admin
    path = topo.gateway_admin_socket
    assert path.stat().st_mode & 0o077 == 0
    conn = _UnixHTTPConnection(str(path))
    conn.request("GET", "/ready")
    assert conn.getresponse().status == 200  # the admin interface is there, and only there
    conn.close()
