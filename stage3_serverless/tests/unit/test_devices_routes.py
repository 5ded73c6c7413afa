"""Devices: create, list (oldest first, paged), get, patch, delete, isolation, idempotency."""

from .support import unique


def test_create_returns_201_location_and_defaults(harness):
    _, token = harness.user()
    r = harness.request("POST", "/devices", {"name": "Hall", "kind": "temperature"}, token)
    assert r.status_code == 201
    d = r.json_body
    assert r.headers["Location"] == f"/devices/{d['id']}"
    assert (d["room"], d["unit"], d["low_threshold"], d["high_threshold"], d["escalation_after_seconds"]) \
        == ("", "", None, None, 300)
    assert d["created_at"] == d["updated_at"]
    assert harness.request("GET", f"/devices/{d['id']}", token=token).json_body == d


def test_list_is_oldest_first_and_pages_with_a_cursor(harness):
    _, token = harness.user()
    made = [harness.device(token, name=f"d{i}")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        path = "/devices?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = harness.request("GET", path, token=token).json_body
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_bad_list_parameters_are_422_on_their_field(harness):
    _, token = harness.user()
    r = harness.request("GET", "/devices?limit=0&cursor=nope", token=token)
    assert r.status_code == 422
    assert {e["field"] for e in r.json_body["errors"]} == {"limit", "cursor"}


def test_another_users_device_is_404(harness):
    _, alice = harness.user()
    _, bob = harness.user()
    d = harness.device(alice)
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        r = harness.request(method, f"/devices/{d['id']}", body, bob)
        assert r.status_code == 404 and r.json_body["type"] == "/problems/not-found"
    assert harness.request("GET", "/devices", token=bob).json_body["items"] == []


def test_unknown_or_invalid_device_id_is_404(harness):
    _, token = harness.user()
    assert harness.request("GET", "/devices/01HZZZZZZZZZZZZZZZZZZZZZZZ", token=token).status_code == 404
    assert harness.request("GET", "/devices/" + "x" * 2000, token=token).status_code == 404


def test_patch_merges_and_null_clears_a_threshold(harness):
    _, token = harness.user()
    d = harness.device(token, low_threshold=5, high_threshold=30)
    r = harness.request("PATCH", f"/devices/{d['id']}", {"room": "Attic", "low_threshold": None}, token)
    assert r.status_code == 200
    assert (r.json_body["room"], r.json_body["low_threshold"], r.json_body["high_threshold"]) == ("Attic", None, 30)
    assert harness.request("GET", f"/devices/{d['id']}", token=token).json_body == r.json_body


def test_empty_patch_changes_nothing(harness):
    _, token = harness.user()
    d = harness.device(token)
    r = harness.request("PATCH", f"/devices/{d['id']}", {}, token)
    assert r.status_code == 200 and r.json_body == d


def test_patch_checks_thresholds_on_the_merged_device(harness):
    _, token = harness.user()
    d = harness.device(token, low_threshold=5, high_threshold=30)
    r = harness.request("PATCH", f"/devices/{d['id']}", {"high_threshold": 1}, token)
    assert r.status_code == 422
    assert harness.request("GET", f"/devices/{d['id']}", token=token).json_body == d


def test_delete_is_204_then_404(harness):
    _, token = harness.user()
    d = harness.device(token)
    r = harness.request("DELETE", f"/devices/{d['id']}", token=token)
    assert r.status_code == 204 and r.body == b""
    assert harness.request("GET", f"/devices/{d['id']}", token=token).status_code == 404
    assert harness.request("DELETE", f"/devices/{d['id']}", token=token).status_code == 404


def test_idempotent_create_replays_the_first_response(harness):
    _, token = harness.user()
    key = {"Idempotency-Key": unique("key-")}
    first = harness.request("POST", "/devices", {"name": "A", "kind": "co2"}, token, headers=key)
    again = harness.request("POST", "/devices", {"kind": "co2", "name": "A"}, token, headers=key)
    assert (again.status_code, again.json_body, again.headers["Location"]) == \
        (201, first.json_body, first.headers["Location"])
    assert len(harness.request("GET", "/devices", token=token).json_body["items"]) == 1
    other = harness.request("POST", "/devices", {"name": "B", "kind": "co2"}, token, headers=key)
    assert other.status_code == 422
    assert other.json_body["errors"][0]["field"] == "Idempotency-Key"


def test_idempotency_keys_are_scoped_per_user(harness):
    _, alice = harness.user()
    _, bob = harness.user()
    key = {"Idempotency-Key": unique("key-")}
    a = harness.request("POST", "/devices", {"name": "A", "kind": "co2"}, alice, headers=key)
    b = harness.request("POST", "/devices", {"name": "A", "kind": "co2"}, bob, headers=key)
    assert a.status_code == b.status_code == 201 and a.json_body["id"] != b.json_body["id"]


def test_failed_request_releases_the_idempotency_key(harness):
    _, token = harness.user()
    key = {"Idempotency-Key": unique("key-")}
    bad = harness.request("POST", "/devices", {"name": "", "kind": "co2"}, token, headers=key)
    assert bad.status_code == 422
    # The failed request stored no response under the key, so a corrected retry runs.
    good = harness.request("POST", "/devices", {"name": "A", "kind": "co2"}, token, headers=key)
    assert good.status_code == 201


def test_invalid_idempotency_key_is_422(harness):
    _, token = harness.user()
    r = harness.request("POST", "/devices", {"name": "A", "kind": "co2"}, token,
                        headers={"Idempotency-Key": "x" * 256})
    assert r.status_code == 422 and r.json_body["errors"][0]["field"] == "Idempotency-Key"
