"""One JSON log line per invocation, at the level HOMESENSE_LOG_LEVEL names."""

import json
import logging

import pytest

from chalicelib import logs


def test_level_comes_from_the_environment_and_defaults_to_info():
    logger = logging.getLogger("homesense.test-level")
    logs.configure(logger, {})
    assert logger.level == logging.INFO
    logs.configure(logger, {"HOMESENSE_LOG_LEVEL": "debug"})
    assert logger.level == logging.DEBUG


def test_an_unknown_level_fails_fast():
    with pytest.raises(ValueError, match="HOMESENSE_LOG_LEVEL"):
        logs.configure(logging.getLogger("homesense.test-level"), {"HOMESENSE_LOG_LEVEL": "LOUD"})


def test_the_app_logs_each_request_once_with_its_request_id(harness, caplog):
    with caplog.at_level("INFO", logger="homesense"):
        harness.request("GET", "/health", headers={"X-Request-Id": "log-me-1"})
        harness.request("GET", "/no-such-route", headers={"X-Request-Id": "log-me-2"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "homesense"]
    assert [(x["request_id"], x["route"], x["status"]) for x in lines] == [
        ("log-me-1", "/health", 200), ("log-me-2", "/{proxy+}", 404)]


def test_a_function_that_never_imports_the_app_still_logs_at_info():
    logger = logging.getLogger("homesense.test-bare")
    logs.configure(logger, {})
    assert [type(h) for h in logger.handlers] == [logging.StreamHandler]
    assert logger.isEnabledFor(logging.INFO) and not logger.propagate


def test_control_characters_never_start_a_new_log_line(capsys):
    logger = logging.getLogger("homesense.test-escape")
    logger.handlers[:] = []
    logs.configure(logger, {})
    logger.info("path=/x\r\nhomesense - INFO - forged")
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    assert json.loads(out)["message"] == "path=/x\\x0d\\x0ahomesense - INFO - forged"
