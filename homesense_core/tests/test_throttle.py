"""The login throttle and registration budget rules (pure: records and a clock)."""

import pytest

from homesense_core.problems import RateLimited
from homesense_core.throttle import (AccountThrottle, Backoff, MemoryThrottleStore, RegistrationLimit,
                                     ThrottlePolicy, after_failure, retry_after)

T0 = 1_800_000_000.0


def test_locks_from_the_fifth_failure_and_doubles_each_time_up_to_the_cap():
    policy, record, locks = Backoff(free_failures=5, max_seconds=8), None, []
    for _ in range(9):
        record = after_failure(policy, record, T0)
        locks.append(retry_after(record, T0))
    assert locks == [0, 0, 0, 0, 1, 2, 4, 8, 8]


def test_a_key_is_forgotten_after_an_hour_without_failures():
    policy = Backoff(free_failures=2)
    record = after_failure(policy, after_failure(policy, None, T0), T0)
    assert record.failures == 2 and retry_after(record, T0) == 1
    assert after_failure(policy, record, T0 + 3601).failures == 1


def _throttle(**policy):
    return AccountThrottle(MemoryThrottleStore(), ThrottlePolicy(**policy))


def test_a_locked_username_is_refused_with_retry_after_even_with_the_right_password_then_recovers():
    throttle = _throttle()
    for _ in range(5):
        throttle.check_login("Alice", "10.0.0.1", T0)
        throttle.login_failed("Alice", "10.0.0.1", T0)
    with pytest.raises(RateLimited) as refused:
        throttle.check_login("alice", "10.0.0.2", T0 + 0.5)  # any case, any client
    assert refused.value.headers == {"Retry-After": "1"} and refused.value.status == 429
    throttle.check_login("alice", "10.0.0.2", T0 + 1)
    throttle.login_succeeded("alice", T0 + 1)
    throttle.login_failed("alice", "10.0.0.2", T0 + 2)
    throttle.check_login("alice", "10.0.0.2", T0 + 2)  # the success started the name over


def test_a_client_spraying_many_usernames_is_locked_for_every_username():
    throttle = _throttle(per_client=Backoff(free_failures=3))
    for name in ("a1", "b2", "c3"):
        throttle.login_failed(name, "10.0.0.9", T0)
    with pytest.raises(RateLimited):
        throttle.check_login("fresh-name", "10.0.0.9", T0)
    throttle.check_login("fresh-name", "10.0.0.10", T0)


def test_registrations_are_limited_per_client_per_window():
    throttle = _throttle(registration=RegistrationLimit(registrations=3, window_seconds=60))
    for _ in range(3):
        throttle.check_registration("10.0.0.1", T0)
    with pytest.raises(RateLimited) as refused:
        throttle.check_registration("10.0.0.1", T0 + 10)
    assert refused.value.headers["Retry-After"] == "50"
    throttle.check_registration("10.0.0.2", T0 + 10)
    throttle.check_registration("10.0.0.1", T0 + 60)


def test_policy_from_env_reads_positive_integers_only():
    policy = ThrottlePolicy.from_env({"HOMESENSE_LOGIN_CLIENT_FREE_FAILURES": "7",
                                      "HOMESENSE_REGISTRATIONS_PER_MINUTE": "4"})
    assert (policy.per_username.free_failures, policy.per_client.free_failures,
            policy.registration.registrations) == (5, 7, 4)
    with pytest.raises(ValueError):
        ThrottlePolicy.from_env({"HOMESENSE_LOGIN_USER_FREE_FAILURES": "0"})
