"""Property-based conformance: schemathesis generates requests from contract/openapi.yaml and checks
that the running stage never answers 5xx and that every answer is one the contract documents
(status code, content type, body schema, headers).

Generated path ids would almost always miss (404), so most cases are aimed at real resources made
by the `targets` fixture: a device, an open and a resolved alert, valid cursors, real credentials.
Every fourth case per operation keeps its generated values, which exercises the miss paths.
"""
from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract_tests.support import REQUEST_ID_RE, Api, User, describe, request_id_ok, ts_ago, unique

SPEC_PATH = Path(__file__).resolve().parent.parent / "contract" / "openapi.yaml"
# Fuzzing examples per operation (the examples and coverage phases add their own cases on top).
MAX_EXAMPLES = max(100, int(os.environ.get("HOMESENSE_SCHEMATHESIS_EXAMPLES", "100")))
# A fresh random seed per run, so runs explore different inputs; the terminal summary prints it
# and `--schemathesis-seed N` (conftest; or HOMESENSE_SCHEMATHESIS_SEED) replays a run exactly.
SEED = int(os.environ.get("HOMESENSE_SCHEMATHESIS_SEED") or random.SystemRandom().randrange(2**31))
# Fuzzing also generates invalid requests (wrong types, missing fields...): the stages must answer
# 4xx, never 5xx. The coverage phase's systematic negative cases roughly double the run time (too slow
# for stage 3 by default); HOMESENSE_SCHEMATHESIS_COVERAGE_MODE=all turns them on for a thorough run.
MODE = os.environ.get("HOMESENSE_SCHEMATHESIS_MODE", "all")
COVERAGE_MODE = os.environ.get("HOMESENSE_SCHEMATHESIS_COVERAGE_MODE", "positive")
# Optional JSON-lines log of every generated request and its answer, for diagnosing a stage.
LOG_PATH = os.environ.get("HOMESENSE_SCHEMATHESIS_LOG")
KEEP_GENERATED_EVERY = 4
# Methods every front layer (Flask, Envoy, API Gateway) routes; on a path that does not serve one
# the answer must be 405. Others (TRACE, QUERY...) may be refused earlier with another 4xx.
ROUTABLE_METHODS = {"GET", "PUT", "POST", "PATCH", "DELETE"}
CHECKS = [
    not_a_server_error,
    # Valid requests are accepted (aimed at real resources, so 404/409 remain legitimate answers),
    # invalid ones refused with a 4xx: neither check ever passes on a 5xx.
    positive_data_acceptance,
    negative_data_rejection,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": ["all"],
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "404", "409", "429"]},
            "negative_data_rejection": {"expected-statuses": ["400", "401", "404", "405", "409", "413",
                                                              "415", "422", "429"]},
        },
        "generation": {
            "mode": MODE,
            "max-examples": MAX_EXAMPLES,
            "no-shrink": True,
            "deterministic": False,
            "database": "none",
            # Auth is supplied by the test (a real token), not generated.
            "with-security-parameters": False,
        },
        "phases": {
            "stateful": {"enabled": False},
            "coverage": {"generation": {"mode": COVERAGE_MODE, "with-security-parameters": False}},
        },
    }
)
schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)
OPERATIONS = sorted(r.ok().label for r in schema.get_all_operations())


