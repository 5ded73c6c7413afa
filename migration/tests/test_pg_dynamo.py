"""Stage 2 PostgreSQL -> stage 3 DynamoDB (moto): copy, verify, rerun, interrupt, tamper, executions."""
import json
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from migration.data import pg_dynamo, sqlite_pg
from migration.data.common import from_ms
from migration.data.pg_dynamo import COPY, GROUPS, VERIFY

TEMPLATE = Path(__file__).resolve().parents[2] / "stage3_serverless" / "resources" / "template.json"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def stage2(seeded, postgres):
    """A stage 2 data set: the seeded stage 1 data copied by the (already tested) 1 -> 2 move."""
    dsns = {}
    for group in sqlite_pg.GROUPS:
        database = sqlite_pg.DATABASE[group]
        dsns[group] = postgres.create_database(database)
    # The copies need the owner map from the devices database "beside" each one.
    for group in sqlite_pg.GROUPS:
        sqlite_pg.COPY[group](seeded.path, dsns[group])
    return seeded, dsns


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        # The table exactly as the stage 3 template declares it.
        props = json.loads(TEMPLATE.read_text())["Resources"]["Table"]["Properties"]
        ddb.create_table(TableName="homesense", **{k: props[k] for k in (
            "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")},
            # CloudFormation implies StreamEnabled; the API wants it said.
            StreamSpecification={"StreamEnabled": True, **props["StreamSpecification"]})
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="escalation", roleArn="arn:aws:iam::123456789012:role/escalation",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
        yield ddb, sfn, arn


def copy_all(stage2, ddb, sfn, arn, now=None):
    _, dsns = stage2
    kw = {"devices_dsn": dsns["devices"]}
    return {
        "identity": COPY["identity"](dsns["identity"], "homesense", ddb),
        "devices": COPY["devices"](dsns["devices"], "homesense", ddb),
        "readings": COPY["readings"](dsns["readings"], "homesense", ddb, chunk=100, **kw),
        "alerts": COPY["alerts"](dsns["alerts"], "homesense", ddb, sfn_client=sfn,
                                 state_machine_arn=arn, now=now, **kw),
    }


def verify_all(stage2, ddb):
    _, dsns = stage2
    kw = {"devices_dsn": dsns["devices"]}
    return {g: VERIFY[g](dsns[g], "homesense", ddb, **(kw if g in ("readings", "alerts") else {}))
            for g in GROUPS}


