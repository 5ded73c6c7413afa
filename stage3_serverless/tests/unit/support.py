"""Test harness: moto account, table as in TABLE.md, the app on chalice.test.Client, a stream pump."""

import functools
import importlib
import json
import os
from dataclasses import replace
from itertools import count

from chalice.test import Client
from homesense_core.clock import utcnow
from homesense_core.ids import new_id
from homesense_core.model import User, user_to_json
from homesense_core.passwords import hash_password
from homesense_core.tokens import TokenIssuer
from moto import mock_aws

from chalicelib import container
from chalicelib.aws_clients import AwsClients
from chalicelib.memory import RecordingPoster
from chalicelib.settings import Settings

_ids = count(1)


@functools.cache
def _default_hash() -> str:
    return hash_password("correct horse")

TABLE_SCHEMA = {
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"}
                             for n in ("PK", "SK", "GSI1PK", "GSI1SK")],
    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [{
        "IndexName": "GSI1",
        "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                      {"AttributeName": "GSI1SK", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}

# The real machine is the DEPLOY engineer's ASL; moto only needs something to start.
PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def unique(prefix: str = "u") -> str:
    """A name no other test uses."""
    return f"{prefix}{os.getpid()}x{next(_ids)}"


def create_table(client, name: str) -> str:
    """Create the single table as TABLE.md describes it; returns its stream ARN."""
    out = client.create_table(TableName=name, **TABLE_SCHEMA)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "expires_at"})
    return out["TableDescription"]["LatestStreamArn"]


class StreamPump:
    """Plays Lambda's event source mapping: reads moto's stream and invokes the handler."""

    def __init__(self, client, stream_arn: str, invoke):
        self.client, self.stream_arn, self.invoke = client, stream_arn, invoke
        self.iterators: dict[str, str] = {}

    def read(self) -> list[dict]:
        """New records of every shard, shaped like a Lambda DynamoDB event's Records."""
        records = []
        shards = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            sid = shard["ShardId"]
            if sid not in self.iterators:
                self.iterators[sid] = self.client.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            out = self.client.get_records(ShardIterator=self.iterators[sid])
            self.iterators[sid] = out["NextShardIterator"]
            for record in out["Records"]:
                record["eventSourceARN"] = self.stream_arn
                created = record["dynamodb"]["ApproximateCreationDateTime"]
                record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
                records.append(record)
        return records

    def drain(self, rounds: int = 10) -> int:
        """Deliver records until the stream is quiet (handlers write more records); how many."""
        delivered = 0
        for _ in range(rounds):
            records = self.read()
            if not records:
                return delivered
            self.invoke({"Records": records})
            delivered += len(records)
        raise AssertionError("the stream did not settle")


class Harness:
    """Everything a unit test of the app needs, inside one moto mock."""

    def __init__(self, signing_key, project_dir, clients: AwsClients):
        self.signing_key, self.project_dir, self.clients = signing_key, project_dir, clients
        self.mock = mock_aws()

    def __enter__(self):
        self.mock.start()
        settings = Settings.from_env()
        stream_arn = create_table(self.clients.get("dynamodb"), settings.table_name)
        self.clients.get("ssm").put_parameter(Name=settings.signing_key_parameter, Type="SecureString",
                                          Value=self.signing_key.private_pem())
        machine = self.clients.get("stepfunctions").create_state_machine(
            name="homesense-escalation", definition=PASS_MACHINE,
            roleArn="arn:aws:iam::123456789012:role/escalation")["stateMachineArn"]
        self.settings = replace(settings, state_machine_arn=machine)
        # Clients are shared by all tests: loading service models per test costs seconds.
        self.deps = container.build_aws(self.settings, self.clients)
        self.poster = self.deps.poster = RecordingPoster()
        container.use(self.deps)
        self.app = importlib.import_module("app").app
        # An empty project dir: the DEPLOY engineer's .chalice/config.json must not leak in.
        self.client = Client(self.app, project_dir=str(self.project_dir))
        self.stream = StreamPump(self.clients.get("dynamodbstreams"), stream_arn, lambda event: self.client.lambda_.invoke("on_table_change", event))
        self.stream.read()  # start after the setup writes
        return self

    def __exit__(self, *exc):
        container.use(None)
        self.mock.stop()

    # --- HTTP helpers -------------------------------------------------------------------
    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        """An HTTP request through Chalice's local API Gateway."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        if body is not None and raw is None:
            h.setdefault("Content-Type", "application/json")
        return self.client.http.request(method, path, headers=h, body=data)

    def user(self, password="correct horse"):
        """A new user and a token for it: (user json, token); HTTP only where the test needs it."""
        if password != "correct horse":  # scrypt is slow on purpose: only hash when asked to
            name = unique("user")
            created = self.request("POST", "/users", {"username": name, "password": password})
            assert created.status_code == 201, created.body
            tok = self.request("POST", "/auth/token", {"username": name, "password": password})
            assert tok.status_code == 200, tok.body
            return created.json_body, tok.json_body["access_token"]
        user = User(new_id(), unique("user"), _default_hash(), utcnow())
        self.deps.users.add(user)
        return user_to_json(user), TokenIssuer(self.signing_key).issue(user.id, user.username, 3600)

    def device(self, token, **fields):
        """A new device of the token's user."""
        r = self.request("POST", "/devices", {"name": "thermo", "kind": "temperature", **fields}, token)
        assert r.status_code == 201, r.body
        return r.json_body

    def post_values(self, token, device_id, values):
        """POST readings with these values, then let the stream handler run."""
        r = self.request("POST", f"/devices/{device_id}/readings",
                         {"readings": [{"value": v} for v in values]}, token)
        assert r.status_code == 202, r.body
        self.stream.drain()
        return r

    def alerts(self, token, **params):
        """Alerts of the token's user, first page."""
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        r = self.request("GET", "/alerts" + (f"?{qs}" if qs else ""), token=token)
        assert r.status_code == 200, r.body
        return r.json_body["items"]


def ws_event(route, connection_id, query=None, body=None):
    """An API Gateway WebSocket event for one route."""
    return {"requestContext": {"routeKey": route, "connectionId": connection_id, "apiId": "abc123",
                               "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                               "stage": "api", "eventType": route.strip("$").upper()},
            "queryStringParameters": query, "body": body, "isBase64Encoded": False}
