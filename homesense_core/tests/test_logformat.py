import json
import logging

from homesense_core.logformat import JsonLogFormatter


def _record(msg="hello %s", args=("world",), **extra):
    record = logging.LogRecord("homesense.x", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_plain_record_is_one_json_line_with_the_request_id():
    line = JsonLogFormatter("monolith").format(_record(request_id="req-1"))
    entry = json.loads(line)
    assert "\n" not in line and entry["ts"].endswith("Z")
    assert {k: entry[k] for k in ("level", "service", "logger", "request_id", "message")} == {
        "level": "INFO", "service": "monolith", "logger": "homesense.x", "request_id": "req-1",
        "message": "hello world"}


def test_outside_a_request_the_id_is_null():
    assert json.loads(JsonLogFormatter("alerts").format(_record(request_id="-")))["request_id"] is None
    assert json.loads(JsonLogFormatter("alerts").format(_record()))["request_id"] is None


def test_structured_records_log_their_fields_flat_and_keep_the_base_ones():
    record = _record(fields={"request_id": "r9", "status": 202, "service": "spoofed"})
    entry = json.loads(JsonLogFormatter("serverless").format(record))
    assert (entry["request_id"], entry["status"], entry["service"]) == ("r9", 202, "serverless")
    assert "message" not in entry


def test_exceptions_are_kept_inside_the_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonLogFormatter("s").format(record)
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exc"]
