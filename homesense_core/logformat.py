"""One log format in every stage and service: a JSON object per line, with the request id.

Fields: ts, level, service, logger, request_id (null outside a request or event), then either
message (and exc on an exception) or, for structured records, the record's own fields.
"""

import json
import logging
from datetime import datetime

from .clock import UTC, format_ts


class JsonLogFormatter(logging.Formatter):
    """Formats records as one JSON line; `extra={"fields": {...}}` records log their fields flat."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        entry = {"ts": format_ts(datetime.fromtimestamp(record.created, UTC)), "level": record.levelname,
                 "service": self.service, "logger": record.name,
                 "request_id": None if request_id in (None, "-") else request_id}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry or k == "request_id"})
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"), default=str)
