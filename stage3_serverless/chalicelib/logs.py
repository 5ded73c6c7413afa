"""One JSON line per invocation on the "homesense" logger, the one Chalice sends to the function log."""

import json
import logging
import os
from typing import Mapping

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

log = logging.getLogger("homesense")


def configure(logger: logging.Logger, env: Mapping[str, str] | None = None) -> None:
    """Set the level from HOMESENSE_LOG_LEVEL (default INFO); an unknown level fails fast."""
    env = os.environ if env is None else env
    level = (env.get("HOMESENSE_LOG_LEVEL") or "INFO").upper()
    if level not in LEVELS:
        raise ValueError(f"HOMESENSE_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    logger.setLevel(level)


def record(**fields) -> None:
    """Log one structured line (request ids, decisions, counts; never tokens or bodies)."""
    log.info(json.dumps(fields, separators=(",", ":")))
