import json

import pytest

from homesense_core.problems import (PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, Conflict, FieldError,
                                     InternalError, MalformedRequest, MethodNotAllowed, NotFound,
                                     PayloadTooLarge, ProblemError, RateLimited, ServiceUnavailable,
                                     Unauthorized, UnsupportedMediaType, ValidationFailed,
                                     PROTOCOL_REFUSALS, problem_dict, protocol_problem,
                                     protocol_problem_response, slug_for_status)

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
    assert problem_dict("not-found", "Device not found.") == {
        "type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "Device not found."}
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


def test_refusals_have_one_wording_in_every_stage():
    from homesense_core.problems import account_gone, bad_credentials, not_found, username_taken
    assert (not_found("Device").status, not_found("Device").detail) == (404, "Device not found.")
    assert not_found("Alert").detail == "Alert not found."
    assert username_taken().status == 409 and bad_credentials().status == account_gone().status == 401
    assert bad_credentials().headers["WWW-Authenticate"] == "Bearer"


def test_another_users_resource_is_not_found_never_forbidden():
    from types import SimpleNamespace

    from homesense_core.problems import NotFound, owned
    mine = SimpleNamespace(owner_id="me")
    assert owned(mine, "me", "Device") is mine
    for thing in (None, SimpleNamespace(owner_id="you")):
        with pytest.raises(NotFound, match="Alert not found."):
            owned(thing, "me", "Alert")


def test_service_unavailable_always_tells_the_client_when_to_retry():
    # A refused write is safe to send again: the fault tests retry exactly on 503 + Retry-After.
    assert ServiceUnavailable().headers == {"Retry-After": "1"}
    assert ServiceUnavailable(headers={"Retry-After": "5"}).headers == {"Retry-After": "5"}


# --- refusals of the HTTP layer (gunicorn, Envoy, the emulator's server) -------------------------


@pytest.mark.parametrize("status", sorted(PROTOCOL_REFUSALS))
def test_a_protocol_refusal_keeps_its_status_and_is_malformed_request(status):
    body = protocol_problem(status)
    assert body == {"type": "/problems/malformed-request", "title": PROTOCOL_REFUSALS[status][0],
                    "status": status, "detail": PROTOCOL_REFUSALS[status][1]}


@pytest.mark.parametrize("status, expected", [(403, 400), (417, 400), (501, 500), (500, 500)])
def test_other_refusals_become_400_or_the_internal_error(status, expected):
    body = protocol_problem(status)
    assert body["status"] == expected
    assert body["type"] == ("/problems/internal-error" if expected == 500 else "/problems/malformed-request")


def test_a_protocol_refusal_response_is_complete_http():
    raw = protocol_problem_response(431, [("X-Request-Id", "abc")])
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request header fields too large"
    assert {"Connection: close", f"Content-Type: {PROBLEM_CONTENT_TYPE}", f"Content-Length: {len(body)}",
            "X-Request-Id: abc"} == set(lines[1:])
    assert json.loads(body) == protocol_problem(431)
