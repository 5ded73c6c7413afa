"""`python -m migration data --from 1 --to 2` (or `--from 2 --to 3`): move a whole stage's data.

Stores are found the way the stages' own launchers leave them:
  stage 1   the SQLite file in --source-dir (default var/stage1, as `make stage1`)
  stage 2   the embedded PostgreSQL cluster in <dir>/postgres (var/stage2, as `make stage2`): a running
            one is used (port from its postmaster.pid), otherwise it is started for the move on a
            free port and stopped afterwards. --pg-url postgresql://user:pw@host:port names another
            server instead (the service databases identity, devices, telemetry, alerts live on it).
  stage 3   a deployed stack on the local ministack (`make stage3`, which listens on PORT, default
            8000): --target-endpoint (default http://127.0.0.1:8000), --stack (default
            homesense-local); the table and the escalation state machine are read from the stack's
            resources unless --table / --state-machine-arn are given. Ministack keeps its state in
            memory: the stack must be running while the data is moved, and after.

Also carried: the RS256 signing key (stage 1 signing-key.pem -> stage 2 identity's key file;
stage 2 key -> stage 3's SSM parameter), so tokens issued before the move keep working.
Progress goes to stderr; the verification report to stdout. Exit 1 when any group mismatches.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from migration.data.common import Verification

GROUPS = ("identity", "devices", "readings", "alerts")
STAGE1_DB = "homesense.sqlite3"          # stage1_monolith.settings.Settings.database_path
STAGE1_KEY = "signing-key.pem"           # Settings.signing_key_path
STAGE2_KEY = Path("identity") / "identity-signing-key.pem"  # runner data_dir/identity + keys.KEY_FILE
STAGE3_KEY_PARAMETER = "/homesense/local/signing-key"      # stage3_serverless.local


def log(message: str) -> None:
    print(f"[migrate-data] {message}", file=sys.stderr, flush=True)


def _parser(source: str, target: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m migration data --from {source} --to {target}")
    p.add_argument("--groups", default=",".join(GROUPS),
                   help="comma-separated subset of " + ",".join(GROUPS) + " (in that order)")
    p.add_argument("--restart", action="store_true", help="ignore the readings checkpoint, copy all again")
    p.add_argument("--verify-only", action="store_true", help="copy nothing, only verify")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    if source == "1":
        p.add_argument("--source-dir", default="var/stage1")
        p.add_argument("--sqlite", help="the stage 1 SQLite file (default <source-dir>/homesense.sqlite3)")
        p.add_argument("--target-dir", default="var/stage2")
        p.add_argument("--pg-url", help="postgresql://user:pw@host:port of the stage 2 server")
    else:
        p.add_argument("--source-dir", default="var/stage2")
        p.add_argument("--pg-url", help="postgresql://user:pw@host:port of the stage 2 server")
        p.add_argument("--target-endpoint", default=os.environ.get("HOMESENSE_MINISTACK_URL",
                                                                   "http://127.0.0.1:8000"))
        p.add_argument("--stack", default="homesense-local")
        p.add_argument("--table", help="DynamoDB table name (default: the stack's Table resource)")
        p.add_argument("--state-machine-arn", help="default: the stack's EscalationStateMachine")
        p.add_argument("--region", default="us-east-1")
    return p


# --- stage 2's PostgreSQL ----------------------------------------------------------------------

def _running_port(pgdata: Path) -> int | None:
    """The port of a live postmaster on pgdata, from its postmaster.pid (None if none runs)."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
        return port
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def stage2_server(data_dir: Path, pg_url: str | None) -> Iterator[str]:
    """The base URL of stage 2's PostgreSQL; starts the embedded one (and stops it) if needed."""
    if pg_url:
        yield pg_url.rstrip("/")
        return
    from stage2_microservices import topology
    from stage2_microservices.local.postgres import LocalPostgres, url
    from stage2_microservices.local.processes import free_port

    data_dir = Path(data_dir).resolve()
    port = _running_port(data_dir / "postgres")
    if port is not None:
        log(f"using the PostgreSQL already running on port {port} ({data_dir / 'postgres'})")
        yield url("127.0.0.1", port, "").rstrip("/")
        return
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    pg = LocalPostgres(data_dir, "127.0.0.1", free_port(), data_dir / "logs" / "postgres-migrate.log")
    log(f"starting PostgreSQL in {pg.pgdata} on port {pg.port} for the move"
        + ("" if pg.initialized else " (initdb first)"))
    pg.start()
    try:
        pg.process.wait_ready(60)
        pg.create_databases(topology.DATABASES)
        yield url("127.0.0.1", pg.port, "").rstrip("/")
    finally:
        log(f"stopping the PostgreSQL we started (pid {pg.process.pid})")
        pg.process.stop()


