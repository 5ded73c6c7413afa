"""A small stage 1 data set made through the monolith's own use cases (not hand-written rows)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from homesense_core.clock import format_ts
from homesense_core.idempotency import fingerprint

from stage1_monolith.adapters.database import make_engine, migrate
from stage1_monolith.adapters.sql import SqlUnitOfWorkFactory
from stage1_monolith.services import accounts, alerts, devices, processing, readings
from stage1_monolith.services.common import Idempotency

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


class Clock:
    """Moves only when told to."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Seeded:
    path: Path
    users: list[str] = field(default_factory=list)
    devices: dict[str, str] = field(default_factory=dict)  # device id -> owner id
    open_alert: str | None = None      # open, escalation pending
    acked_alert: str | None = None
    clock: Clock = field(default_factory=Clock)


def seed_stage1(path: Path, readings_per_device: int = 25) -> Seeded:
    """Three users, five devices (one deleted), readings with equal timestamps, alerts in every state."""
    engine = make_engine(path)
    migrate(engine)
    uow = SqlUnitOfWorkFactory(engine)
    out = Seeded(path)
    clock = out.clock
    try:
        for name in ("alice", "bob", "carol"):
            user = accounts.register_user(uow, {"username": name, "password": "long-enough-pw"}, clock)
            out.users.append(user["id"])
        specs = [{"name": "co2", "kind": "co2", "high_threshold": 1000.0, "escalation_after_seconds": 60},
                 {"name": "temp", "kind": "temperature", "room": "Attic", "low_threshold": 5.0,
                  "high_threshold": 30.0, "escalation_after_seconds": 120},
                 {"name": "power", "kind": "power"}]
        for i, owner in enumerate(out.users[:2] * 2 + out.users[2:]):
            body = specs[i % len(specs)]
            idem = Idempotency(f"create-{i}", fingerprint("POST", "/devices", body))
            device = devices.create_device(uow, owner, body, clock, idem).body
            out.devices[device["id"]] = owner
            clock.advance(0.001)
        for n in range(readings_per_device):
            for device_id, owner in out.devices.items():
                # Highs open alerts, the next normal value resolves them; the last two stay open.
                value = 1500.0 if n % 20 == 5 or n >= readings_per_device - 2 else 20.0 + n / 7
                batch = {"readings": [{"value": value, "recorded_at": format_ts(clock())},
                                      {"value": value + 0.1, "recorded_at": format_ts(clock())}]}
                idem = Idempotency(f"r-{device_id}-{n}", fingerprint("POST", f"/devices/{device_id}/readings", batch))
                readings.accept_readings(uow, owner, device_id, batch, clock, idem if n % 3 == 0 else None)
            clock.advance(1)
        while processing.process_next_event(uow, clock)[0]:
            pass
        open_alerts = [(o, a["id"]) for o in out.users for a in alerts.list_alerts(uow, o, {})["items"]
                       if a["status"] == "open"]
        assert len(open_alerts) >= 2, open_alerts
        (owner, first), (_, second) = open_alerts[0], open_alerts[1]
        alerts.acknowledge_alert(uow, owner, first, clock, lambda *_: None)
        out.acked_alert, out.open_alert = first, second
        # A deleted device: its readings and alerts are gone from stage 1, so from the target too.
        doomed = [d for d, o in out.devices.items() if o == out.users[2]][0]
        devices.delete_device(uow, out.users[2], doomed)
        del out.devices[doomed]
    finally:
        engine.dispose()
    return out
