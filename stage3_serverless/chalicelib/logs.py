"""One JSON line per invocation on the "homesense" logger, the one Chalice sends to the function log."""

import json
import logging
import os
import sys
from typing import Mapping

from homesense_core.logsafe import EscapeControls

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Chalice's own format, so functions that never import app.py (the authorizer) log alike.
FORMAT = "%(name)s - %(levelname)s - %(message)s"

log = logging.getLogger("homesense")


def configure(logger: logging.Logger = log, env: Mapping[str, str] | None = None) -> None:
    """Level from HOMESENSE_LOG_LEVEL (default INFO; unknown fails fast); stdout unless Chalice set it up."""
    env = os.environ if env is None else env
    level = (env.get("HOMESENSE_LOG_LEVEL") or "INFO").upper()
    if level not in LEVELS:
        raise ValueError(f"HOMESENSE_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    # On the logger, so it holds for Chalice's handler too: no control character forges a line.
    if not any(isinstance(f, EscapeControls) for f in logger.filters):
        logger.addFilter(EscapeControls())
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)


def record(**fields) -> None:
    """Log one structured line (request ids, decisions, counts; never tokens or bodies)."""
    if not log.handlers:  # the authorizer's handler module does not import app.py
        configure()
    log.info(json.dumps(fields, separators=(",", ":")))
