"""boto3 clients made on first use, one per service and endpoint, never at import."""

import boto3
from botocore.config import Config

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
