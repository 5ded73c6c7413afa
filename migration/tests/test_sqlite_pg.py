"""Stage 1 SQLite -> stage 2 PostgreSQL: copy, verify, rerun, interrupt and resume, tamper."""
import json
import sqlite3
from datetime import timedelta

import anyio
import psycopg
import pytest

from migration.data import sqlite_pg
from migration.data.sqlite_pg import COPY, GROUPS, VERIFY


def copy_all(seeded, dsns, **kw):
    return {g: COPY[g](seeded.path, dsns[g], **kw) for g in GROUPS}


def verify_all(seeded, dsns):
    return {g: VERIFY[g](seeded.path, dsns[g]) for g in GROUPS}


def snapshot(dsns):
    """Every row of every copied table, for 'same result' comparisons."""
    out = {}
    for group, dsn in dsns.items():
        with psycopg.connect(dsn) as conn:
            for table in ("users", "devices", "readings", "alerts", "device_projection", "idempotency_keys"):
                if conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0]:
                    out[(group, table)] = sorted(map(repr, conn.execute(f"SELECT * FROM {table}")))
    return out


def test_copy_then_verify_then_rerun_is_a_no_op(seeded, service_dsns):
    first = copy_all(seeded, service_dsns)
    assert first["readings"].copied > 200 and first["identity"].copied == 3
    results = verify_all(seeded, service_dsns)
    assert all(v.ok for v in results.values()), {g: v.to_json() for g, v in results.items()}
    assert results["identity"].owners_checked == 3
    before = snapshot(service_dsns)
    again = copy_all(seeded, service_dsns)
    # Nothing changed, so nothing is written: small groups compare rows, readings resume at the end.
    assert [(s.copied, s.deleted) for s in again.values()] == [(0, 0)] * 4
    assert snapshot(service_dsns) == before
    assert all(v.ok for v in verify_all(seeded, service_dsns).values())


def test_interrupted_readings_copy_resumes_to_the_same_result(seeded, service_dsns, postgres, monkeypatch):
    monkeypatch.setattr(sqlite_pg, "REBUILD_INDEX_FROM", 1)  # the bulk path: index dropped, rebuilt
    dsn = service_dsns["readings"]
    partial = sqlite_pg.copy_readings(seeded.path, dsn, chunk=50, max_chunks=3)
    assert partial.batches == 3 and partial.notes
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 150
    assert not sqlite_pg.verify_readings(seeded.path, dsn).ok
    resumed = sqlite_pg.copy_readings(seeded.path, dsn, chunk=50)
    assert resumed.resumed_from is not None and resumed.resumed_from > 0
    assert sqlite_pg.verify_readings(seeded.path, dsn).ok
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('readings_by_device')").fetchone()[0] is not None
    # The same rows as one uninterrupted copy into another fresh database.
    fresh = postgres.create_database("telemetry")
    sqlite_pg.copy_readings(seeded.path, fresh)
    assert snapshot({"r": dsn})[("r", "readings")] == snapshot({"r": fresh})[("r", "readings")]


def test_a_failure_mid_copy_rolls_back_its_chunk_and_a_rerun_completes(seeded, service_dsns, monkeypatch):
    dsn = service_dsns["readings"]
    calls = {"n": 0}
    real = sqlite_pg._set_checkpoint

    def failing(conn, group, position):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected failure inside the second chunk's transaction")
        real(conn, group, position)

    monkeypatch.setattr(sqlite_pg, "_set_checkpoint", failing)
    with pytest.raises(RuntimeError):
        sqlite_pg.copy_readings(seeded.path, dsn, chunk=40)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 40  # chunk 1 only
    monkeypatch.setattr(sqlite_pg, "_set_checkpoint", real)
    assert sqlite_pg.copy_readings(seeded.path, dsn, chunk=40).resumed_from == \
        sqlite3.connect(seeded.path).execute("SELECT seq FROM readings ORDER BY seq LIMIT 1 OFFSET 39").fetchone()[0]
    assert sqlite_pg.verify_readings(seeded.path, dsn).ok


@pytest.mark.parametrize("group,table,column", [("identity", "users", "password_hash"),
                                                ("devices", "devices", "name"),
                                                ("alerts", "alerts", "escalation_due_at"),
                                                ("readings", "readings", "value")])
