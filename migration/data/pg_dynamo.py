"""Stage 2 (PostgreSQL per service) -> stage 3 (the single DynamoDB table of TABLE.md), per group.

Groups and their items (built with stage 3's own item mappers, chalicelib/dynamo/items.py):
  identity  users          -> USER#id/PROFILE + USERNAME#name/USERNAME
  devices   devices        -> USER#owner/DEVICE#id (next_seq kept), + POST /devices idempotency
                              records -> IDEM#user#key/IDEM
  readings  readings       -> DEVICE#id/R#recorded_at#seq (same seq, so the same order and
                              cursors), the device's next_seq moved past them, + POST readings
                              idempotency records
  alerts    alerts         -> ALERT#id/ALERT (+ GSI1 by owner) and DEVICE#id/ACTIVE#kind claims;
                              each pending escalation becomes a Step Functions execution named by
                              the alert id whose first wait ends at the stage 2 due time

Order matters for alerts: stage 3's stream handler starts an execution (full wait) for every
inserted open alert. Starting ours first, under the same name, makes the handler's start a no-op
(ExecutionAlreadyExists), so the stage 2 schedule wins. No batch items (BATCH#) are written:
copied readings were already evaluated by stage 2 and must not be evaluated again.

Side effects through stage 3's stream handler, when the stack is deployed: each inserted alert
is pushed as alert.opened to its owner's open WebSocket connections (none in a bulk move; in a
live cutover, connections made to stage 3 before the alerts move would see them), and a device
item deleted by the mirror purges its readings and alerts (as a DELETE /devices/{id} would).

Idempotent: items are put whole (same item, same result); for each source owner, target devices
and alerts the source no longer has are deleted. Readings go in chunks of parallel
BatchWriteItem calls with a checkpoint item (MIGRATION#readings/CHECKPOINT) after each chunk.
Verification reads the target by key (each source owner's partition, GSI1 alerts, each device's
readings): rows under owners the source does not know are not seen (that would need a Scan).
"""
from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
from botocore.exceptions import ClientError

from homesense_core.clock import parse_ts, utcnow
from homesense_core.idempotency import IDEMPOTENCY_TTL_SECONDS
from homesense_core.model import ACTIVE_STATUSES, Alert, Device, Reading, User
# stage3_serverless has no __init__: its chalicelib is importable as a namespace package.
from stage3_serverless.chalicelib.dynamo import items as it

from migration.data.common import (CopyStats, DeviceDigests, OwnerDigests, Progress, Timer, Verification,
                                   canonical, compare, quiet, reading_line, to_ms)

READINGS_CHUNK = 5_000
BATCH_WRITE_MAX = 25
# ministack on a busy 2-core box: 2 callers ~480 items/s, 8 ~790, 16 ~940-1,300 (it is the limit).
WORKERS = 16
# A live PostgreSQL source commits seqs out of order: a resumed copy re-reads this many seqs
# below its checkpoint so a late commit is not skipped (puts are idempotent).
LIVE_WINDOW = 10_000
# Floor of a migrated execution's first wait: the alert item is written right after the start.
MIN_FIRST_WAIT_SECONDS = 2
PENDING_SECONDS = 60  # stage 3 ports.PENDING_SECONDS: an idempotency claim's in-progress window
CHECKPOINT_KEY = {"PK": "MIGRATION#readings", "SK": "CHECKPOINT"}


