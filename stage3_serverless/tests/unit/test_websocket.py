"""WebSocket handlers: token check before the upgrade, ping/pong, disconnect, gone connections."""

import json

import pytest

from .support import ws_event


def connect(harness, connection_id, token):
    query = None if token is None else {"token": token}
    return harness.client.lambda_.invoke("on_ws_connect", ws_event("$connect", connection_id, query)).payload


@pytest.mark.parametrize("token", [None, "", "not.a.jwt"], ids=["missing", "empty", "garbage"])
def test_connect_without_a_valid_token_is_refused_with_401(harness, token):
    assert connect(harness, "c-bad", token) == {"statusCode": 401}
    assert harness.deps.connections.for_user("anyone") == []


def test_connect_remembers_the_connection_with_its_callback_endpoint(harness):
    user, token = harness.user()
    assert connect(harness, "c-1", token) == {"statusCode": 200}
    [conn] = harness.deps.connections.for_user(user["id"])
    assert (conn.connection_id, conn.endpoint) == \
        ("c-1", "https://abc123.execute-api.us-east-1.amazonaws.com/api")


def test_configured_endpoint_wins_over_the_event_domain(harness):
    from dataclasses import replace
    harness.deps.settings = replace(harness.deps.settings, websocket_endpoint="http://127.0.0.1:4566/ws")
    user, token = harness.user()
    connect(harness, "c-2", token)
    assert harness.deps.connections.for_user(user["id"])[0].endpoint == "http://127.0.0.1:4566/ws"


def test_ping_is_answered_with_pong_and_other_messages_are_ignored(harness):
    _, token = harness.user()
    connect(harness, "c-3", token)
    for body in ('{"action":"ping"}', "hello", '{"action":"dance"}'):
        out = harness.client.lambda_.invoke("on_ws_message", ws_event("$default", "c-3", body=body)).payload
        assert out == {"statusCode": 200}
    assert [(c, json.loads(d)) for c, d in harness.poster.sent] == [("c-3", {"type": "pong"})]


def test_disconnect_forgets_the_connection(harness):
    user, token = harness.user()
    connect(harness, "c-4", token)
    harness.client.lambda_.invoke("on_ws_disconnect", ws_event("$disconnect", "c-4"))
    assert harness.deps.connections.for_user(user["id"]) == []


def test_gone_connection_is_removed_and_others_still_get_the_push(harness):
    user, token = harness.user()
    connect(harness, "c-gone", token)
    connect(harness, "c-live", token)
    harness.poster.gone.add("c-gone")
    d = harness.device(token, low_threshold=10)
    harness.post_values(token, d["id"], [1])
    assert [c for c, _ in harness.poster.sent] == ["c-live"]
    assert [c.connection_id for c in harness.deps.connections.for_user(user["id"])] == ["c-live"]


def test_pushes_go_only_to_the_owner(harness):
    _, alice = harness.user()
    _, bob = harness.user()
    connect(harness, "c-alice", alice)
    connect(harness, "c-bob", bob)
    d = harness.device(alice, low_threshold=10)
    harness.post_values(alice, d["id"], [1])
    assert [c for c, _ in harness.poster.sent] == ["c-alice"]
