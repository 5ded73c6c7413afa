import io
import logging

from homesense_core.logsafe import EscapeControls, escape_controls


def test_control_characters_are_escaped_and_text_is_kept():
    assert escape_controls("GET /a\r\nINFO forged\x00\x7f\u2028é") == \
        "GET /a\\x0d\\x0aINFO forged\\x00\\x7f\\u2028é"


def test_the_filter_keeps_one_record_on_one_line():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(EscapeControls())
    logger = logging.getLogger("logsafe-test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("%s %s", "GET", "/x\r\n2026-01-01 INFO admin logged in")
    assert out.getvalue() == "GET /x\\x0d\\x0a2026-01-01 INFO admin logged in\n"
