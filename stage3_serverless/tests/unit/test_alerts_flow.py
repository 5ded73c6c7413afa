"""Alerts produced by the stream handler from real (moto) stream records, pushed, escalated, acked."""

import json

import pytest

from .support import ws_event


def pushed(harness):
    return [json.loads(data) for _, data in harness.poster.sent]


@pytest.fixture
def ws(harness):
    """A user with one open WebSocket connection: (user, token, connection id)."""
    user, token = harness.user()
    event = ws_event("$connect", "conn-1", query={"token": token})
    assert harness.client.lambda_.invoke("on_ws_connect", event).payload == {"statusCode": 200}
    return user, token, "conn-1"


def test_low_reading_opens_an_alert_pushes_it_and_starts_escalation(harness, ws):
    user, token, conn = ws
    d = harness.device(token, low_threshold=10, escalation_after_seconds=7)
    harness.post_values(token, d["id"], [5.5])
    [alert] = harness.alerts(token)
    assert (alert["kind"], alert["status"], alert["level"], alert["threshold"]) == ("low", "open", 1, 10)
    assert (alert["first_value"], alert["last_value"], alert["reading_count"]) == (5.5, 5.5, 1)
    [message] = pushed(harness)
    assert message["type"] == "alert.opened" and message["alert"] == alert
    assert harness.poster.sent[0][0] == conn
    executions = harness.clients.get("stepfunctions").list_executions(
        stateMachineArn=harness.settings.state_machine_arn)["executions"]
    assert [e["name"] for e in executions] == [alert["id"]]


def test_batch_is_evaluated_in_array_order(harness):
    _, token = harness.user()
    d = harness.device(token, low_threshold=10)
    # 5 opens, 20 resolves, 4 opens a second alert, 3 updates it.
    harness.post_values(token, d["id"], [5, 20, 4, 3])
    newest, oldest = harness.alerts(token)
    assert (oldest["status"], oldest["first_value"], oldest["reading_count"]) == ("resolved", 5, 1)
    assert (newest["status"], newest["first_value"], newest["last_value"], newest["reading_count"]) == \
        ("open", 4, 3, 2)


def test_other_kind_does_not_resolve_and_inside_resolves_all(harness, ws):
    _, token, _ = ws
    d = harness.device(token, low_threshold=10, high_threshold=30)
    harness.post_values(token, d["id"], [5])
    harness.post_values(token, d["id"], [35])
    assert sorted(a["status"] for a in harness.alerts(token)) == ["open", "open"]
    harness.post_values(token, d["id"], [20])
    assert [a["status"] for a in harness.alerts(token)] == ["resolved", "resolved"]
    types = [m["type"] for m in pushed(harness)]
    assert types == ["alert.opened", "alert.opened", "alert.resolved", "alert.resolved"]


def test_escalation_by_the_state_machine_is_pushed(harness, ws):
    _, token, _ = ws
    d = harness.device(token, low_threshold=10)
    harness.post_values(token, d["id"], [1])
    [alert] = harness.alerts(token)
    # What the state machine's conditional UpdateItem does, done here by hand.
    harness.clients.get("dynamodb").update_item(
        TableName=harness.settings.table_name, Key={"PK": {"S": f"ALERT#{alert['id']}"}, "SK": {"S": "ALERT"}},
        UpdateExpression="SET #l = #l + :one, escalated_at = :t, updated_at = :t",
        ConditionExpression="#s = :open AND #l = :seen",
        ExpressionAttributeNames={"#l": "level", "#s": "status"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"S": "2030-01-01T00:00:00.000Z"},
                                   ":open": {"S": "open"}, ":seen": {"N": "1"}})
    harness.stream.drain()
    message = pushed(harness)[-1]
    assert message["type"] == "alert.escalated"
    assert (message["alert"]["level"], message["alert"]["escalated_at"]) == (2, "2030-01-01T00:00:00.000Z")
    assert harness.request("GET", f"/alerts/{alert['id']}", token=token).json_body == message["alert"]