def test_a_tampered_target_row_fails_verification_and_names_its_owner(seeded, service_dsns, group, table, column):
    COPY[group](seeded.path, service_dsns[group])
    with psycopg.connect(service_dsns[group]) as conn:
        if table == "readings":
            device_id, = conn.execute("SELECT device_id FROM readings ORDER BY seq LIMIT 1").fetchone()
            conn.execute("UPDATE readings SET value = value + 1 WHERE seq = (SELECT min(seq) FROM readings)")
            owner = seeded.devices[device_id]
        else:
            owner_col = "id" if table == "users" else "owner_id"
            row = conn.execute(f"SELECT id, {owner_col} FROM {table} ORDER BY id LIMIT 1").fetchone()
            value = "now()" if column == "escalation_due_at" else f"{column} || 'x'"
            conn.execute(f"UPDATE {table} SET {column} = {value} WHERE id = %s", [row[0]])
            owner = row[1]
    result = VERIFY[group](seeded.path, service_dsns[group])
    assert not result.ok and result.mismatches == [owner]
    assert result.to_json()["mismatches"] == [owner]


def test_an_open_alert_still_escalates_on_its_stage1_schedule_in_the_alerts_service(seeded, service_dsns):
    from stage2_microservices.testing.support import open_database
    from stage2_microservices.common.uow import COMMON_SCHEMA
    from stage2_microservices.services.alerts.postgres import PostgresAlertsUnitOfWork, schema_sql
    from stage2_microservices.services.alerts.service import AlertService

    sqlite_pg.copy_alerts(seeded.path, service_dsns["alerts"])
    due_ms, = sqlite3.connect(seeded.path).execute(
        "SELECT due_at FROM escalations WHERE alert_id = ?", [seeded.open_alert]).fetchone()
    from migration.data.common import from_ms
    due = from_ms(due_ms)
    now = {"t": due - timedelta(milliseconds=1)}

    async def run():
        db = await open_database(service_dsns["alerts"], [COMMON_SCHEMA, schema_sql()])
        try:
            service = AlertService(lambda: PostgresAlertsUnitOfWork(db), _NoDirectory(),
                                   clock=lambda: now["t"])
            before = await service.escalate_due()
            now["t"] = due
            after = await service.escalate_due()
            alert = await service.get_alert(_owner_of_alert(seeded), seeded.open_alert)
            acked = await service.acknowledge_alert(_owner_of_alert(seeded), seeded.open_alert)
            return before, after, alert, acked
        finally:
            await db.close()

    before, after, alert, acked = anyio.run(run)
    assert (before, after, alert["level"]) == (0, 1, 2)
    assert acked["status"] == "acknowledged"


class _NoDirectory:
    """Never asked: the copied projection answers every device question."""

    async def get(self, device_id):
        raise AssertionError("the projection should have answered")

    async def owned(self, owner_id, device_id):
        raise AssertionError("the projection should have answered")


def _owner_of_alert(seeded):
    owner, = sqlite3.connect(seeded.path).execute(
        "SELECT owner_id FROM alerts WHERE id = ?", [seeded.open_alert]).fetchone()
    return owner


def test_a_post_devices_retried_after_the_move_replays_the_stage1_answer(seeded, service_dsns):
    from stage2_microservices.testing.support import open_database
    from stage2_microservices.common.uow import COMMON_SCHEMA
    from stage2_microservices.services.devices.postgres import PostgresDevicesUnitOfWork, schema_sql
    from stage2_microservices.services.devices.service import DeviceService

    sqlite_pg.copy_devices(seeded.path, service_dsns["devices"])
    user_id, body, location = sqlite3.connect(seeded.path).execute(
        "SELECT user_id, body, location FROM idempotency WHERE key = 'create-0'").fetchone()
    from migration.tests.seed import START

    async def run():
        db = await open_database(service_dsns["devices"], [COMMON_SCHEMA, schema_sql()])
        try:
            service = DeviceService(lambda: PostgresDevicesUnitOfWork(db), clock=lambda: START + timedelta(hours=1))
            first_spec = {"name": "co2", "kind": "co2", "high_threshold": 1000.0, "escalation_after_seconds": 60}
            return await service.create_device(user_id, first_spec, "/devices", "create-0")
        finally:
            await db.close()

    replayed = anyio.run(run)
    assert (replayed.status, replayed.body, replayed.location) == (201, json.loads(body), location)
