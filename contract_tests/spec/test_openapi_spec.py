"""The contract file itself: valid OpenAPI 3.1 and consistent with docs/design.md section 2. No server needed."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "contract" / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"

# docs/design.md section 2.2, resource table: (method, path) -> (needs auth, success status).
EXPECTED_OPERATIONS = {
    ("get", "/health"): (False, "200"),
    ("post", "/users"): (False, "201"),
    ("post", "/auth/token"): (False, "200"),
    ("get", "/me"): (True, "200"),
    ("post", "/devices"): (True, "201"),
    ("get", "/devices"): (True, "200"),
    ("get", "/devices/{id}"): (True, "200"),
    ("patch", "/devices/{id}"): (True, "200"),
    ("delete", "/devices/{id}"): (True, "204"),
    ("post", "/devices/{id}/readings"): (True, "202"),
    ("get", "/devices/{id}/readings"): (True, "200"),
    ("get", "/devices/{id}/readings/summary"): (True, "200"),
    ("get", "/alerts"): (True, "200"),
    ("get", "/alerts/{id}"): (True, "200"),
    ("post", "/alerts/{id}/ack"): (True, "200"),
}

# docs/design.md section 2.4, errors: status -> (problem slug, shared response component).
PROBLEMS = {
    "400": ("malformed-request", "MalformedRequest"),
    "401": ("unauthorized", "Unauthorized"),
    "404": ("not-found", "NotFound"),
    "405": ("method-not-allowed", "MethodNotAllowed"),
    "409": ("conflict", "Conflict"),
    "413": ("payload-too-large", "PayloadTooLarge"),
    "415": ("unsupported-media-type", "UnsupportedMediaType"),
    "422": ("validation-error", "ValidationError"),
    "429": ("rate-limited", "RateLimited"),
    "500": ("internal-error", "InternalError"),
    "503": ("service-unavailable", "ServiceUnavailable"),
}


def load_spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def spec() -> dict:
    return load_spec()


def resolve(spec: dict, node: dict) -> dict:
    """Follow local $refs until a concrete object."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local refs expected, got {ref}"
        assert ref not in seen, f"$ref cycle at {ref}"
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def all_parameters(spec: dict, path: str, op: dict) -> list[dict]:
    params = [resolve(spec, p) for p in spec["paths"][path].get("parameters", [])]
    params += [resolve(spec, p) for p in op.get("parameters", [])]
    return params