def sibling_dsn(pg_dsn: str, database: str) -> str:
    """The URL of another database on the same server (stage 2 names them after the services)."""
    parts = urlsplit(pg_dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextmanager
def _source(pg_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


# --- DynamoDB helpers ------------------------------------------------------------------------

def _write(client, table: str, requests: list[dict]) -> None:
    """One BatchWriteItem of <= 25 requests, retrying unprocessed items with backoff."""
    pending = {table: requests}
    for attempt in range(10):
        out = client.batch_write_item(RequestItems=pending)
        pending = out.get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(0.05 * 2 ** attempt)
    raise RuntimeError("BatchWriteItem left items unprocessed")


def batch_write(client, table: str, puts: list[dict] = (), deletes: list[dict] = (),
                workers: int = WORKERS) -> int:
    """Put and delete items in parallel 25-item BatchWriteItem calls; returns requests made."""
    requests = [{"PutRequest": {"Item": it.serialize(i)}} for i in puts]
    requests += [{"DeleteRequest": {"Key": it.serialize(k)}} for k in deletes]
    batches = [requests[i:i + BATCH_WRITE_MAX] for i in range(0, len(requests), BATCH_WRITE_MAX)]
    if len(batches) <= 1 or workers <= 1:
        for b in batches:
            _write(client, table, b)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda b: _write(client, table, b), batches))
    return len(batches)


def _query(client, table: str, condition: str, values: dict, index: str | None = None) -> Iterator[dict]:
    kwargs = {"TableName": table, "KeyConditionExpression": condition,
              "ExpressionAttributeValues": it.serialize(values)}
    if index:
        kwargs["IndexName"] = index
    else:
        kwargs["ConsistentRead"] = True
    while True:
        out = client.query(**kwargs)
        for raw in out.get("Items", []):
            yield it.deserialize(raw)
        if "LastEvaluatedKey" not in out:
            return
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def _get(client, table: str, key: dict) -> dict | None:
    out = client.get_item(TableName=table, Key=it.serialize(key), ConsistentRead=True)
    return it.deserialize(out["Item"]) if "Item" in out else None


# --- source rows ------------------------------------------------------------------------------

def _users(conn) -> list[User]:
    return [User(*r) for r in conn.execute("SELECT id, username, password_hash, created_at FROM users")]


DEVICE_COLS = ("id", "owner_id", "name", "room", "kind", "unit", "low_threshold", "high_threshold",
               "escalation_after_seconds", "created_at", "updated_at")


def _devices(conn) -> list[Device]:
    return [Device(*r) for r in conn.execute(f"SELECT {', '.join(DEVICE_COLS)} FROM devices")]


def _alerts(conn) -> list[tuple[Alert, datetime | None]]:
    cols = ", ".join(Alert.__dataclass_fields__)
    return [(Alert(*r[:-1]), r[-1]) for r in conn.execute(f"SELECT {cols}, escalation_due_at FROM alerts")]


def _idempotency(conn) -> list[tuple]:
    """Finished records only (a claim without a response is an in-flight request)."""
    return [tuple(r) for r in conn.execute(
        "SELECT user_id, key, fingerprint, created_at, status, body, headers FROM idempotency_keys"
        " WHERE status IS NOT NULL")]


def _idem_item(row) -> dict:
    user_id, key, fp, created, status, body, headers = row
    epoch = int(created.timestamp())
    return {"PK": f"IDEM#{user_id}#{key}", "SK": "IDEM", "type": "idempotency", "fingerprint": fp,
            "expires_at": epoch + IDEMPOTENCY_TTL_SECONDS, "pending_until": epoch + PENDING_SECONDS,
            "status": status, "body": json.dumps(body), "location": (headers or {}).get("Location")}


def _user_items(user: User) -> list[dict]:
    body = it.user_item(user)
    return [{**it.username_key(user.username), "type": "username", **body},
            {**it.user_key(user.id), "type": "user", **body}]


# --- copy functions ---------------------------------------------------------------------------

def copy_identity(pg_dsn: str, table: str, dynamodb_client, *, progress: Progress | None = None,
                  **_ignored) -> CopyStats:
    """Users (ids and scrypt hashes as they are) with their username claims; pg_dsn = identity db."""
    stats, timer, say = CopyStats("identity"), Timer(), progress or quiet
    with _source(pg_dsn) as conn:
        users = _users(conn)
    puts = [i for u in users for i in _user_items(u)]
    # A username that changed owner would leave its old claim: not possible, usernames are immutable.
    stats.batches = batch_write(dynamodb_client, table, puts)
    stats.copied = len(puts)
    say(f"identity: {len(users)} users ({len(puts)} items)")
    stats.seconds = timer.seconds
    return stats


