"""Composition root: every dependency of the functions, built lazily from Settings."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from homesense_core.clock import utcnow
from homesense_core.throttle import MemoryThrottleStore, ThrottleStore

from . import ports
from .aws_adapters import ApiGatewayPoster, SsmSigningKey, StepFunctionsWorkflow
from .aws_clients import AwsClients
from .dynamo.alerts import DynamoAlerts
from .dynamo.readings import DynamoReadings
from .dynamo.sessions import DynamoConnections, DynamoIdempotency
from .dynamo.table import Table
from .dynamo.throttle import DynamoThrottleStore
from .dynamo.users_devices import DynamoDevices, DynamoUsers
from .settings import Settings


@dataclass
class Dependencies:
    """What the handlers use; tests and the local runner pass their own."""

    settings: Settings
    users: ports.UserRepository
    devices: ports.DeviceRepository
    readings: ports.ReadingRepository
    alerts: ports.AlertRepository
    idempotency: ports.IdempotencyStore
    connections: ports.ConnectionRepository
    poster: ports.ConnectionPoster
    workflow: ports.EscalationWorkflow
    keys: ports.SigningKeySource
    clock: Callable[[], datetime] = field(default=utcnow)
    # Login throttle records; DynamoDB in AWS (Lambdas share no memory), memory in unit tests.
    throttle: ThrottleStore = field(default_factory=MemoryThrottleStore)


def build_aws(settings: Settings, clients: AwsClients | None = None) -> Dependencies:
    """The production wiring: DynamoDB, SSM, API Gateway and Step Functions (no I/O yet)."""
    clients = clients or AwsClients()
    table = Table(clients, settings.table_name)
    return Dependencies(
        settings=settings, users=DynamoUsers(table), devices=DynamoDevices(table),
        readings=DynamoReadings(table), alerts=DynamoAlerts(table),
        idempotency=DynamoIdempotency(table), connections=DynamoConnections(table),
        poster=ApiGatewayPoster(clients),
        workflow=StepFunctionsWorkflow(clients, settings.state_machine_arn),
        keys=SsmSigningKey(clients, settings.signing_key_parameter),
        throttle=DynamoThrottleStore(table))


_current: Dependencies | None = None


def get() -> Dependencies:
    """The dependencies of this Lambda container, built on first use."""
    global _current
    if _current is None:
        _current = build_aws(Settings.from_env())
    return _current


def use(deps: Dependencies | None) -> None:
    """Replace the dependencies (None: rebuild from the environment on next use)."""
    global _current
    _current = deps