class Targets:
    """Real resources of one user that generated cases are pointed at."""

    def __init__(self, api: Api, user: User):
        self.api = api
        self.user = user
        self.seen: Counter[str] = Counter()
        self.device = api.create_device(user, name=unique("st-fuzz"), low_threshold=-1000.0, high_threshold=1000.0)
        # A page of more than one device, so GET /devices has a real cursor.
        api.create_device(user, name=unique("st-extra"))
        api.post_readings(user, self.device["id"], [{"value": 1.5, "recorded_at": ts_ago(30 - i)} for i in range(3)])
        # Alerts live on devices the fuzzer never patches, so their states stay as arranged.
        open_dev = api.create_device(user, name=unique("st-open"), low_threshold=10.0)
        resolved_dev = api.create_device(user, name=unique("st-resolved"), low_threshold=10.0)
        api.post_readings(user, open_dev["id"], [5.0])
        api.post_readings(user, resolved_dev["id"], [4.0, 12.0])
        self.open_alert = api.wait_alert(user, lambda a: a["status"] == "open", device_id=open_dev["id"],
                                         message="alert on the st-open device")
        self.resolved_alert = api.wait_alert(user, lambda a: a["status"] == "resolved",
                                             device_id=resolved_dev["id"], message="resolved alert")
        self.alert_device_id = open_dev["id"]
        self.cursors = {
            "GET /devices": self._cursor("/devices"),
            "GET /devices/{id}/readings": self._cursor(f"/devices/{self.device['id']}/readings"),
            "GET /alerts": self._cursor("/alerts"),
        }

    def _cursor(self, path: str) -> str:
        r = self.api.get(path, user=self.user, params={"limit": 1})
        assert r.status_code == 200, describe(r)
        cursor = r.json()["next_cursor"]
        assert cursor, f"expected a second page at {path}: {describe(r)}"
        return cursor

    def aim(self, case) -> None:
        """Point the case at real resources, except every KEEP_GENERATED_EVERY-th case of an operation."""
        label = case.operation.label
        n = self.seen[label]
        self.seen[label] += 1
        if case.headers is not None and isinstance(case.headers.get("Idempotency-Key"), str):
            # Generated keys repeat across different bodies, which is only ever 422.
            case.headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
        if not _is_positive(case):
            # Negative cases stay as generated: whatever made them invalid must be refused.
            return
        self._make_valid_beyond_the_schema(case, label)
        if n % KEEP_GENERATED_EVERY == KEEP_GENERATED_EVERY - 1:
            return
        path = case.operation.path
        if path.startswith("/devices/{id}"):
            if case.method.upper() == "DELETE":
                device_id = self.api.create_device(self.user, name=unique("st-del"))["id"]
            else:
                device_id = self.device["id"]
            case.path_parameters["id"] = device_id
        elif path.startswith("/alerts/{id}"):
            alert = self.resolved_alert if n % 3 == 2 else self.open_alert
            case.path_parameters["id"] = alert["id"]
        if isinstance(case.query, dict):
            if "cursor" in case.query and label in self.cursors and n % 2 == 0:
                case.query["cursor"] = self.cursors[label]
            if "device_id" in case.query and n % 2 == 0:
                case.query["device_id"] = self.alert_device_id
        if label == "POST /users" and isinstance(case.body, dict) and "username" in case.body:
            # Generation is deterministic, so a rerun against the same deployment would only see 409.
            case.body["username"] = unique("st")
        if label == "POST /auth/token" and isinstance(case.body, dict) and n % 2 == 0:
            case.body["username"] = self.user.username
            case.body["password"] = self.user.password


def _is_positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _make_valid_beyond_the_schema(self, case, label: str) -> None:
    """What a schema cannot say, put right in positive cases so positive_data_acceptance judges
    the stage, not the generator: cursors are opaque tokens the server issued (a made-up one is
    rightly 422), a reading may not be more than 5 minutes in the future, low_threshold must be
    below high_threshold, and text may hold neither NUL nor lone surrogates (DESIGN: stored in
    PostgreSQL/DynamoDB as UTF-8)."""
    if isinstance(case.body, dict):
        case.body = _clean_text(case.body)
        # The other threshold may be the device's stored one: send both, the upper one open.
        if "low_threshold" in case.body or "high_threshold" in case.body:
            low, high = case.body.get("low_threshold"), case.body.get("high_threshold")
            if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and low < high):
                case.body["high_threshold"] = None
                case.body.setdefault("low_threshold", None)
    if isinstance(case.query, dict) and "cursor" in case.query:
        if label in self.cursors:
            case.query["cursor"] = self.cursors[label]
        else:
            del case.query["cursor"]
    if label == "POST /devices/{id}/readings" and isinstance(case.body, dict):
        for reading in case.body.get("readings") or []:
            if isinstance(reading, dict) and "recorded_at" in reading:
                reading["recorded_at"] = ts_ago(60)


Targets._make_valid_beyond_the_schema = _make_valid_beyond_the_schema


def _clean_text(value):
    if isinstance(value, str):
        return "".join(c for c in value if c != "\x00" and not "\ud800" <= c <= "\udfff")
    if isinstance(value, dict):
        return {k: _clean_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_text(v) for v in value]
    return value