def copy_devices(pg_dsn: str, table: str, dynamodb_client, *, progress: Progress | None = None,
                 **_ignored) -> CopyStats:
    """Devices into their owner's partition (next_seq preserved) and POST /devices idempotency records."""
    stats, timer, say = CopyStats("devices"), Timer(), progress or quiet
    with _source(pg_dsn) as conn:
        devices, idem = _devices(conn), _idempotency(conn)
    source_ids = {d.id for d in devices}
    stale = []
    for owner in sorted({d.owner_id for d in devices}):
        for item in _query(dynamodb_client, table, "PK = :pk AND begins_with(SK, :p)",
                           {":pk": f"USER#{owner}", ":p": "DEVICE#"}):
            if item["id"] not in source_ids:
                stale.append({"PK": item["PK"], "SK": item["SK"]})

    def put(device: Device) -> None:
        # UpdateItem, not PutItem: a rerun must not reset next_seq the readings copy has set.
        fields = {**it.device_fields(device), "type": "device", "id": device.id,
                  "owner_id": device.owner_id, "created_at": it.ts(device.created_at)}
        names = {f"#{k}": k for k in fields}
        values = {f":{k}": v for k, v in fields.items()} | {":zero": 0}
        dynamodb_client.update_item(
            TableName=table, Key=it.serialize(it.device_key(device.owner_id, device.id)),
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields)
            + ", next_seq = if_not_exists(next_seq, :zero)",
            ExpressionAttributeNames=names, ExpressionAttributeValues=it.serialize(values))

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(put, devices))
    stats.batches = len(devices) + batch_write(dynamodb_client, table, [_idem_item(r) for r in idem], stale)
    stats.copied, stats.deleted = len(devices) + len(idem), len(stale)
    say(f"devices: {len(devices)} devices, {len(idem)} idempotency records, {len(stale)} stale deleted")
    stats.seconds = timer.seconds
    return stats


def _owners(devices_dsn: str) -> dict[str, str]:
    with _source(devices_dsn) as conn:
        return dict(conn.execute("SELECT id, owner_id FROM devices").fetchall())


