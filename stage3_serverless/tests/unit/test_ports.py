"""One contract for every storage port, run against the in-memory fakes and DynamoDB (moto)."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from moto import mock_aws

from chalicelib import memory
from chalicelib.dynamo.alerts import DynamoAlerts
from chalicelib.dynamo.readings import DynamoReadings
from chalicelib.dynamo.sessions import DynamoConnections, DynamoIdempotency
from chalicelib.dynamo.table import Table
from chalicelib.dynamo.users_devices import DynamoDevices, DynamoUsers
from chalicelib.ports import Connection
from chalicelib.services.devices import time_ordered_id
from homesense_core.http import Result
from homesense_core.ids import new_id
from homesense_core.integration_events import AcceptedReading, ReadingsAccepted
from homesense_core.model import Alert, Device, Reading, User
from homesense_core.problems import Conflict

from .support import create_table, unique

T0 = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)


@pytest.fixture(params=["memory", "dynamodb"])
def repos(request, aws_clients):
    """The six repositories of one implementation."""
    if request.param == "memory":
        yield SimpleNamespace(users=memory.MemoryUsers(), devices=memory.MemoryDevices(),
                              readings=memory.MemoryReadings(), alerts=memory.MemoryAlerts(),
                              idempotency=memory.MemoryIdempotency(), connections=memory.MemoryConnections())
        return
    with mock_aws():
        name = unique("ports")
        create_table(aws_clients.get("dynamodb"), name)
        table = Table(aws_clients, name)
        yield SimpleNamespace(users=DynamoUsers(table), devices=DynamoDevices(table),
                              readings=DynamoReadings(table), alerts=DynamoAlerts(table),
                              idempotency=DynamoIdempotency(table), connections=DynamoConnections(table))


def a_device(owner="owner1", at=T0, **fields):
    base = dict(id=time_ordered_id(at), owner_id=owner, name="n", room="", kind="temperature", unit="",
                low_threshold=10.0, high_threshold=None, escalation_after_seconds=300,
                created_at=at, updated_at=at)
    return Device(**{**base, **fields})


def an_alert(device, kind="low", at=T0, **fields):
    base = dict(id=new_id(), device_id=device.id, owner_id=device.owner_id, kind=kind, status="open",
                level=1, threshold=10.0, first_value=1.0, last_value=1.0, reading_count=1, opened_at=at,
                acknowledged_at=None, resolved_at=None, escalated_at=None, updated_at=at)
    return Alert(**{**base, **fields})


class TestUsers:
    def test_add_then_get_by_id_and_username(self, repos):
        user = User(new_id(), "carol", "scrypt$hash", T0)
        repos.users.add(user)
        assert repos.users.get(user.id) == user
        assert repos.users.get_by_username("carol") == user
        assert repos.users.get("nope") is None and repos.users.get_by_username("nope") is None

    def test_username_is_unique(self, repos):
        repos.users.add(User(new_id(), "dave", "h", T0))
        with pytest.raises(Conflict):
            repos.users.add(User(new_id(), "dave", "h2", T0))


class TestDevices:
    def test_get_is_scoped_to_the_owner(self, repos):
        d = a_device(low_threshold=-1.5, high_threshold=1e300)
        repos.devices.add(d)
        assert repos.devices.get("owner1", d.id) == d
        assert repos.devices.get("owner2", d.id) is None

    def test_list_is_oldest_first_after_a_position(self, repos):
        made = [a_device(at=T0 + timedelta(milliseconds=i)) for i in range(4)]
        for d in reversed(made):
            repos.devices.add(d)
        repos.devices.add(a_device(owner="someone-else"))
        assert repos.devices.list_for_owner("owner1", 10, None) == made
        assert repos.devices.list_for_owner("owner1", 2, made[0].id) == made[1:3]

    def test_update_and_delete_report_missing_devices(self, repos):
        d = a_device()
        assert repos.devices.update(d) is False and repos.devices.delete("owner1", d.id) is False
        repos.devices.add(d)
        changed = replace(d, name="renamed", low_threshold=None, updated_at=T0 + timedelta(seconds=1))
        assert repos.devices.update(changed) is True
        assert repos.devices.get("owner1", d.id) == changed
        assert repos.devices.delete("owner1", d.id) is True
        assert repos.devices.get("owner1", d.id) is None

    def test_sequence_ranges_are_disjoint_and_increasing(self, repos):
        d = a_device()
        repos.devices.add(d)
        assert repos.devices.reserve_seqs("owner1", d.id, 3) == 1
        assert repos.devices.reserve_seqs("owner1", d.id, 2) == 4
        assert repos.devices.reserve_seqs("owner2", d.id, 1) is None


def accepted(device, rows):
    return ReadingsAccepted(device, T0, tuple(AcceptedReading(r.value, r.recorded_at, r.seq) for r in rows))


class TestReadings:
    def _store(self, repos):
        d = a_device()
        rows = [Reading(d.id, float(i), T0 + timedelta(seconds=i // 2), i + 1) for i in range(6)]
        repos.readings.add(accepted(d, rows[3:]))
        repos.readings.add(accepted(d, rows[:3]))
        return d, rows

    def test_page_orders_by_time_then_sequence(self, repos):
        d, rows = self._store(repos)
        assert repos.readings.page(d.id, None, None, False, 10, None) == rows
        assert repos.readings.page(d.id, None, None, True, 10, None) == rows[::-1]

    def test_page_range_and_keyset_position(self, repos):
        d, rows = self._store(repos)
        t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)
        assert repos.readings.page(d.id, t1, t2, False, 10, None) == rows[2:4]
        after = (rows[2].recorded_at, rows[2].seq)
        assert repos.readings.page(d.id, None, None, False, 2, after) == rows[3:5]
        assert repos.readings.page(d.id, None, None, True, 10, after) == rows[1::-1]
        assert repos.readings.page(d.id, t2, t1, False, 10, None) == []

    def test_batches_are_marked_evaluated(self, repos):
        d, rows = self._store(repos)
        assert repos.readings.batch_evaluated(d.id, 1) is False
        repos.readings.mark_evaluated(d.id, 1)
        assert repos.readings.batch_evaluated(d.id, 1) is True
        assert repos.readings.batch_evaluated(d.id, 4) is False
        repos.readings.mark_evaluated(d.id, 999)  # unknown or purged batch: nothing to mark

    def test_scan_and_delete_all(self, repos):
        d, rows = self._store(repos)
        assert list(repos.readings.scan(d.id, T0 + timedelta(seconds=2), None)) == rows[4:]
        repos.readings.delete_all(d.id)
        assert list(repos.readings.scan(d.id, None, None)) == []


class TestAlerts:
    def test_one_active_alert_per_device_and_kind(self, repos):
        d = a_device()
        low = an_alert(d)
        assert repos.alerts.open(low, 300) is True
        assert repos.alerts.open(an_alert(d), 300) is False
        high = an_alert(d, kind="high", at=T0 + timedelta(seconds=1))
        assert repos.alerts.open(high, 300) is True
        assert repos.alerts.active_for_device(d.id) == [low, high]
        assert repos.alerts.get(low.id) == low

    def test_save_is_conditional_on_the_state_read(self, repos):
        d = a_device()
        alert = an_alert(d)
        repos.alerts.open(alert, 300)
        acked = replace(alert, status="acknowledged", acknowledged_at=T0, updated_at=T0)
        assert repos.alerts.save(alert, acked) is True
        stale = replace(alert, last_value=0.5, reading_count=2)
        assert repos.alerts.save(alert, stale) is False
        assert repos.alerts.get(alert.id) == acked

    def test_resolving_frees_the_kind_for_a_new_alert(self, repos):
        d = a_device()
        alert = an_alert(d)
        repos.alerts.open(alert, 300)
        resolved = replace(alert, status="resolved", resolved_at=T0, updated_at=T0)
        assert repos.alerts.save(alert, resolved) is True
        assert repos.alerts.active_for_device(d.id) == []
        assert repos.alerts.open(an_alert(d), 300) is True

    def test_list_newest_first_with_filters_and_position(self, repos):
        d1, d2 = a_device(), a_device(at=T0 + timedelta(milliseconds=5))
        alerts = [an_alert(d1, at=T0), an_alert(d2, at=T0 + timedelta(seconds=1)),
                  an_alert(d1, kind="high", at=T0 + timedelta(seconds=2))]
        for a in alerts:
            repos.alerts.open(a, 300)
        repos.alerts.save(alerts[0], replace(alerts[0], status="resolved", resolved_at=T0))
        newest_first = [a.id for a in reversed(alerts)]
        assert [a.id for a in repos.alerts.list_for_owner("owner1", None, None, 10, None)] == newest_first
        assert [a.id for a in repos.alerts.list_for_owner("owner1", None, d1.id, 10, None)] == \
            [alerts[2].id, alerts[0].id]
        assert [a.id for a in repos.alerts.list_for_owner("owner1", "resolved", None, 10, None)] == [alerts[0].id]
        before = (alerts[2].opened_at, alerts[2].id)
        assert [a.id for a in repos.alerts.list_for_owner("owner1", None, None, 1, before)] == [alerts[1].id]
        assert repos.alerts.list_for_owner("owner2", None, None, 10, None) == []

    def test_delete_for_device(self, repos):
        d, other = a_device(), a_device(at=T0 + timedelta(milliseconds=1))
        mine, theirs = an_alert(d), an_alert(other)
        repos.alerts.open(mine, 300)
        repos.alerts.open(theirs, 300)
        assert repos.alerts.delete_for_device("owner1", d.id) == [mine.id]
        assert repos.alerts.get(mine.id) is None and repos.alerts.get(theirs.id) == theirs
        assert repos.alerts.open(an_alert(d), 300) is True


class TestIdempotency:
    def test_claim_complete_replay_release_and_expiry(self, repos):
        store = repos.idempotency
        assert store.claim("u1", "k", "fp", T0) is None
        held = store.claim("u1", "k", "other", T0)
        assert (held.fingerprint, held.response) == ("fp", None)
        response = Result(201, {"id": "x", "n": [1.5]}, "/devices/x")
        store.complete("u1", "k", response)
        assert store.claim("u1", "k", "fp", T0 + timedelta(hours=23)).response == response
        assert store.claim("u2", "k", "fp", T0) is None  # scoped per user
        store.release("u2", "k")
        assert store.claim("u2", "k", "fp2", T0) is None
        assert store.claim("u1", "k", "new", T0 + timedelta(hours=24, seconds=1)) is None

    def test_an_abandoned_claim_is_free_after_the_pending_window(self, repos):
        store = repos.idempotency
        assert store.claim("u1", "k2", "fp", T0) is None
        assert store.claim("u1", "k2", "fp", T0 + timedelta(seconds=30)).response is None
        assert store.claim("u1", "k2", "fp", T0 + timedelta(seconds=61)) is None


class TestConnections:
    def test_add_list_remove(self, repos):
        conns = repos.connections
        conns.add(Connection("c1", "u1", "https://x/api"), T0)
        conns.add(Connection("c2", "u1", "https://x/api"), T0)
        conns.add(Connection("c3", "u2", "https://x/api"), T0)
        assert sorted(c.connection_id for c in conns.for_user("u1")) == ["c1", "c2"]
        conns.remove("c1")
        conns.remove("c1")
        assert [c.connection_id for c in conns.for_user("u1")] == ["c2"]
