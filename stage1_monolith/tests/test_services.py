"""Use cases over the in-memory fake: accounts, devices, readings, idempotency."""
from __future__ import annotations

from datetime import timedelta

import pytest

from homesense_core.clock import format_ts
from homesense_core.problems import Conflict, NotFound, Unauthorized, ValidationFailed
from homesense_core.tokens import TokenIssuer, TokenVerifier

from stage1_monolith.services import accounts, devices, readings
from stage1_monolith.services.common import Idempotency
from stage1_monolith.tests.conftest import unique


def test_registered_user_gets_a_token_that_verifies(memory_uow, clock, signing_key):
    name = unique()
    user = accounts.register_user(memory_uow, {"username": name, "password": "long-enough"}, clock)
    token = accounts.issue_token(memory_uow, TokenIssuer(signing_key), {"username": name, "password": "long-enough", "expires_in": 60}, clock)
    claims = TokenVerifier(signing_key.jwks()).verify(token["access_token"], now=clock())
    assert (claims.user_id, token["expires_in"], token["token_type"]) == (user["id"], 60, "Bearer")


def test_taken_username_is_a_conflict(memory_uow, clock):
    name = unique()
    accounts.register_user(memory_uow, {"username": name, "password": "long-enough"}, clock)
    with pytest.raises(Conflict):
        accounts.register_user(memory_uow, {"username": name, "password": "other-password"}, clock)


@pytest.mark.parametrize("username,password", [("nobody-here", "long-enough"), (None, "wrong-password")])
def test_unknown_user_and_wrong_password_get_the_same_401(memory_uow, clock, signing_key, username, password):
    name = unique()
    accounts.register_user(memory_uow, {"username": name, "password": "long-enough"}, clock)
    with pytest.raises(Unauthorized) as err:
        accounts.issue_token(memory_uow, TokenIssuer(signing_key), {"username": username or name, "password": password}, clock)
    assert err.value.detail == "Unknown user or wrong password."


def test_another_users_device_is_not_found(memory_uow, clock):
    device = devices.create_device(memory_uow, "alice", {"name": "x", "kind": "co2"}, clock).body
    with pytest.raises(NotFound):
        devices.get_device(memory_uow, "bob", device["id"])
    with pytest.raises(NotFound):
        readings.accept_readings(memory_uow, "bob", device["id"], {"readings": [{"value": 1}]}, clock)


def test_device_pages_follow_the_cursor_to_the_end(memory_uow, clock):
    owner = unique("owner")
    created = []
    for i in range(5):
        created.append(devices.create_device(memory_uow, owner, {"name": f"d{i}", "kind": "power"}, clock).body["id"])
        clock.advance(0.001 if i % 2 else 0)  # some share a created_at: the id breaks the tie
    seen, cursor = [], None
    while True:
        page = devices.list_devices(memory_uow, owner, {"limit": "2", **({"cursor": cursor} if cursor else {})})
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created) and len(seen) == 5


def test_cursor_of_the_wrong_shape_is_a_422_on_cursor(memory_uow, clock):
    from homesense_core.cursor import encode_cursor

    with pytest.raises(ValidationFailed) as err:
        devices.list_devices(memory_uow, "o", {"cursor": encode_cursor({"t": "x", "k": 1})})
    assert [e.field for e in err.value.errors] == ["cursor"]


def test_empty_patch_leaves_updated_at_alone(memory_uow, clock):
    device = devices.create_device(memory_uow, "o", {"name": "x", "kind": "co2"}, clock).body
    clock.advance(10)
    assert devices.patch_device(memory_uow, "o", device["id"], {}, clock) == device
    patched = devices.patch_device(memory_uow, "o", device["id"], {"room": "Attic"}, clock)
    assert patched["updated_at"] == format_ts(clock())


def test_delete_removes_device_readings_and_alerts(memory_uow, clock):
    device = devices.create_device(memory_uow, "o", {"name": "x", "kind": "co2", "high_threshold": 1}, clock).body
    readings.accept_readings(memory_uow, "o", device["id"], {"readings": [{"value": 5}]}, clock)
    devices.delete_device(memory_uow, "o", device["id"])
    with memory_uow() as tx:
        assert tx.readings.page(device["id"], None, None, False, 10, None) == []
    with pytest.raises(NotFound):
        readings.list_readings(memory_uow, "o", device["id"], {})


def test_readings_and_their_event_are_written_together(memory_uow, clock):
    device = devices.create_device(memory_uow, "o", {"name": "x", "kind": "co2"}, clock).body
    at = format_ts(clock() - timedelta(minutes=1))
    result = readings.accept_readings(memory_uow, "o", device["id"], {"readings": [{"value": 1}, {"value": 2, "recorded_at": at}]}, clock)
    assert (result.status, result.body) == (202, {"accepted": 2})
    with memory_uow() as tx:
        event = tx.outbox.next_pending()
    assert event.topic == "reading.accepted" and event.payload["device"]["id"] == device["id"]
    assert [r["value"] for r in event.payload["readings"]] == [1.0, 2.0]
    assert readings.readings_summary(memory_uow, "o", device["id"], {})["count"] == 2


def test_invalid_batch_stores_nothing(memory_uow, clock):
    device = devices.create_device(memory_uow, "o", {"name": "x", "kind": "co2"}, clock).body
    with pytest.raises(ValidationFailed) as err:
        readings.accept_readings(memory_uow, "o", device["id"], {"readings": [{"value": 1}, {"value": "hot"}]}, clock)
    assert [e.field for e in err.value.errors] == ["readings/1/value"]
    with memory_uow() as tx:
        assert tx.outbox.pending_count() == 0


def test_idempotent_repeat_replays_and_stores_nothing_new(memory_uow, clock):
    device = devices.create_device(memory_uow, "o", {"name": "x", "kind": "co2"}, clock).body
    idem = Idempotency("key-1", "fp-a")
    body = {"readings": [{"value": 1}]}
    first = readings.accept_readings(memory_uow, "o", device["id"], body, clock, idem)
    second = readings.accept_readings(memory_uow, "o", device["id"], body, clock, idem)
    assert first == second
    assert readings.readings_summary(memory_uow, "o", device["id"], {})["count"] == 1
    with pytest.raises(ValidationFailed) as err:
        readings.accept_readings(memory_uow, "o", device["id"], body, clock, Idempotency("key-1", "fp-b"))
    assert err.value.errors[0].field == "Idempotency-Key"


def test_idempotency_key_expires_after_a_day(memory_uow, clock):
    idem = Idempotency("key-2", "fp")
    first = devices.create_device(memory_uow, "o", {"name": "x", "kind": "co2"}, clock, idem)
    clock.advance(86400)
    second = devices.create_device(memory_uow, "o", {"name": "x", "kind": "co2"}, clock, idem)
    assert first.body["id"] != second.body["id"]
