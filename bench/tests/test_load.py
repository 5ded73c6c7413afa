"""The load check's own rules: which pushes a batch must cause, batches that keep the books exact, verdicts."""

import itertools
import random

import pytest

from bench import load


@pytest.mark.parametrize("values, pushes", [
    ([20.0], []),
    ([16.0, 28.0, 20.0], []),  # a value equal to a threshold is inside
    ([10.0, 10.5, 20.0], [("alert.opened", "low"), ("alert.resolved", "low")]),  # one active alert per kind
    ([10.0, 40.0, 20.0], [("alert.opened", "low"), ("alert.opened", "high"),
                          ("alert.resolved", "low"), ("alert.resolved", "high")]),  # the other kind does not resolve
    ([40.0, 20.0, 10.0, 20.0], [("alert.opened", "high"), ("alert.resolved", "high"),
                                ("alert.opened", "low"), ("alert.resolved", "low")]),
])
def test_a_batch_causes_the_pushes_of_the_contract_alert_rules(values, pushes):
    assert load.pushes_of_batch(values) == pushes


def test_a_batch_left_outside_the_thresholds_is_refused():
    with pytest.raises(ValueError):
        load.pushes_of_batch([20.0, 10.0])


def test_batches_end_inside_hold_unique_values_and_a_third_cross():
    rng, seq = random.Random(7), itertools.count(1)
    batches = [load.make_batch(rng, lambda: next(seq)) for _ in range(3000)]
    values = [v for b in batches for v in b]
    assert len(values) == len(set(values))  # one value stored twice or lost shows in a listing
    assert all(1 <= len(b) <= 20 for b in batches)
    assert all(load.LOW_THRESHOLD <= b[-1] <= load.HIGH_THRESHOLD for b in batches)
    crossing = sum(1 for b in batches if load.pushes_of_batch(b))
    assert 0.25 < crossing / len(batches) < 0.42


def test_percentile_is_nearest_rank():
    assert load.percentile([], 50) is None
    assert load.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert load.percentile([float(i) for i in range(1, 101)], 99) == 99.0


def _result(**changes):
    base = {"five_xx": 0, "no_answer": 0, "failures": 0, "first_failures": [], "readings_accepted": 10,
            "alerts_expected": 2}
    return {**base, **changes}


def test_the_verdict_fails_on_5xx_silence_broken_books_and_vacuous_runs():
    assert load.verdict(_result()) == []
    assert load.verdict(_result(five_xx=1))
    assert load.verdict(_result(no_answer=1))
    assert load.verdict(_result(failures=1, first_failures=["lost push"]))
    assert load.verdict(_result(alerts_expected=0))
    assert load.verdict({"crashed": "did not start"})
