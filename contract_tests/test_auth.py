"""Every protected route refuses a request without a valid bearer token: 401 + WWW-Authenticate."""
import pytest

from contract_tests.support import (alg_none, assert_problem, describe, foreign_key_token, jwt_parts,
                                    tampered_payload, tampered_signature, wait_until)

pytestmark = pytest.mark.timeout(120)

# (method, path template, json body); {device} and {alert} are real ids of the token's owner,
# so the only thing wrong with the request is its credentials.
PROTECTED = [
    ("GET", "/me", None),
    ("POST", "/devices", {"name": "x", "kind": "temperature"}),
    ("GET", "/devices", None),
    ("GET", "/devices/{device}", None),
    ("PATCH", "/devices/{device}", {"room": "hall"}),
    ("DELETE", "/devices/{device}", None),
    ("POST", "/devices/{device}/readings", {"readings": [{"value": 21.5}]}),
    ("GET", "/devices/{device}/readings", None),
    ("GET", "/devices/{device}/readings/summary", None),
    ("GET", "/alerts", None),
    ("GET", "/alerts/{alert}", None),
    ("POST", "/alerts/{alert}/ack", None),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _ in PROTECTED]


@pytest.fixture(scope="module")
def owner(api, make_user):
    """A user with a device and an open alert, plus a token that has expired."""
    u = make_user("auth")
    device, alert = api.device_with_alert(u, [5.0], low_threshold=10.0)
    expired = api.token(u.username, u.password, expires_in=1)
    wait_until(lambda: api.get("/me", token=expired).status_code == 401, timeout=10,
               message="token with expires_in=1 expires")
    owner = {"user": u, "device": device["id"], "alert": alert["id"], "expired": expired}
    owner["bad"] = {kind: _bad_credentials(owner, kind) for kind in BAD_KINDS}
    return owner


def _bad_credentials(owner, kind):
    token = owner["user"].token
    if kind == "missing":
        return {}
    if kind == "empty bearer":
        return {"Authorization": "Bearer "}
    if kind == "basic scheme":
        return {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}
    if kind == "token without scheme":
        return {"Authorization": token}
    if kind == "garbage":
        return {"Authorization": "Bearer not.a.jwt"}
    if kind == "tampered signature":
        return {"Authorization": f"Bearer {tampered_signature(token)}"}
    if kind == "tampered payload":
        _, claims, _ = jwt_parts(token)
        return {"Authorization": f"Bearer {tampered_payload(token, exp=claims['exp'] + 86400)}"}
    if kind == "expired":
        return {"Authorization": f"Bearer {owner['expired']}"}
    if kind == "alg none":
        return {"Authorization": f"Bearer {alg_none(token)}"}
    if kind == "foreign key":
        return {"Authorization": f"Bearer {foreign_key_token(token)}"}
    raise AssertionError(kind)


BAD_KINDS = ["missing", "empty bearer", "basic scheme", "token without scheme", "garbage",
             "tampered signature", "tampered payload", "expired", "alg none", "foreign key"]


@pytest.mark.parametrize("kind", BAD_KINDS)
@pytest.mark.parametrize("method,path,body", PROTECTED, ids=ROUTE_IDS)
def test_protected_route_refuses_bad_credentials_with_401(api, owner, kind, method, path, body):
    url = path.format(device=owner["device"], alert=owner["alert"])
    r = api.request(method, url, headers=owner["bad"][kind], json=body)
    assert_problem(r, 401, "unauthorized")


def test_refused_requests_changed_nothing(api, owner):
    """After every refused PATCH/DELETE/POST above, the owner's data is as it was."""
    u = owner["user"]
    r = api.get(f"/devices/{owner['device']}", user=u)
    assert r.status_code == 200, describe(r)
    assert r.json()["room"] == ""
    assert [x["value"] for x in api.readings(u, owner["device"])] == [5.0]
    assert api.alert(u, owner["alert"])["status"] == "open"
    assert [d["id"] for d in api.collect("/devices", u)] == [owner["device"]]


def test_valid_token_is_accepted_on_every_read_route(api, owner):
    u = owner["user"]
    for method, path, _ in PROTECTED:
        if method == "GET":
            url = path.format(device=owner["device"], alert=owner["alert"])
            r = api.get(url, user=u)
            assert r.status_code == 200, describe(r)