def scan(ddb):
    items, kwargs = [], {"TableName": "homesense"}
    while True:
        out = ddb.scan(**kwargs)
        items += [i for i in out["Items"] if not i["PK"]["S"].startswith("MIGRATION#")]
        if "LastEvaluatedKey" not in out:
            return sorted(json.dumps(i, sort_keys=True) for i in items)
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def test_copy_verify_rerun_and_escalation_executions(stage2, aws):
    ddb, sfn, arn = aws
    seeded, dsns = stage2
    due = from_ms(__import__("sqlite3").connect(seeded.path).execute(
        "SELECT due_at FROM escalations WHERE alert_id = ?", [seeded.open_alert]).fetchone()[0])
    now = due - timedelta(seconds=30)
    stats = copy_all(stage2, ddb, sfn, arn, now=now)
    results = verify_all(stage2, ddb)
    assert all(v.ok for v in results.values()), {g: v.to_json() for g, v in results.items()}
    assert results["readings"].source_count == stats["readings"].copied
    before = scan(ddb)
    copy_all(stage2, ddb, sfn, arn, now=now + timedelta(seconds=5))
    assert scan(ddb) == before
    assert all(v.ok for v in verify_all(stage2, ddb).values())
    # One execution per pending escalation, named by the alert, first wait = time left until due.
    executions = {e["name"]: e for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
    pending = pg_dynamo.pending_escalations(dsns["alerts"])
    assert set(executions) == {p.alert_id for p in pending} and seeded.open_alert in executions
    started = json.loads(sfn.describe_execution(
        executionArn=executions[seeded.open_alert]["executionArn"])["input"])
    assert started == {"alert_id": seeded.open_alert, "pk": f"ALERT#{seeded.open_alert}", "sk": "ALERT",
                       "wait_seconds": 30}
    assert seeded.acked_alert not in executions


def test_interrupted_readings_copy_resumes_and_verifies(stage2, aws):
    ddb, _, _ = aws
    _, dsns = stage2
    kw = {"devices_dsn": dsns["devices"]}
    COPY["devices"](dsns["devices"], "homesense", ddb)
    partial = pg_dynamo.copy_readings(dsns["readings"], "homesense", ddb, chunk=40, max_chunks=2, **kw)
    assert partial.notes and not pg_dynamo.verify_readings(dsns["readings"], "homesense", ddb, **kw).ok
    resumed = pg_dynamo.copy_readings(dsns["readings"], "homesense", ddb, chunk=40, **kw)
    assert resumed.resumed_from > 0
    assert pg_dynamo.verify_readings(dsns["readings"], "homesense", ddb, **kw).ok


def test_a_tampered_item_fails_verification_and_names_its_owner(stage2, aws):
    ddb, sfn, arn = aws
    seeded, dsns = stage2
    copy_all(stage2, ddb, sfn, arn)
    device_id, owner = next(iter(seeded.devices.items()))
    item = ddb.query(TableName="homesense", KeyConditionExpression="PK = :pk AND begins_with(SK, :r)",
                     ExpressionAttributeValues={":pk": {"S": f"DEVICE#{device_id}"}, ":r": {"S": "R#"}},
                     Limit=1)["Items"][0]
    ddb.update_item(TableName="homesense", Key={"PK": item["PK"], "SK": item["SK"]},
                    UpdateExpression="SET #v = :v", ExpressionAttributeNames={"#v": "value"},
                    ExpressionAttributeValues={":v": {"S": "99.5"}})
    result = pg_dynamo.verify_readings(dsns["readings"], "homesense", ddb, devices_dsn=dsns["devices"])
    assert not result.ok and result.mismatches == [owner]
    ddb.update_item(TableName="homesense", Key={"PK": {"S": f"USER#{owner}"}, "SK": {"S": "PROFILE"}},
                    UpdateExpression="SET password_hash = :h", ExpressionAttributeValues={":h": {"S": "x"}})
    assert pg_dynamo.verify_identity(dsns["identity"], "homesense", ddb).mismatches == [owner]


def test_cli_two_to_three_reports_and_carries_the_key(stage2, aws, tmp_path, monkeypatch, capsys):
    from migration.data import cli

    ddb, sfn, arn = aws
    ssm = boto3.client("ssm", region_name=REGION)
    _, dsns = stage2
    key = tmp_path / cli.STAGE2_KEY
    key.parent.mkdir(parents=True)
    key.write_text("-----BEGIN PRIVATE KEY-----\nstage 2\n")
    # The stack lookup is the only part that needs a real endpoint; the rest runs on moto.
    monkeypatch.setattr(cli, "stage3_target", lambda args: (ddb, "homesense", sfn, arn, ssm))
    base = dsns["identity"].rsplit("/", 1)[0]
    # The CLI reads the fixed service database names: point them at this test's databases.
    monkeypatch.setattr(pg_dynamo, "DATABASE", {g: dsns[g].rsplit("/", 1)[1] for g in GROUPS})
    monkeypatch.setattr(cli, "_dsn", lambda b, db: f"{b}/{db}" if db != "devices" else dsns["devices"])
    argv = ["--source-dir", str(tmp_path), "--pg-url", base, "--groups", "identity,alerts", "--json"]
    assert cli.main("2", "3", argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["groups"]["alerts"]["verification"]["mismatches"] == []
    assert ssm.get_parameter(Name=cli.STAGE3_KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"] == \
        key.read_text()
    owner = next(iter(stage2[0].devices.values()))
    ddb.delete_item(TableName="homesense", Key={"PK": {"S": f"USER#{owner}"}, "SK": {"S": "PROFILE"}})
    assert cli.main("2", "3", argv[:-1] + ["--verify-only"]) == 1
    assert f"mismatching owners: {owner}" in capsys.readouterr().out
