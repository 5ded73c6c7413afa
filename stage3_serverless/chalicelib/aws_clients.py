"""boto3 clients made on first use, one per service and endpoint, never at import."""

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

# Fail fast inside API Gateway's 29 s budget rather than retrying for minutes.
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


class AwsClients:
    """A small cache of boto3 clients; AWS_ENDPOINT_URL (ministack) is honoured by boto3 itself."""

    def __init__(self, session: boto3.session.Session | None = None):
        self._session = session
        self._clients: dict[tuple[str, str | None], object] = {}

    def get(self, service: str, endpoint_url: str | None = None):
        """The client for a service (and an explicit endpoint, for WebSocket callbacks)."""
        key = (service, endpoint_url)
        if key not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session()
            session = self._session
            kwargs = {"config": _CONFIG}
            if endpoint_url:
                kwargs["endpoint_url"] = endpoint_url
            self._clients[key] = session.client(service, **kwargs)
        return self._clients[key]


# Errors that mean "AWS is overloaded or unreachable right now", not "our bug".
_UNAVAILABLE_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException",
                      "RequestLimitExceeded", "ServiceUnavailable", "InternalServerError",
                      "TransactionConflictException"}


def unavailable(exc: BaseException) -> bool:
    """True for an outage or throttling: worth a 503 to a client, or a retry of a stream batch."""
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        return True
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _UNAVAILABLE_CODES