def validator_for(spec: dict, schema_name: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator for one component schema, with the whole spec as the $ref target."""
    doc = copy.deepcopy(spec)
    registry = Registry().with_resource("urn:homesense", Resource(contents=doc, specification=DRAFT202012))
    schema = {"$ref": f"urn:homesense#/components/schemas/{schema_name}"}
    return jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


# --- structural validity -----------------------------------------------------------------------


def test_spec_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


BREAKAGES = {
    "missing info": lambda s: s.pop("info"),
    "dangling response $ref": lambda s: s["paths"]["/me"]["get"]["responses"].__setitem__(
        "404", {"$ref": "#/components/responses/DoesNotExist"}
    ),
    "dangling schema $ref": lambda s: s["components"]["schemas"]["Device"]["properties"]["id"].__setitem__(
        "$ref", "#/components/schemas/DoesNotExist"
    ),
    "undeclared path parameter": lambda s: s["paths"]["/devices/{id}"].pop("parameters"),
    "duplicate operationId": lambda s: s["paths"]["/me"]["get"].__setitem__("operationId", "getHealth"),
    "bad parameter location": lambda s: s["components"]["parameters"]["Cursor"].__setitem__("in", "body"),
    "unknown JSON type": lambda s: s["components"]["schemas"]["Id"].__setitem__("type", "strin"),
    "default outside bounds": lambda s: s["components"]["parameters"]["DeviceLimit"]["schema"].__setitem__(
        "default", 500
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_validator_rejects_a_broken_copy(spec, breakage):
    broken = copy.deepcopy(spec)
    BREAKAGES[breakage](broken)
    with pytest.raises(Exception) as excinfo:
        validate(broken, cls=OpenAPIV31SpecValidator)
    # A validation or reference-resolution error, not e.g. a TypeError from our own mutation.
    assert type(excinfo.value).__name__ in {
        "OpenAPIValidationError",
        "UnresolvableParameterError",
        "DuplicateOperationIDError",
        "PointerToNowhere",
        "Unresolvable",
    }, repr(excinfo.value)


def test_the_same_validation_accepts_the_untouched_copy(spec):
    # Guards the test above: the mutations, not the copying, are what the validator rejects.
    validate(copy.deepcopy(spec), cls=OpenAPIV31SpecValidator)


# --- version and inventory -----------------------------------------------------------------------


def test_contract_version_is_1_0_0(spec):
    assert spec["info"]["version"] == "1.0.0"
    health = validator_for(spec, "Health")
    assert health.is_valid({"status": "ok", "stage": "monolith", "version": "1.0.0"})
    assert not health.is_valid({"status": "ok", "stage": "monolith", "version": "1.0.1"})


def test_contract_version_matches_core():
    core = pytest.importorskip("homesense_core")
    assert load_spec()["info"]["version"] == core.CONTRACT_VERSION


def test_exactly_the_designed_operations(spec):
    found = {(method, path) for path, method, _ in operations(spec)}
    assert found == set(EXPECTED_OPERATIONS)


def test_operation_ids_unique_and_present(spec):
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert all(ids) and len(ids) == len(set(ids))


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_OPERATIONS))
def test_success_status_is_the_designed_one(spec, method, path):
    _, success = EXPECTED_OPERATIONS[(method, path)]
    responses = spec["paths"][path][method]["responses"]
    assert [code for code in responses if code.startswith("2")] == [success]


# --- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_OPERATIONS))
def test_security_matches_design(spec, method, path):
    needs_auth, _ = EXPECTED_OPERATIONS[(method, path)]
    op = spec["paths"][path][method]
    assert "security" in op, "every operation states its security explicitly"
    if needs_auth:
        assert op["security"] == [{"bearerAuth": []}]
        assert "401" in op["responses"]
    else:
        assert op["security"] == []


def test_bearer_scheme_is_jwt(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def test_token_endpoint_documents_401(spec):
    assert "401" in spec["paths"]["/auth/token"]["post"]["responses"]


# --- errors -----------------------------------------------------------------------------------


def test_shared_problem_responses_cover_every_problem_type(spec):
    problem_types = set(spec["components"]["schemas"]["Problem"]["properties"]["type"]["enum"])
    assert problem_types == {f"/problems/{slug}" for slug, _ in PROBLEMS.values()}
    for status, (slug, component) in PROBLEMS.items():
        response = spec["components"]["responses"][component]
        assert list(response["content"]) == ["application/problem+json"]
        schema = resolve(spec, response["content"]["application/problem+json"]["schema"])
        refs = [part.get("$ref") for part in schema["allOf"]]
        assert "#/components/schemas/Problem" in refs
        overrides = [part for part in schema["allOf"] if "$ref" not in part][0]["properties"]
        assert overrides["type"]["const"] == f"/problems/{slug}"
        assert overrides["status"]["const"] == int(status)


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_OPERATIONS))
def test_every_error_response_is_the_shared_problem_response(spec, method, path):
    op = spec["paths"][path][method]
    for code, response in op["responses"].items():
        if code.startswith("2"):
            continue
        assert code in PROBLEMS, f"{method} {path}: undocumented error status {code}"
        assert response == {"$ref": f"#/components/responses/{PROBLEMS[code][1]}"}, (method, path, code)


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_OPERATIONS))
def test_errors_every_operation_can_give(spec, method, path):
    op = spec["paths"][path][method]
    codes = set(op["responses"])
    # Any route can be throttled or fail inside.
    assert {"429", "500", "503"} <= codes
    if "{id}" in path:
        assert "404" in codes
    else:
        assert "404" not in codes, "only routes with an id can miss"
    if "requestBody" in op:
        assert {"400", "413", "415", "422"} <= codes
    else:
        assert not {"400", "413", "415"} & codes
    params = all_parameters(spec, path, op)
    query = [p for p in params if p["in"] == "query"]
    if query or "requestBody" in op or any(p["name"] == "Idempotency-Key" for p in params):
        assert "422" in codes
    else:
        assert "422" not in codes
    expected_409 = {("post", "/users"), ("post", "/alerts/{id}/ack")}
    assert ("409" in codes) == ((method, path) in expected_409)


def test_problem_schema_shape(spec):
    problem = validator_for(spec, "Problem")
    base = {"type": "/problems/not-found", "title": "Not Found", "status": 404, "detail": "no such device"}
    assert problem.is_valid(base)
    for missing in ("type", "title", "status", "detail"):
        assert not problem.is_valid({k: v for k, v in base.items() if k != missing})
    validation = validator_for(spec, "ValidationProblem")
    good = {
        "type": "/problems/validation-error",
        "title": "Validation Error",
        "status": 422,
        "detail": "invalid body",
        "errors": [{"field": "readings/0/value", "message": "must be a finite number"}],
    }
    assert validation.is_valid(good)
    assert not validation.is_valid({k: v for k, v in good.items() if k != "errors"})
    assert not validation.is_valid({**good, "errors": []})
    assert not validation.is_valid({**good, "errors": [{"field": "x"}]})
    assert not validation.is_valid({**good, "status": 400})
    assert not validator_for(spec, "NotFoundProblem").is_valid({**base, "type": "/problems/conflict"})
    # The contract's problems carry exactly these members (no extensions).
    assert not problem.is_valid({**base, "instance": "/devices/x"})
    assert not validation.is_valid({**good, "errors": [{"field": "x", "message": "y", "code": 1}]})


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_OPERATIONS))
def test_every_response_has_request_id_and_cors_headers(spec, method, path):
    for code, response in spec["paths"][path][method]["responses"].items():
        headers = resolve(spec, response).get("headers", {})
        for name in ("X-Request-Id", "Access-Control-Allow-Origin"):
            assert name in headers, (method, path, code, name)
            assert resolve(spec, headers[name])["required"] is True


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_OPERATIONS))
def test_every_operation_accepts_x_request_id(spec, method, path):
    params = {p["name"]: p for p in all_parameters(spec, path, spec["paths"][path][method])}
    assert params["X-Request-Id"]["in"] == "header"
    # Any value is accepted (an invalid one is replaced), so the request schema has no pattern,
    # and the description names the rule for what is echoed.
    assert params["X-Request-Id"]["schema"] == {"type": "string"}
    assert "^[A-Za-z0-9._-]{1,128}$" in params["X-Request-Id"]["description"]


def test_special_response_headers(spec):
    responses = spec["components"]["responses"]
    www = resolve(spec, responses["Unauthorized"]["headers"]["WWW-Authenticate"])
    assert www["required"] and re.match(www["schema"]["pattern"], "Bearer")
    retry = resolve(spec, responses["RateLimited"]["headers"]["Retry-After"])
    assert retry["required"] and retry["schema"]["type"] == "integer"
    created = spec["paths"]["/devices"]["post"]["responses"]["201"]["headers"]
    location = resolve(spec, created["Location"])
    assert location["required"]
    assert re.search(location["schema"]["pattern"], "/devices/01JDX4ZQ1C3V6W0B5N8M7K2P9R")
    assert not re.search(location["schema"]["pattern"], "/users/01JDX4ZQ1C3V6W0B5N8M7K2P9R")


def test_idempotency_key_only_on_the_two_designed_posts(spec):
    having = {
        (method, path)
        for path, method, op in operations(spec)
        if any(p["name"] == "Idempotency-Key" for p in all_parameters(spec, path, op))
    }
    assert having == {("post", "/devices"), ("post", "/devices/{id}/readings")}
    key = spec["components"]["parameters"]["IdempotencyKey"]
    assert key["in"] == "header" and key["required"] is False
    pattern = re.compile(key["schema"]["pattern"])
    assert pattern.match("abc-123_XYZ!~")
    assert not pattern.match("has space")
    assert not pattern.match("x" * 256)


# --- parameters and bounds --------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_OPERATIONS))
def test_path_ids_use_the_id_pattern(spec, method, path):
    path_params = [p for p in all_parameters(spec, path, spec["paths"][path][method]) if p["in"] == "path"]
    assert [p["name"] for p in path_params] == re.findall(r"\{(\w+)\}", path)
    for p in path_params:
        assert p["required"] is True
        assert resolve(spec, p["schema"])["pattern"] == ID_PATTERN


def _query(spec, method, path):
    op = spec["paths"][path][method]
    return {p["name"]: resolve(spec, p["schema"]) for p in all_parameters(spec, path, op) if p["in"] == "query"}


def test_query_parameters_and_bounds(spec):
    devices = _query(spec, "get", "/devices")
    assert set(devices) == {"limit", "cursor"}
    assert (devices["limit"]["minimum"], devices["limit"]["maximum"], devices["limit"]["default"]) == (1, 200, 50)
    readings = _query(spec, "get", "/devices/{id}/readings")
    assert set(readings) == {"from", "to", "order", "limit", "cursor"}
    assert (readings["limit"]["minimum"], readings["limit"]["maximum"], readings["limit"]["default"]) == (1, 1000, 100)
    assert readings["order"]["enum"] == ["asc", "desc"] and readings["order"]["default"] == "asc"
    assert readings["from"]["format"] == readings["to"]["format"] == "date-time"
    summary = _query(spec, "get", "/devices/{id}/readings/summary")
    assert set(summary) == {"from", "to"}
    alerts = _query(spec, "get", "/alerts")
    assert set(alerts) == {"status", "device_id", "limit", "cursor"}
    assert alerts["status"]["enum"] == ["open", "acknowledged", "resolved"]
    assert alerts["device_id"]["pattern"] == ID_PATTERN


def _request_schema(spec, method, path):
    op = spec["paths"][path][method]
    body = op["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["application/json"]
    return body["content"]["application/json"]["schema"]


def _objects(spec, schema, seen=None):
    """Every object schema reachable from `schema`."""
    seen = set() if seen is None else seen
    if isinstance(schema, dict) and "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
        schema = resolve(spec, schema)
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" or "properties" in schema:
        yield schema
    for sub in (schema.get("properties") or {}).values():
        yield from _objects(spec, sub, seen)
    if "items" in schema:
        yield from _objects(spec, schema["items"], seen)


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k in EXPECTED_OPERATIONS if k[0] in {"post", "patch"} and "ack" not in k[1])
)
def test_request_bodies_are_closed_json_objects(spec, method, path):
    objects = list(_objects(spec, _request_schema(spec, method, path)))
    assert objects
    for obj in objects:
        assert obj["type"] == "object"
        assert obj["additionalProperties"] is False


def test_ack_takes_no_body(spec):
    assert "requestBody" not in spec["paths"]["/alerts/{id}/ack"]["post"]


def test_user_bounds(spec):
    user = validator_for(spec, "UserCreate")
    assert user.is_valid({"username": "ab.c-d_9", "password": "12345678"})
    assert user.is_valid({"username": "a" * 32, "password": "p" * 128})
    for bad in (
        {"username": "ab", "password": "12345678"},
        {"username": "a" * 33, "password": "12345678"},
        {"username": "Alice", "password": "12345678"},
        {"username": "alice", "password": "1234567"},
        {"username": "alice", "password": "p" * 129},
        {"username": "alice", "password": "12345678", "admin": True},
    ):
        assert not user.is_valid(bad), bad
    token = validator_for(spec, "TokenRequest")
    assert token.is_valid({"username": "alice", "password": "x", "expires_in": 3600})
    assert not token.is_valid({"username": "alice", "password": "x", "expires_in": 0})
    assert not token.is_valid({"username": "alice", "password": "x", "expires_in": 3601})
    assert validator_for(spec, "Token").is_valid({"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 60})
    assert not validator_for(spec, "Token").is_valid({"access_token": "a.b.c", "token_type": "bearer", "expires_in": 60})


DEVICE = {
    "id": "01JDX4ZQ1C3V6W0B5N8M7K2P9R",
    "name": "Hall",
    "room": "",
    "kind": "temperature",
    "unit": "C",
    "low_threshold": None,
    "high_threshold": 30.5,
    "escalation_after_seconds": 300,
    "created_at": "2026-11-27T09:08:52.123Z",
    "updated_at": "2026-11-27T09:08:52.123Z",
}


def test_device_bounds(spec):
    device = validator_for(spec, "Device")
    assert device.is_valid(DEVICE)
    for change in (
        {"name": ""},
        {"name": "n" * 101},
        {"room": "r" * 101},
        {"kind": "pressure"},
        {"unit": "u" * 17},
        {"low_threshold": "1"},
        {"escalation_after_seconds": 0},
        {"escalation_after_seconds": 86401},
        {"escalation_after_seconds": 1.5},
        {"created_at": "2026-11-27T09:08:52Z"},
        {"updated_at": "2026-11-27T10:08:52.123+01:00"},
        {"id": "bad id"},
        {"owner_id": "01JDX4ZQ1C3V6W0B5N8M7K2P9R"},
    ):
        assert not device.is_valid({**DEVICE, **change}), change
    create = validator_for(spec, "DeviceCreate")
    assert create.is_valid({"name": "x", "kind": "co2"})
    assert create.is_valid({"name": "x", "kind": "co2", "low_threshold": None, "high_threshold": -3})
    assert not create.is_valid({"name": "x"})
    assert not create.is_valid({"kind": "co2"})
    assert not create.is_valid({"name": "x", "kind": "co2", "id": "abc"})
    patch = validator_for(spec, "DevicePatch")
    assert patch.is_valid({})
    assert patch.is_valid({"low_threshold": None})
    for bad in ({"name": None}, {"kind": None}, {"room": None}, {"unit": None}, {"escalation_after_seconds": None},
                {"created_at": "2026-11-27T09:08:52.123Z"}):
        assert not patch.is_valid(bad), bad


def test_reading_bounds(spec):
    batch = validator_for(spec, "ReadingsBatch")
    assert batch.is_valid({"readings": [{"value": 1}]})
    assert batch.is_valid({"readings": [{"value": -1.5, "recorded_at": "2026-11-27T10:08:52+01:00"}] * 500})
    assert not batch.is_valid({"readings": []})
    assert not batch.is_valid({"readings": [{"value": 1}] * 501})
    assert not batch.is_valid({"readings": [{"value": "1"}]})
    assert not batch.is_valid({"readings": [{"value": 1, "recorded_at": "yesterday"}]})
    assert not batch.is_valid({"readings": [{"value": 1, "extra": 2}]})
    summary = validator_for(spec, "ReadingSummary")
    empty = {"count": 0, "min": None, "max": None, "mean": None, "first_recorded_at": None, "last_recorded_at": None}
    assert summary.is_valid(empty)
    assert not summary.is_valid({**empty, "count": -1})
    assert not summary.is_valid({k: v for k, v in empty.items() if k != "mean"})


def test_alert_shape(spec):
    alert = validator_for(spec, "Alert")
    good = {
        "id": "01JDX4ZQ1C3V6W0B5N8M7K2P9S",
        "device_id": DEVICE["id"],
        "kind": "low",
        "status": "open",
        "level": 1,
        "threshold": 16.0,
        "first_value": 12.5,
        "last_value": 11,
        "reading_count": 2,
        "opened_at": "2026-11-27T09:08:52.123Z",
        "acknowledged_at": None,
        "resolved_at": None,
        "escalated_at": None,
        "updated_at": "2026-11-27T09:08:53.000Z",
    }
    assert alert.is_valid(good)
    for change in ({"level": 0}, {"level": 4}, {"status": "closed"}, {"kind": "medium"}, {"reading_count": 0},
                   {"escalated_at": "2026-11-27T09:08:52.1Z"}, {"owner_id": "x"}):
        assert not alert.is_valid({**good, **change}), change
    page = validator_for(spec, "AlertPage")
    assert page.is_valid({"items": [good], "next_cursor": None})
    assert page.is_valid({"items": [], "next_cursor": "eyJrIjoxfQ"})
    assert not page.is_valid({"items": []})


def test_websocket_channel_is_described(spec):
    ws = spec["x-websocket"]
    assert ws["path"] == "/ws" and ws["query"]["token"]["required"] is True
    assert "/ws?token=" in spec["info"]["description"]
    push = validator_for(spec, "PushMessage")
    types = spec["components"]["schemas"]["PushMessage"]["properties"]["type"]["enum"]
    assert types == ["alert.opened", "alert.escalated", "alert.acknowledged", "alert.resolved"]
    assert validator_for(spec, "PongMessage").is_valid({"type": "pong"})
    assert validator_for(spec, "PingMessage").is_valid({"action": "ping"})
    assert not push.is_valid({"type": "alert.updated", "alert": {}, "sent_at": "2026-11-27T09:08:52.123Z"})


def test_cors_and_rate_limit_are_described(spec):
    text = spec["info"]["description"]
    for needle in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Max-Age",
                   "Retry-After", "HOMESENSE_RATE_LIMIT_RPS", "429"):
        assert needle in text, needle