def copy_readings(pg_dsn: str, table: str, dynamodb_client, *, progress: Progress | None = None,
                  devices_dsn: str | None = None, chunk: int = READINGS_CHUNK, restart: bool = False,
                  max_chunks: int | None = None, workers: int = WORKERS) -> CopyStats:
    """Readings (pg_dsn = telemetry db) in seq order, chunk by chunk, each chunk's writes in parallel.

    devices_dsn (default: the "devices" database beside pg_dsn) gives each device's owner, whose
    partition holds the device item whose next_seq is moved past the copied seqs.
    """
    stats, timer, say = CopyStats("readings"), Timer(), progress or quiet
    owner_of = _owners(devices_dsn or sibling_dsn(pg_dsn, "devices"))
    checkpoint = None if restart else _get(dynamodb_client, table, CHECKPOINT_KEY)
    position = int(checkpoint["position"]) if checkpoint else 0
    stats.resumed_from = position if checkpoint else None
    position = max(0, position - LIVE_WINDOW) if checkpoint else 0
    with _source(pg_dsn) as conn:
        source_max, total = conn.execute("SELECT coalesce(max(seq), 0), count(*) FROM readings").fetchone()
        idem = _idempotency(conn)
        stats.batches += batch_write(dynamodb_client, table, [_idem_item(r) for r in idem])
        stats.copied += len(idem)
        say(f"readings: {total} in the source, copying seq > {position} in chunks of {chunk}")
        chunks = 0
        with ThreadPoolExecutor(workers) as pool:
            while max_chunks is None or chunks < max_chunks:
                rows = conn.execute("SELECT device_id, value, recorded_at, seq FROM readings"
                                    " WHERE seq > %s ORDER BY seq LIMIT %s", [position, chunk]).fetchall()
                if not rows:
                    break
                requests = [{"PutRequest": {"Item": it.serialize(it.reading_item(Reading(*r)))}}
                            for r in rows if r[0] in owner_of]
                batches = [requests[i:i + BATCH_WRITE_MAX] for i in range(0, len(requests), BATCH_WRITE_MAX)]
                list(pool.map(lambda b: _write(dynamodb_client, table, b), batches))
                position = rows[-1][3]
                _put_checkpoint(dynamodb_client, table, position)
                stats.copied += len(requests)
                stats.batches += len(batches)
                chunks += 1
                say(f"readings: {stats.copied} copied (seq {position}/{source_max}, {timer.seconds:.1f} s)")
            else:
                stats.notes.append(f"stopped after {max_chunks} chunks")
                stats.seconds = timer.seconds
                return stats
        max_seq = dict(conn.execute("SELECT device_id, max(seq) FROM readings GROUP BY device_id").fetchall())
    orphans = {d for d in max_seq if d not in owner_of}
    if orphans:
        stats.notes.append(f"{len(orphans)} devices with readings but no device row: not copied")

    def bump(device_id: str) -> None:
        # The next accepted reading must get a seq after every copied one.
        try:
            dynamodb_client.update_item(
                TableName=table, Key=it.serialize(it.device_key(owner_of[device_id], device_id)),
                UpdateExpression="SET next_seq = :m",
                ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(next_seq) OR next_seq < :m)",
                ExpressionAttributeValues=it.serialize({":m": max_seq[device_id]}))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(bump, [d for d in max_seq if d in owner_of]))
    _put_checkpoint(dynamodb_client, table, source_max)
    stats.seconds = timer.seconds
    return stats


def _put_checkpoint(client, table: str, position: int) -> None:
    client.put_item(TableName=table, Item=it.serialize(
        {**CHECKPOINT_KEY, "type": "migration", "position": position, "updated_at": it.ts(utcnow())}))


class PendingEscalation:
    """An open alert whose next escalation is due at `due`."""

    def __init__(self, alert_id: str, due: datetime):
        self.alert_id, self.due = alert_id, due

    def wait_seconds(self, now: datetime, floor: int = MIN_FIRST_WAIT_SECONDS) -> int:
        return max(floor, math.ceil((self.due - now).total_seconds()))

    def __repr__(self) -> str:
        return f"PendingEscalation({self.alert_id!r}, {self.due.isoformat()})"


def pending_escalations(pg_dsn: str) -> list[PendingEscalation]:
    """Open alerts (alerts db) with a pending escalation: each needs one Step Functions execution."""
    with _source(pg_dsn) as conn:
        return [PendingEscalation(a, d) for a, d in conn.execute(
            "SELECT id, escalation_due_at FROM alerts WHERE status = 'open'"
            " AND escalation_due_at IS NOT NULL ORDER BY escalation_due_at")]


def start_escalations(sfn_client, state_machine_arn: str, pending: list[PendingEscalation], *,
                      now: datetime | None = None) -> int:
    """Start one execution per pending escalation, named by the alert id, first wait up to its due time.

    Input as stage 3's StepFunctionsWorkflow.start gives it; later waits follow the alert item's
    escalation_after_seconds. An execution that exists already is left alone. Returns how many started.
    """
    now = now or utcnow()
    started = 0
    for p in pending:
        payload = {"alert_id": p.alert_id, "pk": f"ALERT#{p.alert_id}", "sk": "ALERT",
                   "wait_seconds": p.wait_seconds(now)}
        try:
            sfn_client.start_execution(stateMachineArn=state_machine_arn, name=p.alert_id,
                                       input=json.dumps(payload))
            started += 1
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
    return started