def _dsn(base: str, database: str) -> str:
    return f"{base}/{database}"


def ensure_databases(base: str, names) -> None:
    """CREATE DATABASE for the service databases a server lacks (as the stage 2 runner does)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(_dsn(base, "postgres"), autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- signing keys ---------------------------------------------------------------------------------

def carry_key_to_stage2(source_dir: Path, target_dir: Path) -> str:
    """Stage 1's key becomes identity's, unless identity already has a different one (kept, warned)."""
    src, dst = Path(source_dir) / STAGE1_KEY, Path(target_dir) / STAGE2_KEY
    if not src.exists():
        return f"no stage 1 key at {src}: nothing to carry"
    if dst.exists():
        if dst.read_bytes() == src.read_bytes():
            return "signing key: already the same"
        return (f"signing key: {dst} exists and differs: KEPT (tokens of stage 1 will not verify; "
                f"delete it and rerun to carry stage 1's key)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(src.read_bytes())
    os.replace(tmp, dst)
    return f"signing key: copied to {dst}"


def carry_key_to_stage3(source_dir: Path, ssm) -> str:
    """Stage 2's identity key becomes the SSM parameter stage 3's functions sign and verify with."""
    src = Path(source_dir) / STAGE2_KEY
    if not src.exists():
        return f"no stage 2 key at {src}: nothing to carry"
    pem = src.read_text()
    try:
        current = ssm.get_parameter(Name=STAGE3_KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"]
    except Exception:  # noqa: BLE001 - ParameterNotFound or an emulator quirk: write it
        current = None
    if current == pem:
        return "signing key: already the same"
    ssm.put_parameter(Name=STAGE3_KEY_PARAMETER, Value=pem, Type="SecureString", Overwrite=True)
    return (f"signing key: SSM {STAGE3_KEY_PARAMETER} set to stage 2's key (functions already warm "
            "keep the old key until their next cold start)")


# --- the run --------------------------------------------------------------------------------------

def _report(copies: dict, checks: dict[str, Verification], notes: list[str], seconds: float, as_json: bool) -> bool:
    ok = all(v.ok for v in checks.values())
    if as_json:
        print(json.dumps({"ok": ok, "seconds": round(seconds, 3), "notes": notes,
                          "groups": {g: {"copy": copies[g].to_json() if g in copies else None,
                                         "verification": v.to_json(), "ok": v.ok,
                                         "verify_seconds": round(v.seconds, 3)}
                                     for g, v in checks.items()}}))
        return ok
    # Rows are every row the group moves (e.g. devices + their idempotency records).
    print(f"{'group':<10} {'copied':>9} {'deleted':>8} {'src rows':>9} {'dst rows':>9} {'owners':>7} "
          f"{'matched':>8} {'mismatch':>8} {'copy s':>8} {'verify s':>8}")
    for g, v in checks.items():
        c = copies.get(g)
        print(f"{g:<10} {c.copied if c else '-':>9} {c.deleted if c else '-':>8} {v.source_count:>9} "
              f"{v.target_count:>9} {v.owners_checked:>7} {v.owners_checked - len(v.mismatches):>8} "
              f"{len(v.mismatches):>8} {f'{c.seconds:.2f}' if c else '-':>8} {v.seconds:>8.2f}")
        if v.mismatches:
            print(f"  mismatching owners: {', '.join(v.mismatches[:20])}"
                  + (" ..." if len(v.mismatches) > 20 else ""))
        for note in (c.notes if c else []):
            print(f"  {g}: {note}")
    for note in notes:
        print(f"note: {note}")
    print(f"{'OK' if ok else 'MISMATCH'}: {len(checks)} groups verified in {seconds:.1f} s")
    return ok


def _groups(text: str) -> list[str]:
    chosen = [g.strip() for g in text.split(",") if g.strip()]
    unknown = set(chosen) - set(GROUPS)
    if unknown:
        raise SystemExit(f"unknown group(s): {', '.join(sorted(unknown))}")
    return [g for g in GROUPS if g in chosen]


def one_to_two(args) -> int:
    from migration.data import sqlite_pg

    sqlite_path = Path(args.sqlite or Path(args.source_dir) / STAGE1_DB)
    if not sqlite_path.exists():
        log(f"no stage 1 database at {sqlite_path}")
        return 2
    started, notes = time.monotonic(), []
    pending = sqlite_pg.pending_outbox(sqlite_path)
    if pending:
        notes.append(f"{pending} reading batches in stage 1's outbox are not evaluated yet: their alerts "
                     "are not in the copy (let the monolith drain its outbox, then rerun)")
    copies, checks = {}, {}
    with stage2_server(Path(args.target_dir), args.pg_url) as base:
        ensure_databases(base, sorted(set(sqlite_pg.DATABASE.values())))
        for group in _groups(args.groups):
            dsn = _dsn(base, sqlite_pg.DATABASE[group])
            if not args.verify_only:
                log(f"copying {group} -> {sqlite_pg.DATABASE[group]} database")
                kwargs = {"restart": args.restart} if group == "readings" else {}
                copies[group] = sqlite_pg.COPY[group](sqlite_path, dsn, progress=log, **kwargs)
            log(f"verifying {group}")
            checks[group] = sqlite_pg.VERIFY[group](sqlite_path, dsn, **(
                {"progress": log} if group == "readings" else {}))
    if not args.verify_only and "identity" in args.groups:
        notes.append(carry_key_to_stage2(Path(args.source_dir), Path(args.target_dir)))
    return 0 if _report(copies, checks, notes, time.monotonic() - started, args.json) else 1


def stage3_target(args):
    """(dynamodb client, table, stepfunctions client, state machine arn, ssm client) of the stack."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                                    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                                    region_name=args.region)
    config = Config(max_pool_connections=32, retries={"max_attempts": 8, "mode": "adaptive"})

    def client(name):
        return session.client(name, endpoint_url=args.target_endpoint, config=config)

    table, arn = args.table, args.state_machine_arn
    if not table or not arn:
        resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                     client("cloudformation").describe_stack_resources(StackName=args.stack)["StackResources"]}
        table = table or resources["Table"]
        arn = arn or resources.get("EscalationStateMachine")
    return client("dynamodb"), table, client("stepfunctions"), arn, client("ssm")


