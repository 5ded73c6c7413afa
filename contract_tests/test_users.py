"""POST /users and GET /me: registration rules and the caller's own profile."""
import uuid
from datetime import timedelta

import pytest

from contract_tests.support import (ID_RE, USER_KEYS, assert_problem, assert_validation, describe,
                                    now_utc, parse_ts, unique)

pytestmark = pytest.mark.timeout(60)


def test_register_returns_201_with_id_username_and_ms_utc_created_at(api):
    name = unique()
    before = now_utc()
    r = api.post("/users", json={"username": name, "password": "correct horse"})
    assert r.status_code == 201, describe(r)
    body = r.json()
    assert set(body) == USER_KEYS, body
    assert ID_RE.match(body["id"])
    assert body["username"] == name
    created = parse_ts(body["created_at"])
    # Generous window: the deployment's clock may differ a little from ours.
    assert before - timedelta(minutes=5) <= created <= now_utc() + timedelta(minutes=5)


def test_register_gives_distinct_ids(api):
    a, b = api.create_user(), api.create_user()
    assert a["id"] != b["id"]


def test_taken_username_is_409_and_keeps_the_first_password(api):
    name, pw = unique(), "first-password"
    api.create_user(name, pw)
    r = api.post("/users", json={"username": name, "password": "second-password"})
    assert_problem(r, 409, "conflict")
    assert api.post("/auth/token", json={"username": name, "password": pw}).status_code == 200
    r = api.post("/auth/token", json={"username": name, "password": "second-password"})
    assert_problem(r, 401, "unauthorized")


def test_username_of_32_allowed_chars_is_accepted(api):
    name = "a.b_c-" + uuid.uuid4().hex[:26]
    assert len(name) == 32
    r = api.post("/users", json={"username": name, "password": "password1"})
    assert r.status_code == 201, describe(r)
    assert r.json()["username"] == name


def test_username_of_3_chars_passes_validation(api):
    # Three characters cannot be unique across runs on a long-lived deployment: 409 (taken) also
    # proves the name passed validation; 422 would not.
    name = uuid.uuid4().hex[:3]
    r = api.post("/users", json={"username": name, "password": "password1"})
    assert r.status_code in (201, 409), describe(r)


@pytest.mark.parametrize("username", [
    "ab", "a" * 33, "Upper" + uuid.uuid4().hex[:6], "with space", "bad/slash", "ümlaut", "", None, 123,
])
def test_invalid_username_is_422_on_field_username(api, username):
    r = api.post("/users", json={"username": username, "password": "password1"})
    assert_validation(r, "username")


@pytest.mark.parametrize("password", ["x" * 8, "y" * 128])
def test_password_at_the_bounds_is_accepted(api, password):
    r = api.post("/users", json={"username": unique(), "password": password})
    assert r.status_code == 201, describe(r)


@pytest.mark.parametrize("password", ["x" * 7, "y" * 129, "", None, 12345678])
def test_invalid_password_is_422_on_field_password(api, password):
    name = unique()
    r = api.post("/users", json={"username": name, "password": password})
    assert_validation(r, "password")
    # A failed request changes nothing: the name is still free.
    assert api.post("/users", json={"username": name, "password": "password1"}).status_code == 201


def test_missing_fields_are_422_naming_each(api):
    assert_validation(api.post("/users", json={}), "username", "password")


def test_unknown_field_is_422_naming_it(api):
    r = api.post("/users", json={"username": unique(), "password": "password1", "is_admin": True})
    assert_validation(r, "is_admin")


def test_json_that_is_not_an_object_is_422(api):
    r = api.post("/users", json=["username", "password"])
    assert_validation(r, "")


def test_me_returns_the_callers_profile(api, make_user):
    u = make_user()
    r = api.get("/me", user=u)
    assert r.status_code == 200, describe(r)
    assert r.json() == {"id": u.id, "username": u.username, "created_at": u.created_at}


def test_me_of_two_users_differ(api, make_user):
    a, b = make_user(), make_user()
    assert api.get("/me", user=a).json()["id"] == a.id
    assert api.get("/me", user=b).json()["id"] == b.id
