"""SSM key source, Step Functions workflow and the API Gateway poster against moto or a stub."""

import json

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from chalicelib.aws_adapters import (ApiGatewayPoster, SsmSigningKey, StepFunctionsWorkflow,
                                     execution_arn)
from chalicelib.ports import Connection, ConnectionGone
from chalicelib.settings import Settings

from .support import PASS_MACHINE, unique


def test_signing_key_is_read_from_ssm_once(aws_clients, signing_key):
    with mock_aws():
        name = unique("/homesense/key-")
        aws_clients.get("ssm").put_parameter(Name=name, Type="SecureString", Value=signing_key.private_pem())
        source = SsmSigningKey(aws_clients, name)
        assert source.get().kid == signing_key.kid
        aws_clients.get("ssm").delete_parameter(Name=name)
        assert source.get().kid == signing_key.kid  # cached for the container's life


def test_workflow_starts_one_named_execution_per_alert_and_stops_tolerantly(aws_clients):
    with mock_aws():
        sfn = aws_clients.get("stepfunctions")
        arn = sfn.create_state_machine(name=unique("m"), definition=PASS_MACHINE,
                                       roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
        workflow = StepFunctionsWorkflow(aws_clients, arn)
        workflow.start("01ALERT", 42)
        workflow.start("01ALERT", 42)  # a retried stream batch starts nothing new
        [execution] = sfn.list_executions(stateMachineArn=arn)["executions"]
        assert execution["name"] == "01ALERT"
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        assert json.loads(described["input"]) == {"alert_id": "01ALERT", "pk": "ALERT#01ALERT",
                                                  "sk": "ALERT", "wait_seconds": 42}
        assert execution["executionArn"] == execution_arn(arn, "01ALERT")
        workflow.stop("01ALERT")
        workflow.stop("never-started")


def test_workflow_without_an_arn_fails_loudly(aws_clients):
    with pytest.raises(RuntimeError, match="ESCALATION_STATE_MACHINE_ARN"):
        StepFunctionsWorkflow(aws_clients, "").start("a", 1)


def test_poster_maps_gone_exception_and_posts_to_the_connection_endpoint(aws_clients):
    poster = ApiGatewayPoster(aws_clients)
    conn = Connection("abc=", "u1", "https://example.execute-api.us-east-1.amazonaws.com/api")
    client = aws_clients.get("apigatewaymanagementapi", endpoint_url=conn.endpoint)
    with Stubber(client) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": "abc=", "Data": b"hi"})
        stub.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)
        poster.post(conn, b"hi")
        with pytest.raises(ConnectionGone):
            poster.post(conn, b"again")
        stub.assert_no_pending_responses()


def test_settings_fail_fast_and_parse_origins():
    with pytest.raises(RuntimeError, match="TABLE_NAME"):
        Settings.from_env({"SIGNING_KEY_PARAMETER": "/k"})
    s = Settings.from_env({"TABLE_NAME": "t", "SIGNING_KEY_PARAMETER": "/k",
                           "HOMESENSE_CORS_ORIGINS": "https://a, https://b", "WEBSOCKET_ENDPOINT": "https://w/api/"})
    assert s.cors_origins == ("https://a", "https://b") and s.websocket_endpoint == "https://w/api"
    assert Settings.from_env({"TABLE_NAME": "t", "SIGNING_KEY_PARAMETER": "/k"}).cors_origins == ("*",)
