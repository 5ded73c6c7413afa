"""Notifier: token check before the upgrade, ping/pong, fan-out only to the owner's sockets."""

import asyncio
import json

import pytest
import websockets

from homesense_core.clock import format_ts, utcnow
from homesense_core.model import Alert, alert_to_json
from homesense_core.tokens import SigningKey, TokenIssuer

from stage2_microservices.common.messaging import Bus, Topology
from stage2_microservices.services.notifier.auth import JwksVerifier
from stage2_microservices.services.notifier.hub import Connection, Hub
from stage2_microservices.services.notifier.main import create_app
from stage2_microservices.services.notifier.service import NotifierService
from stage2_microservices.services.notifier.settings import NotifierSettings
from stage2_microservices.testing.support import ServerThread, wait_until

KEY = SigningKey.generate()


def _alert(owner="alice01"):
    now = utcnow()
    return Alert("01ALERT", "01DEV", owner, "low", "open", 1, 10.0, 5.0, 5.0, 1, now, None, None, None, now)


def _event(alert):
    return {"alert": alert_to_json(alert), "owner_id": alert.owner_id}


class Recorder(Connection):
    def __init__(self, fail=False):
        super().__init__()
        self.sent, self.fail = [], fail

    async def _send(self, message):
        if self.fail:
            raise ConnectionError("gone")
        self.sent.append(message)


@pytest.mark.anyio
async def test_events_reach_only_the_owners_connections_and_dead_ones_are_dropped():
    hub = Hub()
    mine, theirs, dead = Recorder(), Recorder(), Recorder(fail=True)
    hub.add("alice01", mine)
    hub.add("alice01", dead)
    hub.add("bob01", theirs)
    service = NotifierService(hub)
    assert await service.on_alert_event("alert.opened", _event(_alert()), "m1") == 1
    assert mine.sent[0]["type"] == "alert.opened" and mine.sent[0]["alert"]["id"] == "01ALERT"
    assert set(mine.sent[0]) == {"type", "alert", "sent_at"}
    assert theirs.sent == [] and hub.count("alice01") == 1


@pytest.mark.anyio
async def test_updates_are_not_pushed():
    hub, conn = Hub(), Recorder()
    hub.add("alice01", conn)
    assert await NotifierService(hub).on_alert_event("alert.updated", _event(_alert()), "m1") == 0
    assert conn.sent == []


@pytest.mark.anyio
async def test_verifier_refetches_the_jwks_for_a_new_key():
    keys = [SigningKey.generate()]
    fetches = []

    async def fetch():
        fetches.append(1)
        return keys[-1].jwks()

    verifier = JwksVerifier(fetch, min_refresh=0)
    token = TokenIssuer(keys[0]).issue("alice01", "alice", 60)
    assert (await verifier.verify(token)).user_id == "alice01"
    keys.append(SigningKey.generate())
    token = TokenIssuer(keys[1]).issue("bob01", "bob", 60)
    assert (await verifier.verify(token)).user_id == "bob01"
    assert len(fetches) == 2


@pytest.fixture
def served():
    async def fetch():
        return KEY.jwks()

    settings = NotifierSettings(nats_url="nats://127.0.0.1:1", identity_url="http://127.0.0.1:1")
    app = create_app(settings, verifier=JwksVerifier(fetch), subscribe=False)
    server = ServerThread(app)
    yield server, app
    server.stop()


def _ws_url(server, token):
    return server.url.replace("http", "ws") + f"/ws?token={token}"


def test_bad_or_missing_token_is_refused_before_the_upgrade(served):
    server, _ = served

    async def attempt(url):
        with pytest.raises(websockets.exceptions.InvalidStatus) as err:
            async with websockets.connect(url):
                pass
        return err.value.response.status_code

    assert asyncio.run(attempt(_ws_url(server, "garbage"))) == 403
    assert asyncio.run(attempt(server.url.replace("http", "ws") + "/ws")) == 403


def test_ping_pong_and_push_over_a_real_socket(served):
    server, app = served
    token = TokenIssuer(KEY).issue("alice01", "alice", 60)

    async def session_with_push():
        async with websockets.connect(_ws_url(server, token)) as ws:
            await ws.send(json.dumps({"action": "ping"}))
            assert json.loads(await ws.recv()) == {"type": "pong"}
            fut = asyncio.run_coroutine_threadsafe(
                app.state.service.on_alert_event("alert.opened", _event(_alert()), "m1"), server_loop(server))
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert fut.result(5) == 1
            return message

    message = asyncio.run(session_with_push())
    assert message["type"] == "alert.opened" and message["alert"]["device_id"] == "01DEV"
    wait_until(lambda: app.state.hub.count("alice01") == 0, timeout=5)


def server_loop(server):
    """The event loop uvicorn runs the app on."""
    return server.loop


def test_alert_events_from_jetstream_are_pushed(nats_server, namespace):
    async def fetch():
        return KEY.jwks()

    settings = NotifierSettings(nats_url=nats_server.url, identity_url="http://127.0.0.1:1",
                                events_namespace=namespace)
    app = create_app(settings, verifier=JwksVerifier(fetch))
    server = ServerThread(app)
    try:
        token = TokenIssuer(KEY).issue("alice01", "alice", 60)

        async def run():
            async with websockets.connect(_ws_url(server, token)) as ws:
                bus = Bus(nats_server.url, Topology(namespace), "test-publisher")
                await bus.connect()
                await bus.publish("alert.escalated", _event(_alert()), "e1")
                await bus.close()
                return json.loads(await asyncio.wait_for(ws.recv(), 5))

        message = asyncio.run(run())
        assert message["type"] == "alert.escalated" and message["sent_at"] <= format_ts(utcnow())
    finally:
        server.stop()


def test_a_user_header_without_a_token_is_refused_whoever_connects(served):
    # Zero trust: the notifier verifies the token itself; a header proves nothing.
    server, app = served

    async def attempt():
        url = server.url.replace("http", "ws") + "/ws"
        with pytest.raises(websockets.exceptions.InvalidStatus) as err:
            async with websockets.connect(url, additional_headers={"x-homesense-user-id": "alice01"}):
                pass
        return err.value.response.status_code

    assert asyncio.run(attempt()) == 403
