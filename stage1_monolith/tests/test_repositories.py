"""One behaviour suite for the storage port, run against the in-memory fake and SQLite."""
from __future__ import annotations

from datetime import timedelta

import pytest

from homesense_core.model import Alert, Device, User

from stage1_monolith.adapters.ports import StoredResponse
from stage1_monolith.tests.conftest import unique


def make_user(now) -> User:
    return User(id=unique("id"), username=unique(), password_hash="scrypt$x", created_at=now)


def make_device(owner_id: str, now, **changes) -> Device:
    values = dict(id=unique("dev"), owner_id=owner_id, name="Hall", room="", kind="temperature", unit="C",
                  low_threshold=10.0, high_threshold=None, escalation_after_seconds=60,
                  created_at=now, updated_at=now)
    values.update(changes)
    return Device(**values)


def make_alert(device: Device, now, **changes) -> Alert:
    values = dict(id=unique("al"), device_id=device.id, owner_id=device.owner_id, kind="low", status="open",
                  level=1, threshold=10.0, first_value=5.0, last_value=5.0, reading_count=1, opened_at=now,
                  acknowledged_at=None, resolved_at=None, escalated_at=None, updated_at=now)
    values.update(changes)
    return Alert(**values)


class TestStoragePort:
    """Every adapter must behave exactly so (any_uow runs each test on memory and SQLite)."""

    def test_committed_user_is_found_by_id_and_username(self, any_uow, clock):
        user = make_user(clock())
        with any_uow(write=True) as tx:
            tx.users.add(user)
            tx.commit()
        with any_uow() as tx:
            assert tx.users.get(user.id) == user
            assert tx.users.get_by_username(user.username) == user

    def test_uncommitted_changes_are_rolled_back(self, any_uow, clock):
        user = make_user(clock())
        with any_uow(write=True) as tx:
            tx.users.add(user)
        with any_uow() as tx:
            assert tx.users.get(user.id) is None

    def test_devices_page_oldest_first_after_keyset(self, any_uow, clock):
        owner = unique("owner")
        devices = [make_device(owner, clock() + timedelta(seconds=i)) for i in range(3)]
        with any_uow(write=True) as tx:
            for d in reversed(devices):
                tx.devices.add(d)
            tx.devices.add(make_device(unique("other"), clock()))
            tx.commit()
        with any_uow() as tx:
            assert tx.devices.list_for_owner(owner, 2, None) == devices[:2]
            assert tx.devices.list_for_owner(owner, 2, (devices[1].created_at, devices[1].id)) == devices[2:]

    def test_device_update_and_delete(self, any_uow, clock):
        device = make_device(unique("owner"), clock())
        with any_uow(write=True) as tx:
            tx.devices.add(device)
            tx.devices.update(make_device(device.owner_id, clock(), id=device.id, name="Renamed", low_threshold=None))
            tx.commit()
        with any_uow(write=True) as tx:
            assert tx.devices.get(device.id).name == "Renamed"
            assert tx.devices.get(device.id).low_threshold is None
            tx.devices.delete(device.id)
            tx.commit()
        with any_uow() as tx:
            assert tx.devices.get(device.id) is None

    def test_a_large_batch_pairs_every_value_with_its_seq_in_array_order(self, any_uow, clock):
        t0 = clock()
        batch = [(float(i), t0) for i in range(500)]
        with any_uow(write=True) as tx:
            stored = tx.readings.add_many("dev-big", batch)
            tx.commit()
        assert [r.value for r in stored] == [v for v, _ in batch]
        assert [r.seq for r in stored] == sorted({r.seq for r in stored})
        with any_uow() as tx:
            page = tx.readings.page("dev-big", None, None, False, 500, None)
        assert [(r.value, r.seq) for r in page] == [(r.value, r.seq) for r in stored]

    def test_readings_keep_array_order_for_equal_timestamps_and_filter_range(self, any_uow, clock):
        t0 = clock()
        with any_uow(write=True) as tx:
            stored = tx.readings.add_many("dev-r", [(1.0, t0), (2.0, t0), (3.0, t0 + timedelta(seconds=1))])
            tx.readings.add_many("dev-other", [(9.0, t0)])
            tx.commit()
        assert [r.seq for r in stored] == sorted(r.seq for r in stored)
        with any_uow() as tx:
            asc = tx.readings.page("dev-r", None, None, False, 10, None)
            desc = tx.readings.page("dev-r", None, None, True, 10, None)
            ranged = tx.readings.page("dev-r", t0, t0 + timedelta(seconds=1), False, 10, None)
            after = tx.readings.page("dev-r", None, None, False, 10, (asc[0].recorded_at, asc[0].seq))
            values = list(tx.readings.values("dev-r", t0 + timedelta(seconds=1), None))
        assert [r.value for r in asc] == [1.0, 2.0, 3.0]
        assert [r.value for r in desc] == [3.0, 2.0, 1.0]
        assert [r.value for r in ranged] == [1.0, 2.0]
        assert [r.value for r in after] == [2.0, 3.0]
        assert values == [(3.0, t0 + timedelta(seconds=1))]

    def test_alerts_newest_first_with_filters_and_active_lookup(self, any_uow, clock):
        device = make_device(unique("owner"), clock())
        old = make_alert(device, clock(), status="resolved", resolved_at=clock())
        new = make_alert(device, clock() + timedelta(seconds=5), kind="high")
        with any_uow(write=True) as tx:
            tx.alerts.add(old)
            tx.alerts.add(new)
            tx.commit()
        with any_uow() as tx:
            assert tx.alerts.list_for_owner(device.owner_id, None, None, 10, None) == [new, old]
            assert tx.alerts.list_for_owner(device.owner_id, "resolved", None, 10, None) == [old]
            assert tx.alerts.list_for_owner(device.owner_id, None, "nope", 10, None) == []
            assert tx.alerts.list_for_owner(device.owner_id, None, None, 10, (new.opened_at, new.id)) == [old]
            assert tx.alerts.active_for_device(device.id) == [new]

    def test_outbox_hands_out_pending_messages_in_order(self, any_uow, clock):
        with any_uow(write=True) as tx:
            before = tx.outbox.pending_count()
            tx.outbox.add("t", {"n": 1, "items": [1.5]}, clock())
            tx.outbox.add("t", {"n": 2}, clock())
            tx.commit()
        with any_uow(write=True) as tx:
            first = tx.outbox.next_pending()
            assert first.payload == {"n": 1, "items": [1.5]}
            assert tx.outbox.pending_count() == before + 2
            tx.outbox.mark_done(first.id, clock())
            tx.commit()
        with any_uow() as tx:
            assert tx.outbox.next_pending().payload == {"n": 2}

    def test_escalations_due_reschedule_and_cancel(self, any_uow, clock):
        now = clock()
        with any_uow(write=True) as tx:
            tx.escalations.schedule("a1", "d1", now - timedelta(seconds=1))
            tx.escalations.schedule("a2", "d1", now + timedelta(seconds=60))
            tx.escalations.schedule("a1", "d1", now - timedelta(seconds=2))  # moves, does not duplicate
            tx.commit()
        with any_uow(write=True) as tx:
            assert [(e.alert_id, e.due_at) for e in tx.escalations.due(now, 10)] == [("a1", now - timedelta(seconds=2))]
            assert [e.alert_id for e in tx.escalations.for_device("d1")] == ["a1", "a2"]
            tx.escalations.cancel("a1")
            tx.commit()
        with any_uow(write=True) as tx:
            assert tx.escalations.due(now + timedelta(seconds=60), 10)[0].alert_id == "a2"
            tx.escalations.delete_for_device("d1")
            tx.commit()
        with any_uow() as tx:
            assert tx.escalations.for_device("d1") == []

    def test_idempotency_record_round_trips_and_is_replaced(self, any_uow, clock):
        first = StoredResponse("fp1", 201, {"id": "x", "n": [1, 2]}, "/devices/x", clock())
        with any_uow(write=True) as tx:
            tx.idempotency.put("user", "key", first)
            tx.commit()
        with any_uow(write=True) as tx:
            assert tx.idempotency.get("user", "key") == first
            assert tx.idempotency.get("other-user", "key") is None
            tx.idempotency.put("user", "key", StoredResponse("fp2", 202, {}, None, clock()))
            tx.commit()
        with any_uow() as tx:
            assert tx.idempotency.get("user", "key").fingerprint == "fp2"

    def test_username_is_unique(self, any_uow, clock):
        user = make_user(clock())
        with any_uow(write=True) as tx:
            tx.users.add(user)
            tx.commit()
        with pytest.raises(Exception):
            with any_uow(write=True) as tx:
                tx.users.add(User(id=unique("id"), username=user.username, password_hash="x", created_at=clock()))
                tx.commit()


class TestHousekeeping:
    """Pruning behaves the same on both adapters."""

    def test_only_old_handled_events_and_old_records_are_pruned(self, any_uow, clock):
        from stage1_monolith.services.processing import prune

        old = clock()
        with any_uow(write=True) as tx:
            tx.outbox.add("t", {"n": "old-done"}, old)
            tx.outbox.add("t", {"n": "old-pending"}, old)
            tx.outbox.add("t", {"n": "also-pending"}, old)
            tx.commit()
        with any_uow(write=True) as tx:
            tx.outbox.mark_done(tx.outbox.next_pending().id, old)
            tx.idempotency.put("u", "old", StoredResponse("fp", 202, {}, None, old))
            tx.commit()
        clock.advance(2 * 86400)
        with any_uow(write=True) as tx:
            tx.idempotency.put("u", "new", StoredResponse("fp", 202, {}, None, clock()))
            tx.commit()
        assert prune(any_uow, clock) == (1, 1)
        with any_uow() as tx:
            assert tx.outbox.next_pending().payload == {"n": "old-pending"}
            assert tx.outbox.pending_count() == 2
            assert tx.idempotency.get("u", "old") is None and tx.idempotency.get("u", "new") is not None