# Statuses per operation of the cases sent with the operation's own method, to prove the run
# reached the handlers (cases with a made-up method are checked but not counted).
_STATUSES: dict[str, Counter[int]] = defaultdict(Counter)


@pytest.fixture(scope="session")
def st_user(make_user) -> User:
    return make_user("st")


@pytest.fixture(scope="session")
def targets(base_url, st_user) -> Targets:
    return Targets(Api(base_url), st_user)


@pytest.fixture(scope="session")
def http_session():
    with requests.Session() as s:
        yield s


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _log(case, response) -> None:
    entry = {
        "op": case.operation.label,
        "phase": case.meta.phase.name.value if case.meta is not None else None,
        "mode": case.meta.generation.mode.value if case.meta is not None else None,
        "method": response.request.method,
        "url": response.request.url,
        "headers": _jsonable(dict(case.headers or {})),
        "body": _jsonable(case.body),
        "status": response.status_code,
        "response": response.text[:500],
    }
    with open(LOG_PATH, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def _served_methods(path: str) -> set[str]:
    return {m for m in schema.raw_schema["paths"][path] if m in {"get", "put", "post", "delete", "patch"}}


def _needs_auth(operation) -> bool:
    security = operation.definition.raw.get("security", schema.raw_schema.get("security", []))
    return bool(security)


# docs/dev/INTERFACES.md, "Protocol edges": a request line or header block over the HTTP layer's
# limit is refused before any route runs, with 414/431 `malformed-request`, statuses no operation
# documents. Generated negative cases (a query parameter repeated as a long array) can be that big.
# The smallest such limit is stage 1's: gunicorn's 4094-byte request line.
SMALLEST_LAYER_LIMIT = 4094


def _refused_by_the_http_layer(response) -> bool:
    """True for a well-formed layer refusal of a request that was really over the smallest limit;
    anything else (a small request refused so, or another body) goes through the checks."""
    if response.status_code not in (414, 431):
        return False
    request = response.request
    size = len(request.method) + len(request.path_url) + sum(
        len(name) + len(str(value)) + 4 for name, value in request.headers.items())
    ctype = response.headers.get("content-type", [""])[0].split(";")[0].strip().lower()
    try:
        kind = json.loads(response.text).get("type")
    except (ValueError, AttributeError):
        return False
    return size > SMALLEST_LAYER_LIMIT and ctype == "application/problem+json" \
        and kind == "/problems/malformed-request"


@schema.parametrize()
def test_stage_conforms_to_contract(case, base_url, targets, st_user, http_session):
    targets.aim(case)
    headers = dict(st_user.headers) if _needs_auth(case.operation) else {}
    response = case.call(base_url=base_url, session=http_session, headers=headers, timeout=30)
    if not _refused_by_the_http_layer(response):
        case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs={
            "base_url": base_url, "session": http_session, "headers": dict(headers), "timeout": 30})
    sent_method = response.request.method.upper()
    if sent_method == case.operation.method.upper():
        _STATUSES[case.operation.label][response.status_code] += 1
    if LOG_PATH:
        _log(case, response)
    where = f"{sent_method} {case.formatted_path} -> {response.status_code}"
    if response.status_code >= 400:
        # Also errors no operation documents, e.g. to a method schemathesis made up.
        ctype = response.headers.get("content-type", [""])[0].split(";")[0].strip().lower()
        assert ctype == "application/problem+json", f"{where} with Content-Type {ctype!r}"
    if sent_method in ROUTABLE_METHODS and sent_method.lower() not in _served_methods(case.operation.path):
        # docs/design.md section 2.4: a known path with a method it does not serve is 405 method-not-allowed.
        assert response.status_code == 405, f"{where}, expected 405: {response.text[:300]}"
    elif response.request.method.upper() != case.operation.method.upper():
        # Other methods (TRACE, QUERY...) may be refused before routing, but only with a 4xx.
        assert 400 <= response.status_code < 500 or sent_method in ("OPTIONS", "HEAD"), where
    sent = (case.headers or {}).get("X-Request-Id")
    if isinstance(sent, str) and REQUEST_ID_RE.match(sent):
        # schemathesis keeps response headers as lower-case name -> list of values.
        echoed = response.headers.get("x-request-id", [None])[0]
        assert request_id_ok(sent, echoed, response.status_code), \
            f"{case.operation.label}: valid X-Request-Id {sent!r} not echoed, got {echoed!r}"