def test_ack_is_idempotent_pushed_once_and_resolved_is_409(harness, ws):
    _, token, _ = ws
    d = harness.device(token, low_threshold=10)
    harness.post_values(token, d["id"], [1])
    [alert] = harness.alerts(token)
    first = harness.request("POST", f"/alerts/{alert['id']}/ack", token=token)
    assert first.status_code == 200
    assert (first.json_body["status"], first.json_body["level"]) == ("acknowledged", 1)
    again = harness.request("POST", f"/alerts/{alert['id']}/ack", token=token)
    assert again.json_body == first.json_body
    harness.stream.drain()
    assert [m["type"] for m in pushed(harness)] == ["alert.opened", "alert.acknowledged"]
    # An acknowledged alert is still active: updated, then resolved by an inside reading.
    harness.post_values(token, d["id"], [2])
    assert harness.alerts(token)[0]["reading_count"] == 2
    harness.post_values(token, d["id"], [50])
    resolved = harness.alerts(token)[0]
    assert resolved["status"] == "resolved" and resolved["acknowledged_at"] == first.json_body["acknowledged_at"]
    conflict = harness.request("POST", f"/alerts/{alert['id']}/ack", token=token)
    assert conflict.status_code == 409 and conflict.json_body["type"] == "/problems/conflict"


def test_alert_filters_paging_and_isolation(harness):
    _, token = harness.user()
    _, other = harness.user()
    a = harness.device(token, low_threshold=10)
    b = harness.device(token, high_threshold=10)
    harness.post_values(token, a["id"], [1])
    harness.post_values(token, b["id"], [20])
    harness.post_values(token, a["id"], [15])
    ids = [x["id"] for x in harness.alerts(token)]
    assert len(ids) == 2
    assert [x["device_id"] for x in harness.alerts(token, device_id=b["id"])] == [b["id"]]
    assert [x["status"] for x in harness.alerts(token, status="resolved")] == ["resolved"]
    page = harness.request("GET", "/alerts?limit=1", token=token).json_body
    rest = harness.request("GET", f"/alerts?limit=1&cursor={page['next_cursor']}", token=token).json_body
    assert [x["id"] for x in page["items"] + rest["items"]] == ids and rest["next_cursor"] is None
    assert harness.alerts(other) == []
    assert harness.request("GET", f"/alerts/{ids[0]}", token=other).status_code == 404
    assert harness.request("POST", f"/alerts/{ids[0]}/ack", token=other).status_code == 404


def test_bad_alert_queries_are_422(harness):
    _, token = harness.user()
    r = harness.request("GET", "/alerts?status=closed&device_id=a%20b&limit=201", token=token)
    assert r.status_code == 422
    assert {e["field"] for e in r.json_body["errors"]} == {"status", "device_id", "limit"}


def test_deleting_a_device_removes_its_alerts(harness):
    _, token = harness.user()
    d = harness.device(token, low_threshold=10)
    harness.post_values(token, d["id"], [1])
    [alert] = harness.alerts(token)
    assert harness.request("DELETE", f"/devices/{d['id']}", token=token).status_code == 204
    assert harness.alerts(token) == []
    assert harness.request("GET", f"/alerts/{alert['id']}", token=token).status_code == 404
    harness.stream.drain()  # the REMOVE of the alert item is harmless for the handler


def test_patching_the_period_reaches_the_active_alert_item(harness):
    _, token = harness.user()
    d = harness.device(token, low_threshold=10, escalation_after_seconds=60)
    harness.post_values(token, d["id"], [1])
    [alert] = harness.alerts(token)
    harness.request("PATCH", f"/devices/{d['id']}", {"escalation_after_seconds": 5}, token)
    item = harness.clients.get("dynamodb").get_item(
        TableName=harness.settings.table_name, Key={"PK": {"S": f"ALERT#{alert['id']}"}, "SK": {"S": "ALERT"}})
    assert item["Item"]["escalation_after_seconds"] == {"N": "5"}


def test_a_retried_stream_batch_does_not_count_readings_twice(harness):
    _, token = harness.user()
    d = harness.device(token, low_threshold=10)
    harness.request("POST", f"/devices/{d['id']}/readings", {"readings": [{"value": 1}, {"value": 2}]}, token)
    records = harness.stream.read()
    batch = [r for r in records if r["dynamodb"]["Keys"]["SK"]["S"].startswith("BATCH#")]
    harness.stream.invoke({"Records": batch})
    harness.stream.invoke({"Records": batch})  # Lambda retries after a later record failed
    harness.stream.drain()
    [alert] = harness.alerts(token)
    assert (alert["reading_count"], alert["last_value"]) == (2, 2)
