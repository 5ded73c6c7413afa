"""The AWS template's Mock (/health) and DynamoDB service integration (/me), and their local swap.

ministack cannot run either (test_ministack_gaps.py shows what it lacks), so their VTL mapping
templates are rendered here with airspeed, a Python implementation of Velocity, against the
packaged template exactly as it goes to AWS.
"""

from __future__ import annotations

import json
import re

import airspeed
import pytest
from airspeed.operators import __additional_methods__ as vtl_methods

from homesense_core import health_body
from homesense_core.http import CORS_EXPOSE_HEADERS
from homesense_core.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from stage3_serverless.infra.integrations import DIRECT_ROUTES, PROFILE_FIELDS, READ_ROLE
from stage3_serverless.infra.localize import localize

# Java String methods API Gateway's VTL offers that airspeed lacks.
vtl_methods[str].setdefault("toLowerCase", str.lower)
vtl_methods[str].setdefault("trim", str.strip)

TABLE = "homesense-Table-1"
GATEWAY_ID = "gw-request-id-1"
USER = {"id": "01JUSER0000000000000000000", "username": "ada_l", "created_at": "2026-01-02T03:04:05.678Z"}


def _sub(value, params: dict[str, str]) -> str:
    """Resolve an Fn::Sub string the way CloudFormation does (only ${Name} is replaced)."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return re.sub(r"\$\{([A-Za-z0-9:._]+)\}", lambda m: params[m.group(1)], text)


def _params(cors: str = "*") -> dict[str, str]:
    return {"Table": TABLE, "CorsOrigins": cors, "AWS::Partition": "aws", "AWS::Region": "eu-west-1"}


class _Input:
    """API Gateway's $input for one mapping template: the payload and the method request's params."""

    def __init__(self, payload: dict, headers: dict[str, str]):
        self._payload, self._headers = payload, headers

    def path(self, expr: str):
        value = self._payload
        for part in expr.removeprefix("$").strip(".").split("."):
            if not part:
                continue
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    def params(self, name: str | None = None):
        every = {"header": dict(self._headers), "path": {}, "querystring": {}}
        return every if name is None else self._headers.get(name, "")


class _Util:
    @staticmethod
    def escapeJavaScript(text) -> str:  # noqa: N802 - the VTL name
        return json.dumps(str(text))[1:-1]


def _render(template: str, *, payload: dict | None = None, headers: dict | None = None,
            principal: str = USER["id"]) -> tuple[str, dict]:
    """The template's output and the overrides it set ($context.responseOverride)."""
    context = {"requestId": GATEWAY_ID, "authorizer": {"principalId": principal, "user_id": principal},
               "responseOverride": {"header": {}}}
    out = airspeed.Template(template).merge({"input": _Input(payload or {}, headers or {}),
                                             "context": context, "util": _Util()})
    return out, context["responseOverride"]


def _method(template: dict, path: str, method: str = "get") -> dict:
    return template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"][path][method]


def _integration(template: dict, path: str) -> dict:
    return _method(template, path)["x-amazon-apigateway-integration"]


# ---- GET /health: MOCK ----

def test_health_is_a_mock_without_a_lambda_or_authorizer(template):
    method = _method(template, "/health")
    integration = method["x-amazon-apigateway-integration"]
    assert integration["type"] == "mock"
    assert "uri" not in integration and "credentials" not in integration
    assert json.loads(integration["requestTemplates"]["application/json"]) == {"statusCode": 200}
    assert "security" not in method


def _health(template, cors="*", headers=None):
    response = _integration(template, "/health")["responses"]["default"]
    assert response["statusCode"] == "200"
    return _render(_sub(response["responseTemplates"]["application/json"], _params(cors)), headers=headers)


