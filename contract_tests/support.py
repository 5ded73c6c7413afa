"""Black-box helpers: HTTP wrapper, users, polling, WebSocket client and contract assertions."""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
PROBLEM_CT = "application/problem+json"
PROBLEM_STATUS = {
    "malformed-request": 400, "unauthorized": 401, "not-found": 404, "method-not-allowed": 405,
    "conflict": 409, "payload-too-large": 413, "unsupported-media-type": 415,
    "validation-error": 422, "rate-limited": 429, "internal-error": 500, "service-unavailable": 503,
}
USER_KEYS = {"id", "username", "created_at"}
DEVICE_KEYS = {"id", "name", "room", "kind", "unit", "low_threshold", "high_threshold",
               "escalation_after_seconds", "created_at", "updated_at"}
ALERT_KEYS = {"id", "device_id", "kind", "status", "level", "threshold", "first_value", "last_value",
              "reading_count", "opened_at", "acknowledged_at", "resolved_at", "escalated_at", "updated_at"}
ALERT_WAIT_S = 10.0
POLL_S = 0.2


def unique(prefix: str = "ct") -> str:
    """A fresh, valid username/name: runs and tests never collide."""
    return f"{prefix[:7]}-{uuid.uuid4().hex[:24]}"


def fmt_ts(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_ts(s: str) -> datetime:
    assert isinstance(s, str) and TS_RE.match(s), f"not an RFC 3339 UTC ms timestamp: {s!r}"
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def ts_ago(seconds: float) -> str:
    """A timestamp `seconds` before now (negative: in the future), ms precision."""
    return fmt_ts(now_utc() - timedelta(seconds=seconds))


def wait_until(predicate: Callable[[], Any], timeout: float = ALERT_WAIT_S, interval: float = POLL_S,
               message: str = "condition") -> Any:
    """Poll until predicate() is truthy and return its value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} not met within {timeout} s (last value: {last!r})")
        time.sleep(interval)


@dataclass
class User:
    id: str
    username: str
    password: str
    token: str
    created_at: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# A server may close a kept-alive connection that reached its idle limit just as the next request
# goes out on it (stage 1's gunicorn closes after 5 s, and several tests wait about that long).
# RFC 9112 9.3.1 lets a client retry an IDEMPOTENT request then: urllib3's default methods (GET,
# HEAD, PUT, DELETE, OPTIONS, TRACE) are retried once on a reset; POST and PATCH never are, and no
# status code is ever retried.
IDLE_CLOSE_RETRY = Retry(total=1, connect=1, read=1, status=0, other=0, redirect=0,
                         raise_on_status=False, respect_retry_after_header=False)


class Api:
    """requests.Session bound to a base URL (which may carry a path prefix)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=IDLE_CLOSE_RETRY))
        self.session.mount("https://", HTTPAdapter(max_retries=IDLE_CLOSE_RETRY))

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, *, user: User | None = None, token: str | None = None,
                headers: dict[str, str] | None = None, **kw) -> requests.Response:
        h: dict[str, str] = {}
        if user is not None:
            h.update(user.headers)
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        kw.setdefault("timeout", self.timeout)
        return self.session.request(method, self.url(path), headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def options(self, path, **kw):
        return self.request("OPTIONS", path, **kw)

    # --- domain shortcuts (each asserts its success status) -----------------
    def create_user(self, username: str | None = None, password: str | None = None) -> dict:
        username = username or unique()
        password = password or f"pw-{uuid.uuid4().hex}"
        r = self.post("/users", json={"username": username, "password": password})
        assert r.status_code == 201, describe(r)
        return assert_json(r)

    def token(self, username: str, password: str, expires_in: int | None = None) -> str:
        body: dict[str, Any] = {"username": username, "password": password}
        if expires_in is not None:
            body["expires_in"] = expires_in
        r = self.post("/auth/token", json=body)
        assert r.status_code == 200, describe(r)
        return r.json()["access_token"]

    def make_user(self, prefix: str = "ct") -> User:
        username, password = unique(prefix), f"pw-{uuid.uuid4().hex}"
        created = self.create_user(username, password)
        return User(created["id"], username, password, self.token(username, password), created["created_at"])

    def create_device(self, user: User, **fields) -> dict:
        body = {"name": unique("dev"), "kind": "temperature", **fields}
        r = self.post("/devices", user=user, json=body)
        assert r.status_code == 201, describe(r)
        return assert_json(r)

    def post_readings(self, user: User, device_id: str, values_or_items: list, **kw) -> requests.Response:
        items = [v if isinstance(v, dict) else {"value": v} for v in values_or_items]
        r = self.post(f"/devices/{device_id}/readings", user=user, json={"readings": items}, **kw)
        assert r.status_code == 202, describe(r)
        assert assert_json(r) == {"accepted": len(items)}, describe(r)
        return r

    def readings(self, user: User, device_id: str, **params) -> list[dict]:
        """Every reading of the device, following cursors."""
        return self.collect(f"/devices/{device_id}/readings", user, params)

    def alerts(self, user: User, **params) -> list[dict]:
        return self.collect("/alerts", user, params)

    def alert(self, user: User, alert_id: str) -> dict:
        r = self.get(f"/alerts/{alert_id}", user=user)
        assert r.status_code == 200, describe(r)
        return assert_json(r)

    def pages(self, path: str, user: User, params: dict | None = None,
              max_pages: int = 200) -> Iterator[list[dict]]:
        """The items of each page in turn, following next_cursor."""
        params = dict(params or {})
        for _ in range(max_pages):
            r = self.get(path, user=user, params=params)
            assert r.status_code == 200, describe(r)
            page = assert_json(r)
            assert set(page) == {"items", "next_cursor"}, page
            yield page["items"]
            if page["next_cursor"] is None:
                return
            assert isinstance(page["next_cursor"], str) and page["next_cursor"], page
            params["cursor"] = page["next_cursor"]
        raise AssertionError(f"more than {max_pages} pages at {path}")

    def collect(self, path: str, user: User, params: dict | None = None) -> list[dict]:
        """Every item of a list, following cursors."""
        return [item for page in self.pages(path, user, params) for item in page]

    def device_with_alert(self, user: User, values: list, **fields) -> tuple[dict, dict]:
        """(device, alert): a new device of `user` whose readings `values` opened an alert."""
        device = self.create_device(user, **fields)
        self.post_readings(user, device["id"], values)
        alert = self.wait_alert(user, lambda a: a["device_id"] == device["id"],
                                message=f"alert of device {device['id']}")
        return device, alert

    def wait_alert(self, user: User, predicate: Callable[[dict], bool], timeout: float = ALERT_WAIT_S,
                   message: str = "alert", **params) -> dict:
        """Poll GET /alerts until an alert matches; return it."""
        def find():
            return next((a for a in self.alerts(user, **params) if predicate(a)), None)
        return wait_until(find, timeout=timeout, message=message)


def describe(r: requests.Response) -> str:
    """Short text for assertion messages."""
    body = r.text
    if len(body) > 800:
        body = body[:800] + "..."
    return f"{r.request.method} {r.request.url} -> {r.status_code} {r.headers.get('Content-Type')} {body}"


def media_type(r: requests.Response) -> str:
    """The response's Content-Type without parameters, lower case."""
    return r.headers.get("Content-Type", "").split(";")[0].strip().lower()


def assert_json(r: requests.Response) -> Any:
    """A success body: application/json (parameters allowed), parsed."""
    assert media_type(r) == "application/json", describe(r)
    return r.json()


def assert_problem(r: requests.Response, status: int, slug: str | None = None) -> dict:
    """The exact RFC 9457 shape of §2 and the matching HTTP status; returns the body."""
    assert r.status_code == status, describe(r)
    assert media_type(r) == PROBLEM_CT, describe(r)
    body = r.json()
    assert isinstance(body, dict), describe(r)
    assert {"type", "title", "status", "detail"} <= set(body), describe(r)
    assert set(body) <= {"type", "title", "status", "detail", "errors"}, describe(r)
    expected_slug = slug or next(k for k, v in PROBLEM_STATUS.items() if v == status)
    assert body["type"] == f"/problems/{expected_slug}", describe(r)
    assert body["status"] == status and isinstance(body["status"], int), describe(r)
    assert isinstance(body["title"], str) and body["title"], describe(r)
    assert isinstance(body["detail"], str), describe(r)
    if status == 422:
        assert isinstance(body.get("errors"), list) and body["errors"], describe(r)
        for e in body["errors"]:
            assert set(e) == {"field", "message"}, describe(r)
            assert isinstance(e["field"], str) and isinstance(e["message"], str), describe(r)
    if status == 401:
        assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), describe(r)
    return body