def copy_alerts(pg_dsn: str, table: str, dynamodb_client, *, progress: Progress | None = None,
                devices_dsn: str | None = None, sfn_client=None, state_machine_arn: str | None = None,
                now: datetime | None = None) -> CopyStats:
    """Alerts (pg_dsn = alerts db) with active claims; pending escalations become executions.

    Without sfn_client/state_machine_arn no execution is started: the deployed stream handler
    then starts one per inserted open alert with a full escalation period (noted in the stats).
    """
    stats, timer, say = CopyStats("alerts"), Timer(), progress or quiet
    with _source(devices_dsn or sibling_dsn(pg_dsn, "devices")) as conn:
        after = dict(conn.execute("SELECT id, escalation_after_seconds FROM devices").fetchall())
    with _source(pg_dsn) as conn:
        rows = _alerts(conn)
        projected = {r[0]: r[1]["escalation_after_seconds"] for r in
                     conn.execute("SELECT id, snapshot FROM device_projection WHERE NOT deleted")}
    pending = {a.id: PendingEscalation(a.id, due) for a, due in rows
               if a.status == "open" and due is not None}
    source_ids = {a.id for a, _ in rows}
    stale = []
    for owner in sorted({a.owner_id for a, _ in rows}):
        for item in _query(dynamodb_client, table, "GSI1PK = :pk", {":pk": it.alerts_of_owner(owner)},
                           index="GSI1"):
            if item["PK"].split("#", 1)[1] not in source_ids:
                stale.append({"PK": item["PK"], "SK": item["SK"]})
    if sfn_client is not None and state_machine_arn:
        # Before the items: the stream handler's own start (full wait) then finds ours and yields.
        stats.notes.append(f"{start_escalations(sfn_client, state_machine_arn, list(pending.values()), now=now)}"
                           f" executions started for {len(pending)} pending escalations")
    elif pending:
        stats.notes.append(f"{len(pending)} pending escalations not scheduled (no state machine given)")
    puts = []
    for alert, _due in rows:
        wait = after.get(alert.device_id, projected.get(alert.device_id, 0))
        puts.append(it.alert_item(alert, int(wait)))
        if alert.status in ACTIVE_STATUSES:
            puts.append({**it.active_claim_key(alert.device_id, alert.kind), "type": "claim",
                         "alert_id": alert.id})
    stats.batches = batch_write(dynamodb_client, table, puts, stale)
    stats.copied, stats.deleted = len(puts), len(stale)
    say(f"alerts: {len(rows)} alerts ({len(puts)} items), {len(pending)} pending escalations")
    stats.seconds = timer.seconds
    return stats


# --- verification ------------------------------------------------------------------------------

def _f(v):
    return None if v is None else float(v)


def _user_lines(u: User) -> list[tuple]:
    return [(u.id, ("user",), canonical(["user", u.id, u.username, u.password_hash, to_ms(u.created_at)])),
            (u.id, ("username",), canonical(["username", u.username, u.id, u.password_hash,
                                              to_ms(u.created_at)]))]


def verify_identity(pg_dsn: str, table: str, dynamodb_client) -> Verification:
    """Each user's profile and username claim, checksummed per user."""
    timer = Timer()
    with _source(pg_dsn) as conn:
        users = _users(conn)
    a, b = OwnerDigests(), OwnerDigests()
    a.add_sorted(line for u in users for line in _user_lines(u))
    rows = []
    for u in users:
        profile = _get(dynamodb_client, table, it.user_key(u.id))
        if profile is not None:
            p = it.user_from(profile)
            rows.append((u.id, ("user",), canonical(["user", p.id, p.username, p.password_hash,
                                                      to_ms(p.created_at)])))
        claim = _get(dynamodb_client, table, it.username_key(u.username))
        if claim is not None:
            c = it.user_from(claim)
            rows.append((u.id, ("username",), canonical(["username", c.username, c.id, c.password_hash,
                                                          to_ms(c.created_at)])))
    b.add_sorted(rows)
    a.count, b.count = len(users), sum(1 for r in rows if r[1] == ("user",))
    return compare("identity", a, b, timer.start)


