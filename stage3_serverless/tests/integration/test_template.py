"""The packaged template: cfn-lint, least privilege, sizing, gateway responses, the local expansion."""

from __future__ import annotations

import json
import subprocess

import pytest

from homesense_core.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from stage3_serverless.infra.localize import localize
from stage3_serverless.infra.packaging import PLACEHOLDER_STREAM_ARN, PROJECT_DIR, cfn_lint_command

CONFIG = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
# Chalice function name -> logical id in the packaged template.
FUNCTIONS = {"api_handler": "APIHandler", "jwt_auth": "JwtAuth", "on_table_change": "OnTableChange",
             "websocket_connect": "WebsocketConnect", "websocket_message": "WebsocketMessage",
             "websocket_disconnect": "WebsocketDisconnect"}
API_GATEWAY_TIMEOUT_S = 29


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _statements(template: dict):
    for name, role in _of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_packaged_template_passes_cfn_lint(package):
    cfn_lint = cfn_lint_command()
    result = subprocess.run([cfn_lint, str(package.template_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_policy_grants_a_wildcard_action_or_resource(template):
    seen = 0
    for role, statement in _statements(template):
        seen += 1
        actions = _as_list(statement["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), (role, actions)
        assert "*" not in _as_list(statement["Resource"]), (role, statement)
    assert seen >= len(FUNCTIONS), "every function role and the state machine role carry statements"


def test_every_function_has_its_own_role_memory_and_timeout(template):
    functions = _of_type(template, "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS.values()), "a new function needs sizing in config.json"
    roles = set()
    for chalice_name, logical_id in FUNCTIONS.items():
        configured = CONFIG["lambda_functions"][chalice_name]
        props = functions[logical_id]["Properties"]
        assert props["MemorySize"] == configured["lambda_memory_size"]
        assert props["Timeout"] == configured["lambda_timeout"]
        assert 128 <= props["MemorySize"] <= 10240 and 1 <= props["Timeout"] <= 900
        roles.add(props["Role"]["Fn::GetAtt"][0])
    assert "DefaultRole" not in roles
    # Functions behind API Gateway must give up before its 29 s integration timeout does.
    for logical_id in ("APIHandler", "JwtAuth", "WebsocketConnect", "WebsocketMessage"):
        assert functions[logical_id]["Properties"]["Timeout"] < API_GATEWAY_TIMEOUT_S


def test_stream_handler_reads_the_tables_stream(template):
    events = template["Resources"]["OnTableChange"]["Properties"]["Events"]
    (event,) = events.values()
    assert event["Properties"]["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert PLACEHOLDER_STREAM_ARN not in json.dumps(template)


def test_table_is_the_agreed_single_table(template):
    table = template["Resources"]["Table"]["Properties"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    gsi1 = next(g for g in table["GlobalSecondaryIndexes"] if g["IndexName"] == "GSI1")
    assert gsi1["Projection"]["ProjectionType"] == "ALL"


REQUIRED_RESPONSES = {"DEFAULT_4XX": 400, "DEFAULT_5XX": 500, "MISSING_AUTHENTICATION_TOKEN": 404,
                      "UNAUTHORIZED": 401, "ACCESS_DENIED": 401, "THROTTLED": 429,
                      "REQUEST_TOO_LARGE": 413, "UNSUPPORTED_MEDIA_TYPE": 415,
                      "INTEGRATION_TIMEOUT": 503, "INTEGRATION_FAILURE": 503}


@pytest.mark.parametrize("response_type,status", sorted(REQUIRED_RESPONSES.items()))
def test_gateway_response_is_problem_json_with_cors(template, response_type, status):
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    response = body["x-amazon-apigateway-gateway-responses"][response_type]
    assert response["statusCode"] == str(status)
    headers = {k.removeprefix("gatewayresponse.header."): v for k, v in response["responseParameters"].items()}
    assert headers["Content-Type"] == f"'{PROBLEM_CONTENT_TYPE}'"
    assert "Access-Control-Allow-Origin" in headers and "X-Request-Id" in headers
    if status == 401:
        assert headers["WWW-Authenticate"] == "'Bearer'"
    if status == 429:
        assert headers["Retry-After"].strip("'").isdigit()
    rendered = response["responseTemplates"]["application/json"].replace(
        "$context.error.messageString", '"gateway message"')
    problem = json.loads(rendered)
    slug = problem["type"].removeprefix("/problems/")
    assert PROBLEM_TYPES[slug] == (status, problem["title"]) and problem["status"] == status


@pytest.mark.parametrize("path", ["/", "/{proxy+}"])
def test_unknown_paths_reach_the_app_without_the_authorizer(template, path):
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    methods = paths[path]
    assert set(methods) == {"get", "head", "post", "put", "patch", "delete", "options"}
    for method in methods.values():
        assert "security" not in method  # 404 with or without a token
        assert method["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
    assert any("security" in m for m in paths["/me"].values()), "known routes keep their authorizer"


def test_head_is_routed_wherever_get_is_with_the_same_authorizer(template):
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    with_get = [p for p, methods in paths.items() if "get" in methods]
    assert "/devices/{device_id}" in with_get or "/devices" in with_get
    for path in with_get:
        assert "head" in paths[path], path
        assert paths[path]["head"].get("security") == paths[path]["get"].get("security"), path


def test_json_bodies_reach_the_lambdas_as_bytes(template):
    # Invalid UTF-8 must reach decode_json_body unreplaced (400), as on the other stages.
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert "application/*" in body["x-amazon-apigateway-binary-media-types"]


def test_stage_throttling_comes_from_the_rate_limit_parameters(template):
    (setting,) = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    assert setting["ThrottlingRateLimit"] == {"Ref": "RateLimitRps"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "RateLimitBurst"}


def test_state_machine_may_only_get_and_update_the_table(template):
    machine = template["Resources"]["EscalationStateMachine"]["Properties"]
    assert machine["StateMachineType"] == "STANDARD"
    role = machine["RoleArn"]["Fn::GetAtt"][0]
    statements = [s for name, s in _statements(template) if name == role]
    assert statements == [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                           "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}]


def test_escalation_is_a_conditional_update_loop(template):
    states = template["Resources"]["EscalationStateMachine"]["Properties"]["Definition"]["States"]
    tasks = {s["Resource"]: s for s in states.values() if s["Type"] == "Task"}
    assert set(tasks) == {"arn:aws:states:::dynamodb:getItem", "arn:aws:states:::dynamodb:updateItem"}
    update = tasks["arn:aws:states:::dynamodb:updateItem"]
    assert "#status = :open AND #level = :seen" == update["Parameters"]["ConditionExpression"]
    assert update["Catch"][0]["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
    waits = [s for s in states.values() if s["Type"] == "Wait"]
    assert [w["SecondsPath"] for w in waits] == ["$.wait_seconds"]
    assert any(s.get("Next") == "WaitForEscalation" for s in states.values() if s["Type"] == "Choice"
               for s in s["Choices"])


def test_local_expansion_leaves_no_sam_and_keeps_the_input(template):
    before = json.dumps(template, sort_keys=True)
    local = localize(template, code_bucket="b", code_key="k.zip", endpoint_url="http://127.0.0.1:9")
    assert json.dumps(template, sort_keys=True) == before
    assert "Transform" not in local and "Globals" not in local
    kinds = {r["Type"] for r in local["Resources"].values()}
    assert not any(k.startswith("AWS::Serverless::") for k in kinds)
    assert {"AWS::Lambda::EventSourceMapping", "AWS::ApiGateway::GatewayResponse",
            "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"} <= kinds
    api = local["Resources"]["APIHandler"]["Properties"]
    assert api["Code"] == {"S3Bucket": "b", "S3Key": "k.zip"}
    assert api["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert api["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "Table"}
    # The served /docs and /dashboard name ministack's path-style REST URL.
    assert api["Environment"]["Variables"]["PUBLIC_BASE_URL"] == "http://{host}/_aws/execute-api/{api_id}/{stage}"
    assert "AWS_ENDPOINT_URL" not in json.dumps(template)
