import json
from datetime import timedelta

import pytest

from homesense_core.events import EVENT_TYPES, client_reply, push_message
from homesense_core.tests.alert_support import T0, open_alert


def test_push_message_wraps_alert_json_with_type_and_time():
    alert = open_alert()
    msg = push_message("alert.opened", alert, T0 + timedelta(milliseconds=5))
    assert msg["type"] == "alert.opened" and msg["sent_at"] == "2026-11-27T09:00:00.005Z"
    assert msg["alert"]["id"] == alert.id and "owner_id" not in msg["alert"]
    json.dumps(msg)


def test_push_message_refuses_unknown_event_types():
    assert EVENT_TYPES == ("alert.opened", "alert.escalated", "alert.acknowledged", "alert.resolved")
    with pytest.raises(ValueError):
        push_message("alert.updated", open_alert(), T0)


@pytest.mark.parametrize("text, reply", [
    ('{"action":"ping"}', {"type": "pong"}), (b'{"action": "ping", "x": 1}', {"type": "pong"}),
    ('{"action":"pong"}', None), ("ping", None), ("[]", None), ("", None), (None, None),
])
def test_client_reply_answers_ping_with_pong_only(text, reply):
    assert client_reply(text) == reply