def assert_validation(r: requests.Response, *fields: str) -> dict:
    """422 validation-error whose errors name every given field."""
    body = assert_problem(r, 422, "validation-error")
    named = {e["field"] for e in body["errors"]}
    for f in fields:
        assert f in named, f"field {f!r} not in {sorted(named)}: {describe(r)}"
    return body


def assert_device_shape(d: dict) -> None:
    assert set(d) == DEVICE_KEYS, d
    assert ID_RE.match(d["id"]), d
    assert parse_ts(d["updated_at"]) >= parse_ts(d["created_at"]), d


def assert_alert_shape(a: dict) -> None:
    assert set(a) == ALERT_KEYS, a
    assert ID_RE.match(a["id"]), a
    assert a["kind"] in ("low", "high"), a
    assert a["status"] in ("open", "acknowledged", "resolved"), a
    assert a["level"] in (1, 2, 3), a
    parse_ts(a["opened_at"])
    parse_ts(a["updated_at"])
    for k in ("acknowledged_at", "resolved_at", "escalated_at"):
        if a[k] is not None:
            parse_ts(a[k])
    assert (a["status"] == "resolved") == (a["resolved_at"] is not None), a
    assert isinstance(a["reading_count"], int) and a["reading_count"] >= 1, a


def location_path(r: requests.Response) -> str:
    loc = r.headers.get("Location")
    assert loc, describe(r)
    return urlsplit(loc).path


