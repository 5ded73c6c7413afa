"""Logging to stderr with the request id on every line, in the JSON format of every stage."""
from __future__ import annotations

import logging
import sys

from homesense_core.logformat import JsonLogFormatter
from homesense_core.logsafe import EscapeControls


class RequestIdFilter(logging.Filter):
    """Adds the current request id (or "-") to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None):  # given with extra=, e.g. by an event's handler
            return True
        record.request_id = "-"
        flask = sys.modules.get("flask")  # never import Flask from a log call: startup stays light
        if flask is not None and flask.has_request_context():
            record.request_id = flask.g.get("request_id", "-")
        return True


def configure_logging(level: str) -> None:
    """Send every log line to stderr, each carrying the request id."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter("monolith"))
    handler.addFilter(RequestIdFilter())
    # The access log writes decoded paths: a %0d%0a in one must not start a forged line.
    handler.addFilter(EscapeControls())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
