"""AWS adapters of the outbound ports: SSM for the key, API Gateway callbacks, Step Functions."""

import json
import logging

from botocore.exceptions import ClientError

from homesense_core.tokens import SigningKey

from . import ports
from .aws_clients import AwsClients

log = logging.getLogger("homesense." + __name__)


class SsmSigningKey(ports.SigningKeySource):
    """The RS256 private PEM in an SSM SecureString, read once per Lambda container."""

    def __init__(self, clients: AwsClients, parameter: str):
        self._clients, self._parameter = clients, parameter
        self._key: SigningKey | None = None

    def get(self):
        if self._key is None:
            out = self._clients.get("ssm").get_parameter(Name=self._parameter, WithDecryption=True)
            self._key = SigningKey.from_pem(out["Parameter"]["Value"])
        return self._key


class ApiGatewayPoster(ports.ConnectionPoster):
    """post_to_connection through the callback endpoint recorded with each connection."""

    def __init__(self, clients: AwsClients):
        self._clients = clients

    def post(self, connection, data):
        client = self._clients.get("apigatewaymanagementapi", endpoint_url=connection.endpoint)
        try:
            client.post_to_connection(ConnectionId=connection.connection_id, Data=data)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("GoneException", "410"):
                raise ports.ConnectionGone(connection.connection_id) from exc
            raise


def execution_arn(state_machine_arn: str, name: str) -> str:
    """arn:...:stateMachine:M plus name gives arn:...:execution:M:name."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class StepFunctionsWorkflow(ports.EscalationWorkflow):
    """One execution per alert, named by the alert id, so a retried start is harmless."""

    def __init__(self, clients: AwsClients, state_machine_arn: str):
        self._clients, self._arn = clients, state_machine_arn

    def _client(self):
        if not self._arn:
            raise RuntimeError("ESCALATION_STATE_MACHINE_ARN is not set")
        return self._clients.get("stepfunctions")

    def start(self, alert_id, wait_seconds):
        payload = {"alert_id": alert_id, "pk": f"ALERT#{alert_id}", "sk": "ALERT",
                   "wait_seconds": int(wait_seconds)}
        try:
            self._client().start_execution(stateMachineArn=self._arn, name=alert_id,
                                           input=json.dumps(payload))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise

    def stop(self, alert_id):
        try:
            self._client().stop_execution(executionArn=execution_arn(self._arn, alert_id),
                                          cause="alert acknowledged, resolved or deleted")
        except ClientError as exc:
            # The state machine also stops by itself once the alert is no longer open.
            log.info("stop_execution(%s) ignored: %s", alert_id, exc)