def test_every_operation_was_exercised_and_reached_its_handler():
    """Runs after the generated tests: at least MAX_EXAMPLES cases and one success per operation."""
    seen = _STATUSES
    if set(seen) != set(OPERATIONS):
        pytest.skip(f"needs the full run of test_stage_conforms_to_contract; ran only {sorted(seen)}")
    for label in OPERATIONS:  # shown with -rP; handy when a stage drifts
        print(f"{label:40} {sum(seen[label].values()):4} cases  {dict(sorted(seen[label].items()))}")
    problems = []
    for label in OPERATIONS:
        total = sum(seen[label].values())
        successes = sum(c for s, c in seen[label].items() if 200 <= s < 300)
        if total < MAX_EXAMPLES:
            problems.append(f"{label}: only {total} cases")
        if successes == 0:
            problems.append(f"{label}: no 2xx among {dict(seen[label])}")
    assert not problems, "\n".join(problems)


UNSERVED = sorted(
    (path, method)
    for path in schema.raw_schema["paths"]
    for method in sorted(ROUTABLE_METHODS)
    if method.lower() not in _served_methods(path)
)


@pytest.mark.parametrize(("path", "method"), UNSERVED, ids=[f"{m} {p}" for p, m in UNSERVED])
def test_unserved_method_is_405_problem(path, method, base_url, targets, st_user, http_session):
    """Every documented path answers a standard method it does not serve with 405 method-not-allowed."""
    real_id = targets.open_alert["id"] if path.startswith("/alerts/") else targets.device["id"]
    url = base_url.rstrip("/") + path.replace("{id}", real_id)
    body = {"json": {}} if method in ("PUT", "POST", "PATCH") else {}
    r = http_session.request(method, url, headers=st_user.headers, timeout=30, **body)
    assert r.status_code == 405, describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/problem+json", describe(r)
    problem = r.json()
    assert (problem.get("type"), problem.get("status")) == ("/problems/method-not-allowed", 405), describe(r)
    assert REQUEST_ID_RE.match(r.headers.get("X-Request-Id", "")), describe(r)
    assert r.headers.get("Access-Control-Allow-Origin"), describe(r)


VALID_BODIES = {
    ("post", "/devices"): {"name": "st-unauth", "kind": "co2"},
    ("patch", "/devices/{id}"): {},
    ("post", "/devices/{id}/readings"): {"readings": [{"value": 1.0}]},
}
PROTECTED = sorted(
    (path, method)
    for path, item in schema.raw_schema["paths"].items()
    for method, op in item.items()
    if method in {"get", "put", "post", "delete", "patch"} and op.get("security")
)


@pytest.mark.parametrize("token", [None, "not.a.jwt"], ids=["no-token", "garbage-token"])
@pytest.mark.parametrize(("path", "method"), PROTECTED, ids=[f"{m.upper()} {p}" for p, m in PROTECTED])
def test_protected_operation_refuses_without_valid_token(path, method, token, base_url, targets, http_session):
    """401 unauthorized problem with WWW-Authenticate, from whichever layer checks the token, and a
    valid X-Request-Id (the caller's, or the edge's own when an edge refuses: see support.request_id_ok)."""
    real_id = targets.open_alert["id"] if path.startswith("/alerts/") else targets.device["id"]
    url = base_url.rstrip("/") + path.replace("{id}", real_id)
    request_id = f"st-unauth-{uuid.uuid4().hex}"
    headers = {"X-Request-Id": request_id}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = VALID_BODIES.get((method, path))
    r = http_session.request(method.upper(), url, headers=headers, timeout=30,
                             **({"json": body} if body is not None else {}))
    assert r.status_code == 401, describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/problem+json", describe(r)
    assert (r.json().get("type"), r.json().get("status")) == ("/problems/unauthorized", 401), describe(r)
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), describe(r)
    echoed = r.headers.get("X-Request-Id")
    assert request_id_ok(request_id, echoed, r.status_code), f"X-Request-Id {request_id!r} -> {echoed!r}: {describe(r)}"