def test_health_mock_renders_the_contract_body_with_a_valid_request_id_echoed(template):
    body, override = _health(template, headers={"x-request-id": "caller.id-1_A"})
    assert json.loads(body) == health_body("serverless")
    assert "status" not in override  # the integration response's 200 stands
    assert override["header"] == {"X-Request-Id": "caller.id-1_A", "Access-Control-Allow-Origin": "*",
                                  "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS}


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", ""])
def test_health_mock_replaces_an_invalid_request_id_with_the_gateways(template, bad):
    _, override = _health(template, headers={"X-Request-Id": bad})
    assert override["header"]["X-Request-Id"] == GATEWAY_ID


def test_health_mock_applies_the_cors_allow_list(template):
    cors = "https://a.test, https://b.test"
    _, listed = _health(template, cors, headers={"Origin": "https://b.test"})
    assert listed["header"]["Access-Control-Allow-Origin"] == "https://b.test"
    assert listed["header"]["Vary"] == "Origin"
    _, stranger = _health(template, cors, headers={"origin": "https://evil.test"})
    assert stranger["header"]["Access-Control-Allow-Origin"] == "https://a.test"


# ---- GET /me: DynamoDB GetItem, no Lambda ----

def test_me_is_a_dynamodb_getitem_behind_the_authorizer(template):
    method = _method(template, "/me")
    assert method["security"] == [{"jwt_auth": []}]
    integration = method["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws" and integration["httpMethod"] == "POST"
    assert _sub(integration["uri"], _params()) == "arn:aws:apigateway:eu-west-1:dynamodb:action/GetItem"
    assert integration["credentials"] == {"Fn::GetAtt": [READ_ROLE, "Arn"]}
    assert integration["passthroughBehavior"] == "never"
    assert "lambda" not in json.dumps(integration)


def test_me_reads_only_the_callers_profile_and_public_fields(template):
    request_template = _sub(_integration(template, "/me")["requestTemplates"]["application/json"], _params())
    out, _ = _render(request_template, principal="01JCALLER")
    request = json.loads(out)
    assert request["TableName"] == TABLE
    # The key comes from the authorizer's verified identity only: no path or query input.
    assert request["Key"] == {"PK": {"S": "USER#01JCALLER"}, "SK": {"S": "PROFILE"}}
    assert request["ConsistentRead"] is True
    names = request["ExpressionAttributeNames"]
    projected = [names[n.strip()] for n in request["ProjectionExpression"].split(",")]
    assert projected == list(PROFILE_FIELDS)


def _me_response(template, key: str, payload: dict, headers=None):
    response = _integration(template, "/me")["responses"][key]
    out, override = _render(_sub(response["responseTemplates"]["application/json"], _params()),
                            payload=payload, headers=headers)
    return response["statusCode"], out, override


def test_me_maps_the_item_to_the_public_profile(template):
    item = {k: {"S": v} for k, v in USER.items()}
    status, body, override = _me_response(template, "default", {"Item": item}, {"X-Request-Id": "me-1"})
    assert status == "200" and "status" not in override
    assert json.loads(body) == USER
    assert override["header"]["X-Request-Id"] == "me-1"
    assert override["header"]["Access-Control-Allow-Origin"] == "*"


def test_me_without_a_profile_item_is_the_contracts_401(template):
    _, body, override = _me_response(template, "default", {})
    assert override["status"] == 401
    assert override["header"]["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert override["header"]["WWW-Authenticate"] == "Bearer"
    problem = json.loads(body)
    assert problem["type"] == "/problems/unauthorized" and problem["status"] == 401
    assert PROBLEM_TYPES["unauthorized"] == (401, problem["title"])


@pytest.mark.parametrize("key,payload,status,retry", [
    ("4\\d{2}", {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}, 503, True),
    ("4\\d{2}", {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}, 503, True),
    ("4\\d{2}", {"__type": "com.amazon.coral.service#AccessDeniedException"}, 500, False),
    ("5\\d{2}", {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}, 503, True),
])
def test_dynamodb_errors_become_problems(template, key, payload, status, retry):
    _, body, override = _me_response(template, key, payload)
    assert override["status"] == status and json.loads(body)["status"] == status
    assert override["header"]["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert ("Retry-After" in override["header"]) is retry
    assert override["header"]["X-Request-Id"] == GATEWAY_ID


def test_api_gateways_role_may_only_get_profile_items_of_the_table(template):
    role = template["Resources"][READ_ROLE]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["dynamodb:GetItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}
    condition = statement["Condition"]
    assert condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["USER#*"]
    assert "password_hash" not in condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]


def test_every_other_route_stays_a_lambda_proxy(template):
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    kinds = {(p, m): op["x-amazon-apigateway-integration"]["type"]
             for p, ops in paths.items() for m, op in ops.items()}
    assert {k for k, v in kinds.items() if v != "aws_proxy"} == set(DIRECT_ROUTES)


# ---- the local swap ----

def test_localize_serves_both_routes_through_the_lambda_and_says_why(template):
    logged: list[str] = []
    local = localize(template, code_bucket="b", code_key="k.zip", endpoint_url="http://127.0.0.1:9",
                     log=logged.append)
    body = local["Resources"]["RestAPI"]["Properties"]["Body"]
    options = body["paths"]["/health"]["options"]["x-amazon-apigateway-integration"]
    for path, method in DIRECT_ROUTES:
        assert body["paths"][path][method]["x-amazon-apigateway-integration"] == options
    assert body["paths"]["/me"]["get"]["security"] == [{"jwt_auth": []}]
    assert READ_ROLE not in local["Resources"]
    assert logged == [f"localize: {m.upper()} {p} -> Lambda proxy. {why}" for (p, m), why in DIRECT_ROUTES.items()]
    # The AWS template keeps them.
    assert _integration(template, "/health")["type"] == "mock" and _integration(template, "/me")["type"] == "aws"