def _device_line(d: Device) -> tuple:
    return d.owner_id, ("device", d.id), canonical(
        ["device", d.id, d.owner_id, d.name, d.room, d.kind, d.unit, _f(d.low_threshold),
         _f(d.high_threshold), int(d.escalation_after_seconds), to_ms(d.created_at), to_ms(d.updated_at)])


def _idem_line(user_id, key, fp, status, body, location) -> tuple:
    return user_id, ("idem", key), canonical(["idem", key, fp, int(status), json.dumps(body, sort_keys=True),
                                              location])


def _target_idem(client, table: str, user_id: str, key: str) -> tuple | None:
    item = _get(client, table, {"PK": f"IDEM#{user_id}#{key}", "SK": "IDEM"})
    if item is None or "status" not in item:
        return None
    return _idem_line(user_id, key, item["fingerprint"], item["status"], json.loads(item["body"]),
                      item.get("location"))


def _source_idem(rows) -> list[tuple]:
    return [_idem_line(u, k, fp, s, body, (headers or {}).get("Location")) for u, k, fp, _c, s, body, headers in rows]


def verify_devices(pg_dsn: str, table: str, dynamodb_client) -> Verification:
    """Each owner's devices (their whole partition) and POST /devices idempotency records."""
    timer = Timer()
    with _source(pg_dsn) as conn:
        devices, idem = _devices(conn), _idempotency(conn)
    a, b = OwnerDigests(), OwnerDigests()
    a.add_sorted([_device_line(d) for d in devices] + _source_idem(idem))
    rows = []
    for owner in sorted({d.owner_id for d in devices}):
        for item in _query(dynamodb_client, table, "PK = :pk AND begins_with(SK, :p)",
                           {":pk": f"USER#{owner}", ":p": "DEVICE#"}):
            rows.append(_device_line(it.device_from(item)))
    rows += [r for r in (_target_idem(dynamodb_client, table, u, k) for u, k, *_ in idem) if r is not None]
    b.add_sorted(rows)
    a.count, b.count = len(devices) + len(idem), len(rows)
    return compare("devices", a, b, timer.start)


def verify_readings(pg_dsn: str, table: str, dynamodb_client, *, devices_dsn: str | None = None,
                    workers: int = WORKERS, progress: Progress | None = None) -> Verification:
    """Every reading of every source device, in API order, folded per owner; plus idempotency records."""
    timer, say = Timer(), progress or quiet
    owner_of = _owners(devices_dsn or sibling_dsn(pg_dsn, "devices"))
    a, b = DeviceDigests(), DeviceDigests()
    with _source(pg_dsn) as conn:
        with conn.transaction(), conn.cursor(name="verify_readings") as cur:
            cur.itersize = 20_000
            cur.execute("SELECT seq, device_id, value, (extract(epoch FROM recorded_at) * 1000)::bigint"
                        " FROM readings ORDER BY device_id, recorded_at, seq")
            for seq, device_id, value, ms in cur:
                a.add(device_id, reading_line(seq, value, ms))
        idem = _idempotency(conn)
    say(f"readings: {a.count} source rows hashed ({timer.seconds:.1f} s); reading the table")

    def device_lines(device_id):
        return device_id, [reading_line(int(i["seq"]), float(i["value"]), to_ms(parse_ts(i["recorded_at"])))
                           for i in _query(dynamodb_client, table, "PK = :pk AND begins_with(SK, :p)",
                                           {":pk": f"DEVICE#{device_id}", ":p": "R#"})]

    with ThreadPoolExecutor(workers) as pool:
        for device_id, lines in pool.map(device_lines, sorted(owner_of)):
            for line in lines:
                b.add(device_id, line)
    oa, ob = a.by_owner(owner_of), b.by_owner(owner_of)
    ia = _source_idem(idem)
    ib = [r for r in (_target_idem(dynamodb_client, table, u, k) for u, k, *_ in idem) if r is not None]
    oa.add_sorted(ia)
    ob.add_sorted(ib)
    oa.count, ob.count = a.count + len(ia), b.count + len(ib)
    return compare("readings", oa, ob, timer.start)


