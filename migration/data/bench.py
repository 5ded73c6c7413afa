"""Benchmark (not a test): `python -m migration.data.bench [--readings N] [--dynamo-readings M]`.

1. A stage 1 SQLite file made with the monolith's schema (Alembic) and use cases for the user
   and devices; the N readings (default 1,000,000) are inserted with one executemany, since the
   benchmark is about the copy, not about 2,000 HTTP-sized batches.
2. copy_readings into a stage 2 PostgreSQL started exactly as `make stage2` starts it
   (stage2_microservices.local.postgres.LocalPostgres: durable commits, default settings), timed;
   then verify_readings, timed separately.
3. Unless --dynamo-readings 0: a ministack (as `make stage3` runs it) with the stage 3 table,
   the devices then M readings (default 200,000) copied from that PostgreSQL with parallel
   BatchWriteItem calls; the rate is reported (and the time for N extrapolated).
Everything lives in a temporary directory and every process started is stopped by pid.
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from migration.data import pg_dynamo, sqlite_pg
from migration.data.common import to_ms


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def seed(path: Path, readings: int, devices: int = 100) -> None:
    from datetime import datetime, timezone

    from stage1_monolith.adapters.database import make_engine, migrate
    from stage1_monolith.adapters.sql import SqlUnitOfWorkFactory
    from stage1_monolith.services import accounts
    from stage1_monolith.services import devices as device_service

    engine = make_engine(path)
    migrate(engine)
    uow = SqlUnitOfWorkFactory(engine)
    clock = lambda: datetime(2026, 1, 1, tzinfo=timezone.utc)  # noqa: E731
    owner = accounts.register_user(uow, {"username": "bench", "password": "long-enough-pw"}, clock)["id"]
    ids = [device_service.create_device(uow, owner, {"name": f"d{i}", "kind": "co2"}, clock).body["id"]
           for i in range(devices)]
    engine.dispose()
    start, rnd = to_ms(clock()), random.Random(1)
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO readings (device_id, value, recorded_at) VALUES (?, ?, ?)",
                         ((ids[i % devices], round(rnd.uniform(300, 2000), 2), start + (i // devices) * 1000)
                          for i in range(readings)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m migration.data.bench")
    p.add_argument("--readings", type=int, default=1_000_000)
    p.add_argument("--dynamo-readings", type=int, default=200_000)
    p.add_argument("--workers", type=int, default=pg_dynamo.WORKERS)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)

    from stage2_microservices.local.postgres import LocalPostgres, url
    from stage2_microservices.local.processes import free_port

    work = Path(tempfile.mkdtemp(prefix="hs-bench-"))
    out: dict = {"readings": args.readings}
    t = time.monotonic()
    sqlite_path = work / "stage1" / "homesense.sqlite3"
    sqlite_path.parent.mkdir(parents=True)
    seed(sqlite_path, args.readings)
    log(f"seeded {args.readings} readings in {time.monotonic() - t:.1f} s")
    (work / "logs").mkdir()
    pg = LocalPostgres(work / "stage2", "127.0.0.1", free_port(), work / "logs" / "postgres.log")
    pg.start()
    try:
        pg.process.wait_ready(120)
        pg.create_databases(("devices", "telemetry"))
        base = url("127.0.0.1", pg.port, "").rstrip("/")
        stats = sqlite_pg.copy_readings(sqlite_path, f"{base}/telemetry", progress=log)
        out["sqlite_to_pg_copy_s"] = round(stats.seconds, 2)
        out["sqlite_to_pg_rows_per_s"] = round(stats.copied / stats.seconds)
        log(f"copy: {stats.copied} rows in {stats.seconds:.1f} s")
        check = sqlite_pg.verify_readings(sqlite_path, f"{base}/telemetry")
        out["sqlite_to_pg_verify_s"] = round(check.seconds, 2)
        out["sqlite_to_pg_ok"] = check.ok
        log(f"verify: ok={check.ok} in {check.seconds:.1f} s")
        again = sqlite_pg.copy_readings(sqlite_path, f"{base}/telemetry")
        out["sqlite_to_pg_rerun_s"] = round(again.seconds, 2)
        if args.dynamo_readings:
            out.update(_dynamo(work, sqlite_path, base, args.dynamo_readings, args.readings, args.workers))
    finally:
        pg.process.stop()
        if not args.keep:
            import shutil
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out))
    return 0 if out.get("sqlite_to_pg_ok") and out.get("dynamo_ok", True) else 1


def _dynamo(work: Path, sqlite_path: Path, base: str, count: int, total: int, workers: int) -> dict:
    import psycopg

    from stage2_microservices.local.processes import free_port
    from stage3_serverless.infra.ministack_process import Ministack

    sqlite_pg.copy_devices(sqlite_path, f"{base}/devices")
    # Only the first `count` readings: a database of its own holding that prefix.
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE dyn_telemetry")
    with psycopg.connect(f"{base}/telemetry") as src, psycopg.connect(f"{base}/dyn_telemetry") as dst:
        dst.execute(sqlite_pg._schema("telemetry"))
        with src.cursor().copy(f"COPY (SELECT seq, device_id, value, recorded_at FROM readings"
                               f" ORDER BY seq LIMIT {count}) TO STDOUT") as out, \
                dst.cursor().copy("COPY readings (seq, device_id, value, recorded_at) FROM STDIN") as into:
            for block in out:
                into.write(block)
    stack = Ministack("127.0.0.1", free_port(), work / "stage3")
    (work / "stage3").mkdir()
    stack.start()
    try:
        import boto3
        from botocore.config import Config

        # Our own client: the stack's helper has a 10-connection pool, fewer than the workers.
        ddb = boto3.client("dynamodb", endpoint_url=stack.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test",
                           config=Config(max_pool_connections=max(10, workers * 2)))
        template = Path(__file__).resolve().parents[2] / "stage3_serverless" / "resources" / "template.json"
        props = json.loads(template.read_text())["Resources"]["Table"]["Properties"]
        ddb.create_table(TableName="bench", **{k: props[k] for k in (
            "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")},
            StreamSpecification={"StreamEnabled": True, **props["StreamSpecification"]})
        pg_dynamo.copy_devices(f"{base}/devices", "bench", ddb)
        stats = pg_dynamo.copy_readings(f"{base}/dyn_telemetry", "bench", ddb, devices_dsn=f"{base}/devices",
                                        progress=log, workers=workers)
        rate = stats.copied / stats.seconds
        t = time.monotonic()
        check = pg_dynamo.verify_readings(f"{base}/dyn_telemetry", "bench", ddb, devices_dsn=f"{base}/devices")
        log(f"dynamo: {stats.copied} in {stats.seconds:.1f} s ({rate:.0f}/s), verify ok={check.ok}")
        return {"dynamo_readings": stats.copied, "dynamo_copy_s": round(stats.seconds, 2),
                "dynamo_items_per_s": round(rate), "dynamo_workers": workers,
                "dynamo_extrapolated_s_for_all": round(total / rate, 1),
                "dynamo_verify_s": round(time.monotonic() - t, 2), "dynamo_ok": check.ok}
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
