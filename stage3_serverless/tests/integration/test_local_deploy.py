"""Against a real local deploy: API Gateway in front, the escalation state machine, clean shutdown."""

# Tests run in file order: the escalation tests switch the stream handler off, the last one stops the stage.

from __future__ import annotations

import json
import re
import signal
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import psutil
import pytest

from homesense_core.ids import new_id

pytestmark = pytest.mark.slow
RFC3339_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_health_answers_through_the_local_api_gateway(local_stage):
    assert "/_aws/execute-api/" in local_stage.base_url and local_stage.ws_url.startswith("ws://")
    status, _, body = _get(f"{local_stage.base_url}/health")
    assert status == 200 and json.loads(body)["stage"] == "serverless"


def _send(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_health_and_me_are_lambda_proxies_locally_and_the_swap_is_logged(local_stage):
    # On AWS these two are a Mock and a DynamoDB integration; ministack runs neither.
    gw = local_stage.client("apigateway")
    api_id = local_stage.base_url.split("/_aws/execute-api/")[1].split("/")[0]
    resources = {r["path"]: r["id"] for r in gw.get_resources(restApiId=api_id, limit=500)["items"]}
    for path in ("/health", "/me"):
        integration = gw.get_integration(restApiId=api_id, resourceId=resources[path], httpMethod="GET")
        assert integration["type"] == "AWS_PROXY" and "APIHandler" in integration["uri"], integration
    log = (local_stage.data_dir.parent / "stage.stderr.log").read_text(errors="replace")
    assert "localize: GET /health -> Lambda proxy. MOCK integration kept for AWS only" in log
    assert "localize: GET /me -> Lambda proxy. AWS service integration (DynamoDB GetItem)" in log


def test_me_is_served_through_the_lambda_locally(local_stage):
    username = f"it_{new_id()[-10:].lower()}"
    user = _send(f"{local_stage.base_url}/users", {"username": username, "password": "correct horse"})
    token = _send(f"{local_stage.base_url}/auth/token", {"username": username, "password": "correct horse"})
    status, headers, body = _get(f"{local_stage.base_url}/me", {
        "Authorization": f"Bearer {token['access_token']}", "X-Request-Id": "it-me"})
    assert status == 200 and json.loads(body) == user
    assert headers["X-Request-Id"] == "it-me"


def test_authorizer_refusal_is_rendered_by_the_gateway_response(local_stage):
    status, headers, body = _get(f"{local_stage.base_url}/me", {"X-Request-Id": "it-401"})
    headers = {k.lower(): v for k, v in headers.items()}
    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert headers["www-authenticate"] == "Bearer"
    assert headers["access-control-allow-origin"] == "*"
    assert json.loads(body)["type"] == "/problems/unauthorized"


def test_a_refused_token_is_the_same_401_problem(local_stage):
    # The authorizer's Deny is ACCESS_DENIED; its gateway response is the same 401 as a missing token.
    status, headers, body = _get(f"{local_stage.base_url}/me", {"Authorization": "Bearer not.a.jwt"})
    headers = {k.lower(): v for k, v in headers.items()}
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert json.loads(body)["type"] == "/problems/unauthorized"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_unknown_path_is_the_apps_404_through_the_greedy_route(local_stage, method):
    request = urllib.request.Request(f"{local_stage.base_url}/devices/x/y/z", method=method,
                                     headers={"X-Request-Id": "it-unknown-route"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 404
    assert caught.value.headers["X-Request-Id"] == "it-unknown-route"  # the app's echo, not the gateway's id
    assert json.loads(caught.value.read())["type"] == "/problems/not-found"


def test_preflight_on_an_unknown_path_is_answered(local_stage):
    request = urllib.request.Request(f"{local_stage.base_url}/no/such/route", method="OPTIONS",
                                     headers={"Origin": "https://a.test", "Access-Control-Request-Method": "PUT"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Max-Age"] == "600"
        assert "Idempotency-Key" in resp.headers["Access-Control-Allow-Headers"]


def _descendants(pid: int):
    return psutil.Process(pid).children(recursive=True)


def _dead(process: psutil.Process, timeout_s: float = 10) -> bool:
    """Gone, or a zombie (ministack, its parent, reaps it on the next invocation)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_escalation_goes_on_after_every_lambda_worker_is_sigkilled(local_stage):
    """The escalation workflow lives in Step Functions, not in a Lambda: killing every worker
    mid-escalation changes nothing, and the functions come back with a cold start.

    (Restarting the emulator itself cannot be shown: see test_ministack_gaps.py and the README.)"""
    base, setting = local_stage.base_url, 2
    username = f"it_{new_id()[-10:].lower()}"
    _send(f"{base}/users", {"username": username, "password": "correct horse"})
    auth = {"Authorization": "Bearer " + _send(f"{base}/auth/token", {"username": username,
                                                                         "password": "correct horse"})["access_token"]}
    device = _send(f"{base}/devices", {"name": "Loft", "kind": "temperature", "low_threshold": 10,
                                       "escalation_after_seconds": setting}, auth)["id"]
    assert _send(f"{base}/devices/{device}/readings", {"readings": [{"value": 1.0}]}, auth) == {"accepted": 1}
    deadline = time.monotonic() + 30
    while not (alerts := json.loads(_get(f"{base}/alerts?device_id={device}", auth)[2])["items"]):
        assert time.monotonic() < deadline, "no alert opened"
        time.sleep(0.2)
    alert = alerts[0]
    assert alert["level"] == 1, alert

    ministack_pid = int(next((local_stage.data_dir / "tmp").glob("ministack-*.pid")).read_text())
    workers = _descendants(ministack_pid)
    assert workers, "no Lambda worker is running"
    for worker in workers:
        worker.send_signal(signal.SIGKILL)
    assert all(_dead(w) for w in workers)
    killed_after = (datetime.now(timezone.utc) - _ts(alert["opened_at"])).total_seconds()

    # Read the item straight from DynamoDB: no Lambda in the way while the workers are gone.
    ddb, table = local_stage.client("dynamodb"), local_stage.outputs()["TableName"]
    key = {"PK": {"S": f"ALERT#{alert['id']}"}, "SK": {"S": "ALERT"}}
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + 6 * setting + 10
    while time.monotonic() < deadline and 3 not in seen:
        item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        seen.setdefault(int(item["level"]["N"]), item)
        time.sleep(0.1)
    # Polled twenty times a period: level 2 shows before level 3 (level 1 too, unless the kill came late).
    assert 2 in seen and 3 in seen, sorted(seen)
    opened = _ts(alert["opened_at"])
    at2, at3 = _ts(seen[2]["escalated_at"]["S"]), _ts(seen[3]["escalated_at"]["S"])
    assert killed_after < (at3 - opened).total_seconds(), "the kill came after the escalation ended"
    print(f"\n[fault] stage 3 Lambda workers SIGKILL ({len(workers)} processes, {killed_after:.2f} s after "
          f"opening): level 2 at +{(at2 - opened).total_seconds():.2f} s, level 3 "
          f"{(at3 - at2).total_seconds():.2f} s later (setting {setting} s)")
    # On time: never early, one level per period, late by no more than the emulator's scheduling.
    assert setting <= (at2 - opened).total_seconds() <= setting + 3
    assert setting <= (at3 - at2).total_seconds() <= setting + 3

    # The functions come back (cold starts): the API reads the alert, the stream handler resolves it.
    status, _, body = _get(f"{base}/alerts/{alert['id']}", auth)
    assert status == 200 and json.loads(body)["level"] == 3, body
    assert _send(f"{base}/devices/{device}/readings", {"readings": [{"value": 20.0}]}, auth) == {"accepted": 1}
    deadline = time.monotonic() + 30
    while json.loads(_get(f"{base}/alerts/{alert['id']}", auth)[2])["status"] != "resolved":
        assert time.monotonic() < deadline, "the stream handler did not come back"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def escalation(local_stage):
    """Table and state machine of the deploy, with the app's stream handler switched off."""
    # The app starts its own execution for every opened alert; these tests drive the state
    # machine alone, so the items they write must not reach the app.
    lam = local_stage.client("lambda")
    for fn in lam.list_functions()["Functions"]:
        if "OnTableChange" in fn["FunctionName"]:
            for mapping in lam.list_event_source_mappings(FunctionName=fn["FunctionName"])["EventSourceMappings"]:
                lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    outputs = local_stage.outputs()
    return local_stage.client("dynamodb"), local_stage.client("stepfunctions"), outputs


def _open_alert(ddb, table: str) -> tuple[str, dict]:
    alert_id = new_id()
    key = {"PK": {"S": f"ALERT#{alert_id}"}, "SK": {"S": "ALERT"}}
    ddb.put_item(TableName=table, Item={**key, "status": {"S": "open"}, "level": {"N": "1"},
                                        "escalation_after_seconds": {"N": "1"},
                                        "opened_at": {"S": "2026-01-01T00:00:00.000Z"}})
    return alert_id, key


def _start(sfn, arn: str, alert_id: str) -> str:
    execution = sfn.start_execution(stateMachineArn=arn, name=alert_id, input=json.dumps(
        {"alert_id": alert_id, "pk": f"ALERT#{alert_id}", "sk": "ALERT", "wait_seconds": 1}))
    return execution["executionArn"]


def _finished(sfn, execution_arn: str, timeout_s: float = 20) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.25)
    raise AssertionError(f"execution still running after {timeout_s} s")


def test_open_alert_escalates_twice_then_the_workflow_ends(escalation):
    ddb, sfn, outputs = escalation
    alert_id, key = _open_alert(ddb, outputs["TableName"])
    started = time.monotonic()
    execution = _start(sfn, outputs["EscalationStateMachineArn"], alert_id)
    assert _finished(sfn, execution) == "SUCCEEDED"
    item = ddb.get_item(TableName=outputs["TableName"], Key=key, ConsistentRead=True)["Item"]
    assert item["level"] == {"N": "3"}
    assert RFC3339_MS_Z.match(item["escalated_at"]["S"]) and item["updated_at"] == item["escalated_at"]
    # Two waits of one second each, and no third one once level 3 is reached.
    assert 2 <= time.monotonic() - started < 10


def test_acknowledging_stops_the_escalation(escalation):
    ddb, sfn, outputs = escalation
    table = outputs["TableName"]
    alert_id, key = _open_alert(ddb, table)
    execution = _start(sfn, outputs["EscalationStateMachineArn"], alert_id)
    deadline = time.monotonic() + 10
    while ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["level"] != {"N": "2"}:
        assert time.monotonic() < deadline, "first escalation did not happen"
        time.sleep(0.1)
    ddb.update_item(TableName=table, Key=key, UpdateExpression="SET #s = :ack",
                    ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":ack": {"S": "acknowledged"}})
    assert _finished(sfn, execution) == "SUCCEEDED"
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["level"] == {"N": "2"} and item["status"] == {"S": "acknowledged"}


def test_a_missing_alert_ends_the_workflow_without_writing(escalation):
    ddb, sfn, outputs = escalation
    alert_id = new_id()
    assert _finished(sfn, _start(sfn, outputs["EscalationStateMachineArn"], alert_id)) == "SUCCEEDED"
    key = {"PK": {"S": f"ALERT#{alert_id}"}, "SK": {"S": "ALERT"}}
    assert "Item" not in ddb.get_item(TableName=outputs["TableName"], Key=key)


def test_sigterm_stops_the_stage_and_ministack(local_stage):
    ministack_pid = int(next((local_stage.data_dir / "tmp").glob("ministack-*.pid")).read_text())
    local_stage.process.send_signal(signal.SIGTERM)
    assert local_stage.process.wait(30) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{ministack_pid}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"ministack (pid {ministack_pid}) still running")
