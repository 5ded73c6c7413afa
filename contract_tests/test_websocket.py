"""Push channel: token check before the upgrade, ping/pong, the four alert events, owner only."""
import time

import pytest
from websockets.exceptions import InvalidStatus

from contract_tests.support import (WsClient, alg_none, assert_alert_shape, parse_ts, tampered_signature,
                                    wait_until)

pytestmark = pytest.mark.timeout(120)
PUSH_WAIT_S = 10


def refused_status(ws_url, token):
    with pytest.raises(InvalidStatus) as exc:
        WsClient(ws_url, token).close()
    return exc.value.response.status_code


@pytest.mark.parametrize("kind", ["missing", "garbage", "tampered", "alg none", "expired"])
def test_connection_without_a_valid_token_is_refused_before_upgrade(api, ws_url, make_user, kind):
    u = make_user("ws")
    if kind == "missing":
        token = None
    elif kind == "garbage":
        token = "garbage"
    elif kind == "tampered":
        token = tampered_signature(u.token)
    elif kind == "alg none":
        token = alg_none(u.token)
    else:
        token = api.token(u.username, u.password, expires_in=1)
        wait_until(lambda: api.get("/me", token=token).status_code == 401, message="token expiry")
    assert refused_status(ws_url, token) in (401, 403)


def ping(ws):
    """Send a ping and return the pong; once it arrives the connection is registered."""
    ws.send_json({"action": "ping"})
    return ws.wait_for(lambda m: m == {"type": "pong"}, timeout=5)


def test_ping_is_answered_with_pong(ws_connect, user):
    assert ping(ws_connect(user.token)) == {"type": "pong"}


def is_event(t, alert_id, **fields):
    def match(m):
        if not (isinstance(m, dict) and m.get("type") == t and isinstance(m.get("alert"), dict)):
            return False
        a = m["alert"]
        return a.get("id") == alert_id and all(a.get(k) == v for k, v in fields.items())
    return match


def check_message(m):
    assert set(m) == {"type", "alert", "sent_at"}, m
    assert_alert_shape(m["alert"])
    parse_ts(m["sent_at"])


def test_alert_lifecycle_is_pushed_to_every_connection_of_the_owner_only(api, ws_connect, make_user):
    owner, stranger = make_user("wsowner"), make_user("wsstranger")
    d = api.create_device(owner, low_threshold=10, escalation_after_seconds=1)
    first, second = ws_connect(owner.token), ws_connect(owner.token)
    spy = ws_connect(stranger.token)
    # Make sure all three connections are registered before anything happens.
    for ws in (first, second, spy):
        ping(ws)

    api.post_readings(owner, d["id"], [3.0])
    opened = first.wait_for(lambda m: isinstance(m, dict) and m.get("type") == "alert.opened",
                            timeout=PUSH_WAIT_S, message="alert.opened")
    check_message(opened)
    alert_id = opened["alert"]["id"]
    assert opened["alert"]["device_id"] == d["id"]
    assert (opened["alert"]["status"], opened["alert"]["level"], opened["alert"]["first_value"]) == ("open", 1, 3.0)
    second.wait_for(is_event("alert.opened", alert_id), timeout=PUSH_WAIT_S, message="alert.opened on 2nd")

    escalated = first.wait_for(is_event("alert.escalated", alert_id, level=2), timeout=PUSH_WAIT_S,
                               message="alert.escalated")
    check_message(escalated)
    assert escalated["alert"]["escalated_at"] is not None

    ack = api.post(f"/alerts/{alert_id}/ack", user=owner)
    assert ack.status_code == 200
    acked = first.wait_for(is_event("alert.acknowledged", alert_id, status="acknowledged"),
                           timeout=PUSH_WAIT_S, message="alert.acknowledged")
    check_message(acked)
    assert acked["alert"]["acknowledged_at"] == ack.json()["acknowledged_at"]

    api.post_readings(owner, d["id"], [20.0])
    resolved = first.wait_for(is_event("alert.resolved", alert_id, status="resolved"),
                              timeout=PUSH_WAIT_S, message="alert.resolved")
    check_message(resolved)
    assert resolved["alert"] == api.alert(owner, alert_id)
    for t in ("alert.escalated", "alert.acknowledged", "alert.resolved"):
        second.wait_for(is_event(t, alert_id), timeout=PUSH_WAIT_S, message=f"{t} on 2nd connection")

    # Only the four event types, and nothing about an update of last_value.
    types = {m.get("type") for m in first.snapshot() if isinstance(m, dict)}
    assert types <= {"pong", "alert.opened", "alert.escalated", "alert.acknowledged", "alert.resolved"}, types
    assert_silent_but_alive(spy)


def assert_silent_but_alive(spy):
    """Nothing but pongs reached spy, and it is still connected and registered: a second ping
    is answered, so the silence is not that of a dead connection."""
    time.sleep(1.0)
    spy.send_json({"action": "ping"})
    wait_until(lambda: len(spy.snapshot()) >= 2, timeout=5, message="pong from the spy's connection")
    time.sleep(0.2)
    assert spy.snapshot() == [{"type": "pong"}, {"type": "pong"}]


def test_stranger_connection_receives_nothing_from_others_alerts(api, ws_connect, make_user):
    owner, stranger = make_user("wsowner"), make_user("wsstranger")
    spy = ws_connect(stranger.token)
    ping(spy)
    mine = ws_connect(owner.token)
    ping(mine)
    d = api.create_device(owner, high_threshold=30)
    api.post_readings(owner, d["id"], [50.0])
    mine.wait_for(lambda m: isinstance(m, dict) and m.get("type") == "alert.opened", timeout=PUSH_WAIT_S)
    api.post_readings(owner, d["id"], [20.0])
    mine.wait_for(lambda m: isinstance(m, dict) and m.get("type") == "alert.resolved", timeout=PUSH_WAIT_S)
    assert_silent_but_alive(spy)
    # And the spy's connection does get pushes, its own: silence above was isolation.
    own = api.create_device(stranger, high_threshold=30)
    api.post_readings(stranger, own["id"], [50.0])
    spy.wait_for(lambda m: isinstance(m, dict) and m.get("type") == "alert.opened"
                 and m["alert"]["device_id"] == own["id"], timeout=PUSH_WAIT_S, message="the spy's own alert")
