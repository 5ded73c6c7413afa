import math
from datetime import datetime, timedelta

from homesense_core.clock import UTC
from homesense_core.summary import summarize

T0 = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)


def test_summary_of_nothing_is_count_zero_and_nulls():
    assert summarize([]) == {"count": 0, "min": None, "max": None, "mean": None,
                             "first_recorded_at": None, "last_recorded_at": None}


def test_summary_aggregates_values_and_time_range_in_any_order():
    readings = [(3, T0 + timedelta(seconds=2)), (1.5, T0), (-4.5, T0 + timedelta(seconds=1))]
    assert summarize(iter(readings)) == {
        "count": 3, "min": -4.5, "max": 3.0, "mean": 0.0,
        "first_recorded_at": "2026-11-27T09:00:00.000Z", "last_recorded_at": "2026-11-27T09:00:02.000Z"}


def test_summary_mean_is_a_float_and_survives_huge_values():
    assert isinstance(summarize([(2, T0)])["mean"], float)
    assert summarize([(1e308, T0), (1e308, T0)])["mean"] == 1e308
    assert math.isclose(summarize([(0.1, T0)] * 10)["mean"], 0.1)
