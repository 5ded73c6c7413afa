"""One JSON line per invocation on the "homesense" logger, the one Chalice sends to the function log."""

import contextvars
import json
import logging
import os
import sys
from typing import Mapping

from homesense_core.logformat import JsonLogFormatter
from homesense_core.logsafe import EscapeControls

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# The X-Request-Id of the request being handled (set by web.edge), so every line and event carries it.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True

log = logging.getLogger("homesense")


def configure(logger: logging.Logger = log, env: Mapping[str, str] | None = None) -> None:
    """Level from HOMESENSE_LOG_LEVEL (default INFO; unknown fails fast); JSON lines, to stdout unless
    Chalice set a handler up (then its handler, with our format)."""
    env = os.environ if env is None else env
    level = (env.get("HOMESENSE_LOG_LEVEL") or "INFO").upper()
    if level not in LEVELS:
        raise ValueError(f"HOMESENSE_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    # On the logger, so it holds for Chalice's handler too: no control character forges a line.
    if not any(isinstance(f, EscapeControls) for f in logger.filters):
        logger.addFilter(EscapeControls())
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler(sys.stdout))
        logger.propagate = False
    for handler in logger.handlers:
        handler.setFormatter(JsonLogFormatter("serverless"))
        if not any(isinstance(f, _RequestIdFilter) for f in handler.filters):
            handler.addFilter(_RequestIdFilter())
    logger.setLevel(level)


def record(**fields) -> None:
    """Log one structured line (request ids, decisions, counts; never tokens or bodies)."""
    if not log.handlers:  # the authorizer's handler module does not import app.py
        configure()
    log.info(json.dumps(fields, separators=(",", ":")), extra={"fields": fields})
