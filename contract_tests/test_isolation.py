"""Per-user isolation: another user's device, readings, summary and alerts are 404, never listed."""
import pytest

from contract_tests.support import assert_problem, describe

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def victim(api, make_user):
    """A user with a device, two readings and an open alert."""
    u = make_user("victim")
    device, alert = api.device_with_alert(u, [20.0, 5.0], low_threshold=10.0, room="vault")
    return {"user": u, "device": device, "alert": alert}


@pytest.fixture(scope="module")
def intruder(api, make_user):
    """Another user with data of their own."""
    u = make_user("intruder")
    device, alert = api.device_with_alert(u, [1.0], low_threshold=10.0)
    return {"user": u, "device": device, "alert": alert}


FOREIGN_ROUTES = [
    ("GET", "/devices/{device}", None),
    ("PATCH", "/devices/{device}", {"room": "stolen"}),
    ("DELETE", "/devices/{device}", None),
    ("POST", "/devices/{device}/readings", {"readings": [{"value": 99.0}]}),
    ("GET", "/devices/{device}/readings", None),
    ("GET", "/devices/{device}/readings/summary", None),
    ("GET", "/alerts/{alert}", None),
    ("POST", "/alerts/{alert}/ack", None),
]


@pytest.mark.parametrize("method,path,body", FOREIGN_ROUTES, ids=[f"{m} {p}" for m, p, _ in FOREIGN_ROUTES])
def test_another_users_resource_is_404(api, victim, intruder, method, path, body):
    url = path.format(device=victim["device"]["id"], alert=victim["alert"]["id"])
    r = api.request(method, url, user=intruder["user"], json=body)
    assert_problem(r, 404, "not-found")


def test_lists_never_show_another_users_items(api, victim, intruder):
    mine = intruder["user"]
    assert [d["id"] for d in api.collect("/devices", mine)] == [intruder["device"]["id"]]
    assert [a["id"] for a in api.alerts(mine)] == [intruder["alert"]["id"]]
    for status in ("open", "acknowledged", "resolved"):
        assert victim["alert"]["id"] not in [a["id"] for a in api.alerts(mine, status=status)]
    r = api.get("/alerts", user=mine, params={"device_id": victim["device"]["id"]})
    if r.status_code == 200:
        assert r.json()["items"] == [], describe(r)
    else:
        assert_problem(r, 404, "not-found")


def test_foreign_attempts_changed_nothing(api, victim, intruder):
    """Runs after the 404 tests of this module: the victim's data is untouched."""
    u = victim["user"]
    r = api.get(f"/devices/{victim['device']['id']}", user=u)
    assert r.status_code == 200, describe(r)
    assert r.json() == victim["device"]
    assert [x["value"] for x in api.readings(u, victim["device"]["id"])] == [20.0, 5.0]
    alert = api.alert(u, victim["alert"]["id"])
    assert alert["status"] == "open" and alert["acknowledged_at"] is None
    assert alert["reading_count"] == victim["alert"]["reading_count"]


def test_users_see_their_own_resources(api, victim, intruder):
    for side in (victim, intruder):
        u = side["user"]
        assert api.get(f"/devices/{side['device']['id']}", user=u).status_code == 200
        assert api.get(f"/alerts/{side['alert']['id']}", user=u).status_code == 200
