"""In-memory fakes of every port, for fast tests of the services."""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Iterator

from homesense_core.idempotency import IDEMPOTENCY_TTL_SECONDS
from homesense_core.integration_events import ReadingsAccepted
from homesense_core.model import ACTIVE_STATUSES, Alert, Device, Reading, User
from homesense_core.problems import username_taken
from homesense_core.tokens import SigningKey

from . import ports


class MemoryUsers(ports.UserRepository):
    """Users in a dict."""

    def __init__(self):
        self.items: dict[str, User] = {}

    def add(self, user):
        if self.get_by_username(user.username) is not None:
            raise username_taken()
        self.items[user.id] = user

    def get(self, user_id):
        return self.items.get(user_id)

    def get_by_username(self, username):
        return next((u for u in self.items.values() if u.username == username), None)


class MemoryDevices(ports.DeviceRepository):
    """Devices in a dict, with a sequence counter per device."""

    def __init__(self):
        self.items: dict[str, Device] = {}
        self.seqs: dict[str, int] = {}

    def add(self, device):
        self.items[device.id] = device
        self.seqs[device.id] = 0

    def get(self, owner_id, device_id):
        device = self.items.get(device_id)
        return device if device is not None and device.owner_id == owner_id else None

    def list_for_owner(self, owner_id, limit, after_id):
        mine = sorted((d for d in self.items.values() if d.owner_id == owner_id), key=lambda d: d.id)
        return [d for d in mine if after_id is None or d.id > after_id][:limit]

    def update(self, device):
        if self.get(device.owner_id, device.id) is None:
            return False
        self.items[device.id] = device
        return True

    def delete(self, owner_id, device_id):
        if self.get(owner_id, device_id) is None:
            return False
        del self.items[device_id]
        return True

    def reserve_seqs(self, owner_id, device_id, count):
        if self.get(owner_id, device_id) is None:
            return None
        first = self.seqs[device_id] + 1
        self.seqs[device_id] += count
        return first


class MemoryReadings(ports.ReadingRepository):
    """Readings in a list; accepted batches are kept as events for the evaluator."""

    def __init__(self):
        self.items: list[Reading] = []
        self.events: list[ReadingsAccepted] = []
        self.evaluated: set[tuple[str, int]] = set()

    def add(self, event):
        self.items.extend(Reading(event.device.id, r.value, r.recorded_at, r.seq) for r in event.readings)
        self.events.append(event)

    def _in_range(self, device_id, from_, to):
        return sorted((r for r in self.items if r.device_id == device_id
                       and (from_ is None or r.recorded_at >= from_)
                       and (to is None or r.recorded_at < to)),
                      key=lambda r: (r.recorded_at, r.seq))

    def page(self, device_id, from_, to, descending, limit, after):
        rows = self._in_range(device_id, from_, to)
        if descending:
            rows.reverse()
        if after is not None:
            rows = [r for r in rows if ((r.recorded_at, r.seq) < after if descending
                                        else (r.recorded_at, r.seq) > after)]
        return rows[:limit]

    def scan(self, device_id, from_, to) -> Iterator[Reading]:
        return iter(self._in_range(device_id, from_, to))

    def delete_all(self, device_id):
        self.items = [r for r in self.items if r.device_id != device_id]
        self.events = [e for e in self.events if e.device.id != device_id]

    def batch_evaluated(self, device_id, first_seq):
        return (device_id, first_seq) in self.evaluated

    def mark_evaluated(self, device_id, first_seq):
        self.evaluated.add((device_id, first_seq))


class MemoryAlerts(ports.AlertRepository):
    """Alerts in a dict, with the escalation period stored beside each."""

    def __init__(self):
        self.items: dict[str, Alert] = {}
        self.after_seconds: dict[str, int] = {}

    def get(self, alert_id):
        return self.items.get(alert_id)

    def active_for_device(self, device_id):
        return sorted((a for a in self.items.values()
                       if a.device_id == device_id and a.status in ACTIVE_STATUSES),
                      key=lambda a: (a.opened_at, a.id))

    def open(self, alert, escalation_after_seconds):
        if any(a.kind == alert.kind for a in self.active_for_device(alert.device_id)):
            return False
        self.items[alert.id] = alert
        self.after_seconds[alert.id] = escalation_after_seconds
        return True

    def save(self, before, after):
        current = self.items.get(before.id)
        if current is None or (current.status, current.level) != (before.status, before.level):
            return False
        self.items[before.id] = after
        return True

    def list_for_owner(self, owner_id, status, device_id, limit, before):
        rows = sorted((a for a in self.items.values() if a.owner_id == owner_id
                       and (status is None or a.status == status)
                       and (device_id is None or a.device_id == device_id)),
                      key=lambda a: (a.opened_at, a.id), reverse=True)
        return [a for a in rows if before is None or (a.opened_at, a.id) < before][:limit]

    def delete_for_device(self, owner_id, device_id):
        doomed = [a.id for a in self.items.values()
                  if a.owner_id == owner_id and a.device_id == device_id]
        for alert_id in doomed:
            del self.items[alert_id]
        return doomed

    def set_escalation_after(self, device_id, seconds):
        for alert in self.active_for_device(device_id):
            self.after_seconds[alert.id] = seconds


class MemoryIdempotency(ports.IdempotencyStore):
    """Idempotency records in a dict, expiring like the DynamoDB TTL would."""

    def __init__(self):
        self.items: dict[tuple[str, str], tuple[ports.IdempotencyRecord, datetime, datetime]] = {}

    def claim(self, user_id, key, fingerprint, now):
        held = self.items.get((user_id, key))
        if held is not None and held[1] > now and (held[0].response is not None or held[2] > now):
            return held[0]
        expires = now + timedelta(seconds=IDEMPOTENCY_TTL_SECONDS)
        pending_until = now + timedelta(seconds=ports.PENDING_SECONDS)
        self.items[(user_id, key)] = (ports.IdempotencyRecord(fingerprint, None), expires, pending_until)
        return None

    def complete(self, user_id, key, response):
        record, expires, pending_until = self.items[(user_id, key)]
        self.items[(user_id, key)] = (replace(record, response=response), expires, pending_until)

    def release(self, user_id, key):
        self.items.pop((user_id, key), None)


class MemoryConnections(ports.ConnectionRepository):
    """Connections in a dict."""

    def __init__(self):
        self.items: dict[str, ports.Connection] = {}

    def add(self, connection, now):
        self.items[connection.connection_id] = connection

    def remove(self, connection_id):
        self.items.pop(connection_id, None)

    def for_user(self, user_id):
        return [c for c in self.items.values() if c.user_id == user_id]


class RecordingPoster(ports.ConnectionPoster):
    """Keeps every message sent; connection ids in `gone` raise ConnectionGone."""

    def __init__(self):
        self.sent: list[tuple[str, bytes]] = []
        self.gone: set[str] = set()

    def post(self, connection, data):
        if connection.connection_id in self.gone:
            raise ports.ConnectionGone(connection.connection_id)
        self.sent.append((connection.connection_id, data))


class RecordingWorkflow(ports.EscalationWorkflow):
    """Keeps the starts and stops it was asked for."""

    def __init__(self):
        self.started: dict[str, int] = {}
        self.stopped: list[str] = []

    def start(self, alert_id, wait_seconds):
        self.started.setdefault(alert_id, wait_seconds)

    def stop(self, alert_id):
        self.stopped.append(alert_id)


class StaticKey(ports.SigningKeySource):
    """A key held in memory."""

    def __init__(self, key: SigningKey):
        self.key = key

    def get(self):
        return self.key
