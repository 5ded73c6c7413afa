"""POST /auth/token is throttled per username and per client with backoff; POST /users per client.

429 + Retry-After (a rate-limited problem) while locked, checked before the password, so the
right password is refused too; unknown usernames are throttled exactly like real ones.
Per-username limits are the defaults (5 failures); per-client and registration limits are
reached on the suite's second instance, started with low values (conftest.LOW_RATE_ENV).
"""
import time

import pytest
import requests

from contract_tests.support import assert_problem, describe, unique

pytestmark = pytest.mark.timeout(120)
FREE_FAILURES = 5


def _login(api, username, password):
    return api.post("/auth/token", json={"username": username, "password": password})


def _retry_after(r) -> int:
    value = r.headers.get("Retry-After", "")
    assert value.isdigit() and int(value) >= 1, describe(r)
    return int(value)


def test_five_wrong_passwords_lock_the_username_even_for_the_right_password(api):
    name = unique()
    api.create_user(name, "password1")
    for attempt in range(FREE_FAILURES):
        r = _login(api, name, "wrong-password")
        assert_problem(r, 401, "unauthorized")
    locked = _login(api, name, "password1")
    assert_problem(locked, 429, "rate-limited")
    wait = _retry_after(locked)
    time.sleep(wait + 0.2)
    assert _login(api, name, "password1").status_code == 200
    # The success started the name over: one more wrong password is a plain 401.
    assert_problem(_login(api, name, "wrong-password"), 401, "unauthorized")


def test_the_lock_doubles_with_each_further_failure(api):
    name = unique()
    api.create_user(name, "password1")
    for _ in range(FREE_FAILURES):
        _login(api, name, "wrong-password")
    waits = []
    for _ in range(2):
        locked = _login(api, name, "wrong-password")
        assert_problem(locked, 429, "rate-limited")
        waits.append(_retry_after(locked))
        time.sleep(waits[-1] + 0.2)
        assert_problem(_login(api, name, "wrong-password"), 401, "unauthorized")
    locked = _login(api, name, "password1")
    assert_problem(locked, 429, "rate-limited")
    waits.append(_retry_after(locked))
    assert waits[0] >= 1 and waits[1] >= 2 * waits[0] - 1 and waits[2] >= 2 * waits[1] - 1, waits


def test_an_unknown_username_is_throttled_like_a_real_one(api):
    # Otherwise 429 after five tries would tell which names exist.
    name = unique()
    answers = [_login(api, name, "wrong-password").status_code for _ in range(FREE_FAILURES + 1)]
    assert answers == [401] * FREE_FAILURES + [429]


def _refill(base):
    # The second instance also limits requests to 2/s (burst 5): start each test with a full bucket.
    time.sleep(3)


def test_a_client_failing_for_many_usernames_is_throttled_for_a_fresh_one(low_rate_stage):
    base = low_rate_stage.rstrip("/")
    _refill(base)
    refused = None
    for _ in range(5):  # 3 free failures, then locked; a few more in case a lock ran out
        r = requests.post(base + "/auth/token", json={"username": unique(), "password": "password1"}, timeout=30)
        if r.status_code == 429:
            refused = r
            break
        assert r.status_code == 401, describe(r)
    assert refused is not None, "no 429 after 5 failed logins for different usernames from one client"
    assert_problem(refused, 429, "rate-limited")
    _retry_after(refused)
    # The gateway's own limiter is not what refused it: other routes still answer.
    assert requests.get(base + "/health", timeout=30).status_code == 200


def test_registration_is_limited_per_client(low_rate_stage):
    base = low_rate_stage.rstrip("/")
    _refill(base)
    refused, created = None, []
    for _ in range(5):  # 3 per minute
        name = unique()
        r = requests.post(base + "/users", json={"username": name, "password": "password1"}, timeout=30)
        if r.status_code == 429:
            refused = (r, name)
            break
        assert r.status_code == 201, describe(r)
        created.append(name)
    assert refused is not None, "no 429 after 5 registrations from one client with a limit of 3 per minute"
    r, name = refused
    assert_problem(r, 429, "rate-limited")
    assert 1 <= _retry_after(r) <= 60
    assert len(created) <= 3
