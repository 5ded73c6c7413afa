"""Log lines that a client cannot forge: control characters in a message are escaped.

Paths, usernames and headers reach log messages; a CR/LF (or any other C0/C1 control, or the
Unicode line separators) in them would start a fake line in the log. Each stage's log setup
installs EscapeControls on its handlers or loggers, so every line stays one line.
"""

import logging
import re

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """text with each control character written as \\xNN (or \\uNNNN)."""
    def escaped(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    return _CONTROLS.sub(escaped, text)


class EscapeControls(logging.Filter):
    """Formats the record's message once, escaped (tracebacks, added by the formatter, keep their lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        return True
