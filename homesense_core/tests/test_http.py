import pytest

from homesense_core.http import (CORS_ALLOW_HEADERS, cors_headers, parse_origins, request_id_from,
                                 valid_request_id)


def test_request_id_from_keeps_a_valid_caller_value():
    assert request_id_from("abc.DEF_1-2") == "abc.DEF_1-2"
    assert request_id_from("x" * 128) == "x" * 128


@pytest.mark.parametrize("value", [None, "", "x" * 129, "has space", "semi;colon", "new\nline"])
def test_request_id_from_makes_a_new_one_for_invalid_values(value):
    rid = request_id_from(value)
    assert rid != value and valid_request_id(rid)


def test_cors_headers_default_to_any_origin_and_expose_headers():
    headers = cors_headers("https://a.example", ["*"])
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert set(headers["Access-Control-Expose-Headers"].split(",")) == {"Location", "X-Request-Id", "Retry-After"}
    assert "Access-Control-Allow-Methods" not in headers


def test_cors_preflight_lists_methods_headers_and_max_age():
    headers = cors_headers(None, ["*"], preflight=True)
    assert headers["Access-Control-Allow-Methods"] == "GET,POST,PATCH,DELETE,OPTIONS"
    for name in ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"):
        assert name in headers["Access-Control-Allow-Headers"].split(",")
    assert headers["Access-Control-Allow-Headers"] == CORS_ALLOW_HEADERS
    assert headers["Access-Control-Max-Age"] == "600"


def test_cors_allow_list_echoes_a_listed_origin_and_varies():
    allowed = ["https://a.example", "https://b.example"]
    headers = cors_headers("https://b.example", allowed)
    assert headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert headers["Vary"] == "Origin"


def test_cors_allow_list_never_echoes_an_unlisted_origin():
    headers = cors_headers("https://evil.example", ["https://a.example"])
    assert headers["Access-Control-Allow-Origin"] == "https://a.example"


def test_parse_origins_splits_comma_list_and_defaults_to_star():
    assert parse_origins(None) == ["*"]
    assert parse_origins(" ") == ["*"]
    assert parse_origins("https://a.example, https://b.example,") == ["https://a.example", "https://b.example"]