# --- tokens that must be refused ---------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token: str) -> tuple[dict, dict, str]:
    head, payload, sig = token.split(".")
    return json.loads(_unb64url(head)), json.loads(_unb64url(payload)), sig


def tampered_signature(token: str) -> str:
    head, payload, sig = token.split(".")
    raw = bytearray(_unb64url(sig))
    raw[len(raw) // 2] ^= 0xFF
    return f"{head}.{payload}.{_b64url(bytes(raw))}"


def tampered_payload(token: str, **claims) -> str:
    """Same header and signature, changed claims."""
    head, payload, sig = token.split(".")
    body = json.loads(_unb64url(payload))
    body.update(claims)
    return f"{head}.{_b64url(json.dumps(body).encode())}.{sig}"


def alg_none(token: str) -> str:
    header, claims, _ = jwt_parts(token)
    header = {**header, "alg": "none"}
    return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}."


def foreign_key_token(token: str) -> str:
    """Same header (kid) and claims, signed by a key the server never saw."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    header, claims, _ = jwt_parts(token)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    extra = {k: v for k, v in header.items() if k not in ("alg", "typ")}
    return jwt.encode(claims, key, algorithm="RS256", headers=extra)


def resign(token: str, private_key_pem: str, **overrides) -> str:
    """token's header (kid) and claims, changed by overrides (None drops a claim), signed with the
    given private key (the deployment's own, in --stage mode)."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    header, claims, _ = jwt_parts(token)
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    extra = {k: v for k, v in header.items() if k not in ("alg", "typ")}
    return jwt.encode(claims, key, algorithm="RS256", headers=extra)


# --- WebSocket -----------------------------------------------------------------
class WsClient:
    """websockets sync client with a background reader that collects JSON messages."""

    def __init__(self, ws_url: str, token: str | None, open_timeout: float = 15.0):
        from websockets.sync.client import connect

        sep = "&" if "?" in ws_url else "?"
        url = ws_url if token is None else f"{ws_url}{sep}token={token}"
        self.conn = connect(url, open_timeout=open_timeout, close_timeout=2, legacy=True)
        self.messages: list[Any] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self.conn:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    msg = {"_unparsable": raw}
                with self._cond:
                    self.messages.append(msg)
                    self._cond.notify_all()
        except Exception:  # the connection closed; the tests look at what arrived
            pass

    def send_json(self, obj: Any) -> None:
        self.conn.send(json.dumps(obj))

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = ALERT_WAIT_S,
                 message: str = "WebSocket message") -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if predicate(m):
                        return m
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{message} not received within {timeout} s; got {self.messages!r}")
                self._cond.wait(remaining)

    def snapshot(self) -> list[Any]:
        with self._cond:
            return list(self.messages)

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self._reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Contract 1.0.0 clarification: a 401 refused at the edge before application code runs (stage 3's
# API Gateway authorizer, answered by a Gateway Response that maps one header source only) may
# carry the edge's own request id instead of the caller's. Every other response echoes it.
EDGE_REFUSAL_STATUSES = frozenset({401})


def request_id_ok(sent: str, got: str | None, status: int) -> bool:
    """True when `got` is the caller's valid `sent`, or a valid edge id on an edge refusal."""
    if got == sent:
        return True
    return status in EDGE_REFUSAL_STATUSES and bool(got) and bool(REQUEST_ID_RE.match(got)) and len(got) <= 128