def _alert_line(alert: Alert, wait: int) -> tuple:
    return alert.owner_id, ("alert", alert.id), canonical(
        ["alert", alert.id, alert.device_id, alert.owner_id, alert.kind, alert.status, int(alert.level),
         _f(alert.threshold), _f(alert.first_value), _f(alert.last_value), int(alert.reading_count),
         *(to_ms(getattr(alert, t)) for t in ("opened_at", "acknowledged_at", "resolved_at",
                                               "escalated_at", "updated_at")), int(wait)])


def _claim_line(owner: str, device_id: str, kind: str, alert_id: str) -> tuple:
    return owner, ("claim", device_id, kind), canonical(["claim", device_id, kind, alert_id])


def verify_alerts(pg_dsn: str, table: str, dynamodb_client, *, devices_dsn: str | None = None) -> Verification:
    """Each owner's alerts (found through GSI1, read from the base table) and active claims."""
    timer = Timer()
    with _source(devices_dsn or sibling_dsn(pg_dsn, "devices")) as conn:
        after = dict(conn.execute("SELECT id, escalation_after_seconds FROM devices").fetchall())
    with _source(pg_dsn) as conn:
        rows = _alerts(conn)
        projected = {r[0]: r[1]["escalation_after_seconds"] for r in
                     conn.execute("SELECT id, snapshot FROM device_projection WHERE NOT deleted")}
    a, b = OwnerDigests(), OwnerDigests()
    src = []
    for alert, _due in rows:
        src.append(_alert_line(alert, after.get(alert.device_id, projected.get(alert.device_id, 0))))
        if alert.status in ACTIVE_STATUSES:
            src.append(_claim_line(alert.owner_id, alert.device_id, alert.kind, alert.id))
    a.add_sorted(src)
    dst, count = [], 0
    for owner in sorted({al.owner_id for al, _ in rows}):
        for index_item in _query(dynamodb_client, table, "GSI1PK = :pk", {":pk": it.alerts_of_owner(owner)},
                                 index="GSI1"):
            item = _get(dynamodb_client, table, {"PK": index_item["PK"], "SK": index_item["SK"]})
            if item is None:
                continue
            alert = it.alert_from(item)
            count += 1
            dst.append(_alert_line(alert, int(item.get("escalation_after_seconds", 0))))
            if alert.status in ACTIVE_STATUSES:
                claim = _get(dynamodb_client, table, it.active_claim_key(alert.device_id, alert.kind))
                if claim is not None:
                    dst.append(_claim_line(owner, alert.device_id, alert.kind, claim["alert_id"]))
    b.add_sorted(dst)
    a.count, b.count = len(rows), count
    return compare("alerts", a, b, timer.start)


def unsent_events(pg_dsn: str) -> int:
    """Outbox rows a stage 2 service committed but has not published yet (0 if it has no outbox)."""
    with _source(pg_dsn) as conn:
        if conn.execute("SELECT to_regclass('outbox')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]


GROUPS = ("identity", "devices", "readings", "alerts")
COPY = {"identity": copy_identity, "devices": copy_devices, "readings": copy_readings,
        "alerts": copy_alerts}
VERIFY = {"identity": verify_identity, "devices": verify_devices, "readings": verify_readings,
          "alerts": verify_alerts}
# The stage 2 database each group is read from.
DATABASE = {"identity": "identity", "devices": "devices", "readings": "telemetry", "alerts": "alerts"}
