import pytest

from homesense_core.ratelimit import DEFAULT_BURST, DEFAULT_RATE, TokenBucket

class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_then_refuses_with_retry_after():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [(True, 0)] * 3
    assert bucket.take() == (False, 1)


def test_bucket_refills_at_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=1, clock=clock)
    assert bucket.take()[0]
    assert not bucket.take()[0]
    clock.now += 0.5
    assert bucket.take() == (True, 0)


def test_retry_after_is_a_ceiled_integer_of_at_least_one():
    clock = FakeClock()
    bucket = TokenBucket(rate=0.1, burst=1, clock=clock)
    bucket.take()
    assert bucket.take() == (False, 10)
    clock.now += 3.5
    assert bucket.take() == (False, 7)
    fast = TokenBucket(rate=1000, burst=1, clock=clock)
    fast.take()
    assert fast.take() == (False, 1)


def test_buckets_are_per_key():
    bucket = TokenBucket(rate=1, burst=1, clock=FakeClock())
    assert bucket.take("a")[0] and bucket.take("b")[0]
    assert not bucket.take("a")[0]


def test_burst_caps_accumulated_tokens():
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    clock.now += 3600
    assert [bucket.take()[0] for _ in range(3)] == [True, True, False]


def test_bucket_forgets_idle_keys_when_many_clients_appear():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    for i in range(10000):
        bucket.take(f"k{i}")
    clock.now += 10
    bucket.take("newcomer")
    assert len(bucket._buckets) < 100
    assert not bucket.take("newcomer")[0]


@pytest.mark.parametrize("rate, burst", [(0, 1), (-1, 1), (1, 0)])
def test_bucket_rejects_nonsense_settings(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_rate_limit_defaults_are_generous():
    assert (DEFAULT_RATE, DEFAULT_BURST) == (1000.0, 2000)
