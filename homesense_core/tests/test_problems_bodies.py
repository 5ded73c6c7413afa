import json

import pytest

from homesense_core.bodies import MAX_BODY_BYTES, decode_json_body
from homesense_core.problems import (PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, Conflict, FieldError,
                                     InternalError, MalformedRequest, MethodNotAllowed, NotFound,
                                     PayloadTooLarge, ProblemError, RateLimited, ServiceUnavailable,
                                     Unauthorized, UnsupportedMediaType, ValidationFailed,
                                     problem_dict, slug_for_status)

ALL_CLASSES = [
    (MalformedRequest, 400), (Unauthorized, 401), (NotFound, 404), (MethodNotAllowed, 405),
    (Conflict, 409), (PayloadTooLarge, 413), (UnsupportedMediaType, 415), (InternalError, 500),
    (ServiceUnavailable, 503),
]


def test_problem_content_type_is_problem_json():
    assert PROBLEM_CONTENT_TYPE == "application/problem+json"


def test_problem_types_cover_every_contract_status():
    statuses = {slug: status for slug, (status, _) in PROBLEM_TYPES.items()}
    assert statuses == {
        "malformed-request": 400, "validation-error": 422, "unauthorized": 401, "not-found": 404,
        "method-not-allowed": 405, "conflict": 409, "payload-too-large": 413,
        "unsupported-media-type": 415, "rate-limited": 429, "internal-error": 500,
        "service-unavailable": 503,
    }


@pytest.mark.parametrize("cls, status", ALL_CLASSES)
def test_each_problem_error_renders_type_title_status_detail_without_errors(cls, status):
    exc = cls("Something specific.")
    body = exc.to_dict()
    assert isinstance(exc, ProblemError)
    assert exc.status == status == body["status"]
    assert body["type"] == f"/problems/{exc.slug}"
    assert body["title"] == PROBLEM_TYPES[exc.slug][1]
    assert body["detail"] == "Something specific."
    assert "errors" not in body


@pytest.mark.parametrize("cls, _", ALL_CLASSES)
def test_problem_errors_have_a_default_detail(cls, _):
    assert cls().to_dict()["detail"]


def test_unauthorized_asks_for_a_bearer_token():
    assert Unauthorized().headers == {"WWW-Authenticate": "Bearer"}


def test_rate_limited_carries_integer_retry_after():
    exc = RateLimited(7)
    assert exc.status == 429 and exc.headers == {"Retry-After": "7"} and exc.retry_after == 7
    assert RateLimited(0).headers["Retry-After"] == "1"


def test_method_not_allowed_lists_allowed_methods_when_given():
    assert MethodNotAllowed(allow=["GET", "POST"]).headers == {"Allow": "GET, POST"}
    assert MethodNotAllowed().headers == {}


def test_validation_failed_lists_field_errors():
    exc = ValidationFailed([FieldError("readings/0/value", "must be a number"), FieldError("name", "is required")])
    body = exc.to_dict()
    assert body["status"] == 422 and body["type"] == "/problems/validation-error"
    assert body["errors"] == [{"field": "readings/0/value", "message": "must be a number"},
                              {"field": "name", "message": "is required"}]
    assert "readings/0/value" in body["detail"]
    assert ValidationFailed([], detail="custom").to_dict()["detail"] == "custom"


def test_problem_dict_builds_bodies_and_errors_only_for_validation():
    assert problem_dict("not-found", "No such device.") == {
        "type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "No such device."}
    body = problem_dict("validation-error", "Bad.", [FieldError("x", "y"), {"field": "z", "message": "w"}])
    assert body["errors"] == [{"field": "x", "message": "y"}, {"field": "z", "message": "w"}]
    assert problem_dict("validation-error", "Bad.")["errors"] == []
    with pytest.raises(KeyError):
        problem_dict("teapot", "no")


@pytest.mark.parametrize("status, slug", [(404, "not-found"), (405, "method-not-allowed"),
                                          (418, "malformed-request"), (502, "internal-error")])
def test_slug_for_status_maps_framework_statuses(status, slug):
    assert slug_for_status(status) == slug


def test_problem_error_headers_are_not_shared_between_instances():
    a = Unauthorized()
    a.headers["X"] = "1"
    assert "X" not in Unauthorized().headers


# --- bodies -------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON",
    "application/merge-patch+json", "application/vnd.homesense+json;v=1",
])
def test_decode_json_body_accepts_json_media_types(content_type):
    assert decode_json_body(b'{"a": 1}', content_type) == {"a": 1}


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/xml",
                                          "application/jsonx", "text/json", "application/+json",
                                          "multipart/form-data; boundary=x"])
def test_decode_json_body_rejects_other_media_types_with_415(content_type):
    with pytest.raises(UnsupportedMediaType):
        decode_json_body(b'{"a": 1}', content_type)


def test_decode_json_body_accepts_exactly_one_mebibyte():
    raw = b'{"a":"' + b"x" * (MAX_BODY_BYTES - 8) + b'"}'
    assert len(raw) == MAX_BODY_BYTES
    assert decode_json_body(raw, "application/json")["a"].startswith("x")


def test_decode_json_body_rejects_over_one_mebibyte_with_413_before_media_type():
    with pytest.raises(PayloadTooLarge):
        decode_json_body(b" " * (MAX_BODY_BYTES + 1), "text/plain")


@pytest.mark.parametrize("raw", [
    b"", b"{", b"{'a': 1}", b'{"a": 1,}', b"\xff\xfe", b'{"a": "\xc3"}', b"\xef\xbb\xbf{}",
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b"[" * 100000,
    b'{"a": ' + b"9" * 5000 + b"}",
])
def test_decode_json_body_rejects_unparseable_bodies_with_400(raw):
    with pytest.raises(MalformedRequest):
        decode_json_body(raw, "application/json")


@pytest.mark.parametrize("raw", [b"[]", b"1", b'"x"', b"null", b"true"])
def test_decode_json_body_rejects_non_objects_with_422_on_empty_field(raw):
    with pytest.raises(ValidationFailed) as info:
        decode_json_body(raw, "application/json")
    assert [e.field for e in info.value.errors] == [""]


def test_decode_json_body_accepts_str_and_unicode_content():
    assert decode_json_body(json.dumps({"n": "Küche"}), "application/json") == {"n": "Küche"}


@pytest.mark.parametrize("raw, field", [(b'{"name": "a", "name": "b"}', "name"),
                                        (b'{"readings": [{"value": 1, "value": 2}]}', "value")])
def test_a_repeated_key_is_422_naming_it(raw, field):
    from homesense_core.bodies import decode_json_body
    from homesense_core.problems import ValidationFailed
    with pytest.raises(ValidationFailed) as refused:
        decode_json_body(raw, "application/json")
    assert [e.field for e in refused.value.errors] == [field]
