"""Fixtures: moto's AWS in-process, the app wired to it, a recording WebSocket poster."""

import os
import sys
from pathlib import Path

import pytest

STAGE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(STAGE_DIR))  # Lambda imports app.py and chalicelib from the project root

REGION = "us-east-1"
TEST_ENV = {
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "TABLE_NAME": "homesense-unit", "SIGNING_KEY_PARAMETER": "/homesense/unit/signing-key",
    # Decorators read it at import; under moto the real ARN is only known later, and unused here.
    "TABLE_STREAM_ARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/homesense-unit/stream/x",
    "ESCALATION_STATE_MACHINE_ARN": "", "WEBSOCKET_ENDPOINT": "",
}

from .support import Harness  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def test_environment():
    """Fake credentials and our settings for these modules only; restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(TEST_ENV)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):  # moto must see every call
        os.environ.pop(name, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def signing_key():
    from homesense_core.tokens import SigningKey
    return SigningKey.generate()


@pytest.fixture(scope="session")
def aws_clients():
    """boto3 clients for the whole run; moto intercepts them whenever a mock is active."""
    from chalicelib.aws_clients import AwsClients
    return AwsClients()


@pytest.fixture
def harness(signing_key, tmp_path, aws_clients):
    """A fresh moto account with the table, key and state machine, and the app wired to it."""
    with Harness(signing_key, tmp_path, aws_clients) as h:
        yield h
