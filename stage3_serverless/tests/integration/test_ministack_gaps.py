"""What the local emulator lacks for the AWS template's Mock and DynamoDB integrations, pinned down.

A tiny REST API on a bare ministack uses exactly the two features the local deploy swaps out
(infra/integrations.py, DIRECT_ROUTES). Each test asserts today's gap; when a ministack release
gains the feature the test fails, which is the signal to drop that route's local fallback.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.slow

STAGE = "probe"
# VTL that AWS evaluates: the body would be {"greeting": "evaluated"} with status 201.
MOCK_TEMPLATE = ('#set($greeting = "evaluated")\n#set($context.responseOverride.status = 201)\n'
                 '{"greeting": "$greeting"}')
REQUEST_ID_SOURCE = "method.request.header.X-Request-Id"
TABLE = "probe-table"
ITEM = {"PK": {"S": "USER#probe"}, "SK": {"S": "PROFILE"}, "username": {"S": "probe_user_marker"}}


def _call(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def probe_api(bare_ministack) -> str:
    """GET /mock (MOCK with VTL) and GET /ddb (AWS integration to DynamoDB GetItem); the stage URL."""
    ddb = bare_ministack.client("dynamodb")
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("PK", "SK")],
                     KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}])
    ddb.put_item(TableName=TABLE, Item=ITEM)
    role = bare_ministack.client("iam").create_role(RoleName="probe-apigw", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "apigateway.amazonaws.com"}}]}))["Role"]
    gw = bare_ministack.client("apigateway")
    api = gw.create_rest_api(name="integration-probe")["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api)["items"] if r["path"] == "/")

    def get_method(path: str, **integration) -> None:
        resource = gw.create_resource(restApiId=api, parentId=root, pathPart=path)["id"]
        gw.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE",
                      requestParameters={REQUEST_ID_SOURCE: False})
        gw.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", **integration["request"])
        gw.put_method_response(restApiId=api, resourceId=resource, httpMethod="GET", statusCode="200",
                               responseParameters={"method.response.header.X-Request-Id": False})
        gw.put_integration_response(restApiId=api, resourceId=resource, httpMethod="GET", statusCode="200",
                                    selectionPattern="", **integration["response"])

    get_method("mock", request={"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}},
               response={"responseTemplates": {"application/json": MOCK_TEMPLATE},
                         "responseParameters": {"method.response.header.X-Request-Id": REQUEST_ID_SOURCE}})
    get_item = {"TableName": TABLE, "Key": {"PK": ITEM["PK"], "SK": ITEM["SK"]}}
    get_method("ddb", request={
        "type": "AWS", "integrationHttpMethod": "POST", "credentials": role["Arn"],
        "uri": f"arn:aws:apigateway:{bare_ministack.client('sts').meta.region_name}:dynamodb:action/GetItem",
        "requestTemplates": {"application/json": json.dumps(get_item)}},
        response={"responseTemplates": {"application/json": "$input.json('$')"}})
    gw.create_deployment(restApiId=api, stageName=STAGE)
    return f"{bare_ministack.endpoint_url}/_aws/execute-api/{api}/{STAGE}"


def test_mock_templates_are_returned_verbatim_not_evaluated_as_vtl(probe_api):
    status, _, body = _call(f"{probe_api}/mock")
    assert (status, body.decode()) == (200, MOCK_TEMPLATE), (
        f"ministack now evaluates Mock VTL (got {status} {body[:200]!r}): the local Lambda fallback "
        "for GET /health in stage3_serverless/infra/integrations.py may go")


def test_mock_header_mappings_copy_only_quoted_literals(probe_api):
    _, headers, _ = _call(f"{probe_api}/mock", {"X-Request-Id": "probe-1"})
    assert headers.get("X-Request-Id") == REQUEST_ID_SOURCE, (
        f"ministack now resolves {REQUEST_ID_SOURCE} in a Mock's responseParameters "
        f"(got {headers.get('X-Request-Id')!r})")


def test_dynamodb_service_integration_is_not_executed(probe_api):
    status, _, body = _call(f"{probe_api}/ddb")
    # The URI is taken for a Lambda reference, no such function exists: an integration failure.
    assert status == 504 and b"probe_user_marker" not in body, (
        f"ministack now runs the DynamoDB GetItem integration (got {status} {body[:200]!r}): "
        "the local Lambda fallback for GET /me in stage3_serverless/infra/integrations.py may go")


ESCALATE_ONCE = {  # the shape of resources/escalation.asl.json: wait, then a direct DynamoDB update
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "Seconds": 2, "Next": "Escalate"},
        "Escalate": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem", "End": True,
                     "Parameters": {"TableName": "restart-probe", "Key": {"PK": {"S": "ALERT#probe"}},
                                    "UpdateExpression": "SET #level = #level + :one",
                                    "ExpressionAttributeNames": {"#level": "level"},
                                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    },
}


def test_a_restart_with_persisted_state_fails_running_executions_instead_of_resuming_them(tmp_path):
    """Why stage 3 cannot show escalation across an emulator restart (README, "Local emulator vs AWS").

    With PERSIST_STATE=1 ministack snapshots on SIGTERM and restores on start: the table and the
    execution come back, but an execution that was waiting is marked FAILED (States.ServiceRestart)
    and never escalates. On AWS it would resume. When a release resumes it, this test fails.
    """
    from stage3_serverless.infra.ministack_process import Ministack
    from homesense_core import ports

    stack = Ministack("127.0.0.1", ports.free_port(), tmp_path, persist_state=True)
    stack.start()
    try:
        ddb, sfn = stack.client("dynamodb"), stack.client("stepfunctions")
        ddb.create_table(TableName="restart-probe", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}])
        key = {"PK": {"S": "ALERT#probe"}}
        ddb.put_item(TableName="restart-probe", Item={**key, "level": {"N": "1"}})
        machine = sfn.create_state_machine(name="restart-probe", definition=json.dumps(ESCALATE_ONCE),
                                           roleArn="arn:aws:iam::000000000000:role/probe")["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, name="mid-escalation")["executionArn"]
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        stack.stop()  # SIGTERM: ministack writes its snapshot
        stack.start()
        time.sleep(ESCALATE_ONCE["States"]["Wait"]["Seconds"] + 1.5)
        restored = sfn.describe_execution(executionArn=execution)
        item = ddb.get_item(TableName="restart-probe", Key=key, ConsistentRead=True)["Item"]
    finally:
        stack.stop()
    # The snapshot kept the table and the execution: persistence works...
    assert item["level"] == {"N": "1"}
    # ...but the waiting escalation was failed, not resumed.
    assert (restored["status"], restored.get("error")) == ("FAILED", "States.ServiceRestart"), (
        f"ministack now resumes running executions after a restart ({restored['status']}, level "
        f"{item['level']['N']}): stage 3 could run with PERSIST_STATE=1 and show escalation across one")