def two_to_three(args) -> int:
    from migration.data import pg_dynamo

    started, notes = time.monotonic(), []
    try:
        ddb, table, sfn, arn, ssm = stage3_target(args)
    except Exception as exc:  # noqa: BLE001 - any failure here means "no stage 3 to write to"
        log(f"cannot reach the stage 3 stack {args.stack!r} at {args.target_endpoint}: {exc}\n"
            "  start it with `make stage3` (or pass --target-endpoint / --table / --state-machine-arn)")
        return 2
    log(f"target: table {table} at {args.target_endpoint}; state machine {arn}")
    copies, checks = {}, {}
    with stage2_server(Path(args.source_dir), args.pg_url) as base:
        devices_dsn = _dsn(base, "devices")
        for database in sorted(set(pg_dynamo.DATABASE.values())):
            unsent = pg_dynamo.unsent_events(_dsn(base, database))
            if unsent:
                notes.append(f"{unsent} events in the {database} outbox are not published yet (e.g. readings "
                             "not evaluated for alerts): stop stage 2 only after its outboxes drain, then rerun")
        for group in _groups(args.groups):
            dsn = _dsn(base, pg_dynamo.DATABASE[group])
            extra = {"devices_dsn": devices_dsn} if group in ("readings", "alerts") else {}
            if not args.verify_only:
                log(f"copying {group} from the {pg_dynamo.DATABASE[group]} database")
                kwargs = dict(extra)
                if group == "readings":
                    kwargs["restart"] = args.restart
                if group == "alerts":
                    kwargs.update(sfn_client=sfn, state_machine_arn=arn)
                copies[group] = pg_dynamo.COPY[group](dsn, table, ddb, progress=log, **kwargs)
            log(f"verifying {group}")
            checks[group] = pg_dynamo.VERIFY[group](dsn, table, ddb, **extra, **(
                {"progress": log} if group == "readings" else {}))
    if not args.verify_only and "identity" in args.groups:
        notes.append(carry_key_to_stage3(Path(args.source_dir), ssm))
    return 0 if _report(copies, checks, notes, time.monotonic() - started, args.json) else 1


def main(source: str, target: str, rest: list[str]) -> int:
    """Entry point of `python -m migration data`; returns the exit status."""
    if (source, target) not in (("1", "2"), ("2", "3")):
        log(f"no data move from stage {source} to stage {target} (only 1 -> 2 and 2 -> 3)")
        return 2
    args = _parser(source, target).parse_args(rest)
    return one_to_two(args) if source == "1" else two_to_three(args)
