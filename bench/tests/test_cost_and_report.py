"""The cost model's arithmetic and the report's target checks, on fixed inputs."""

import math

import pytest

from bench import cost, push, report


def test_stage3_line_items_follow_the_prices():
    prices = cost.load_prices()
    items = cost.stage3_per_million(prices)
    # API Gateway is billed per call: exactly its list price per million.
    assert items["api_gateway_rest"] == prices["api_gateway"]["rest_per_million_requests"]
    # 2 functions per call + one stream batch per 10 writes, at $0.20 per million invocations.
    assert items["lambda_requests"] == pytest.approx((2 + 0.2 / 10) * 0.20)
    doubled = {**prices, "lambda": {**prices["lambda"], "per_gb_second": prices["lambda"]["per_gb_second"] * 2}}
    assert cost.stage3_per_million(doubled)["lambda_gb_seconds"] == pytest.approx(2 * items["lambda_gb_seconds"])


def test_break_even_is_where_the_per_request_line_meets_the_flat_one():
    m = cost.model()
    per = m["stage3_usd_per_million"]
    for key, flat in (("stage3_vs_stage1", sum(m["stage1_monthly"].values())),
                      ("stage3_vs_stage2", sum(m["stage2_monthly"].values()))):
        volume = m["break_even_requests_per_month"][key]
        assert math.isclose(volume / 1e6 * per, flat, rel_tol=0.01)
    assert m["monthly"]["100000000"]["stage3"] == pytest.approx(100 * per, rel=0.01)
    assert m["polling_vs_push"]["polling_requests_per_min"] == 60
    assert m["polling_vs_push"]["polling_usd_per_client_month"] > 100 * m["polling_vs_push"]["push_usd_per_client_month"]


def test_prices_are_dated():
    assert cost.load_prices()["as_of"]


def test_targets_flag_a_miss_and_a_pass():
    results = {
        "stage1": {"get_by_id_c16": {"rps": 400.0, "p50_ms": 30.0, "errors": 0},
                   "post_500_c1": {"p50_ms": 86.0, "p95_ms": 140.0}},
        "baseline": {"jwt_get_c16": {"rps": 450.0}},
        "stage3": {"push_mixed_c16": {"errors": 0, "lost_pushes": 1, "seconds": 60, "p99_ms": 300.0}},
    }
    met = {name: ok for name, _, _, ok in report.targets(results)}
    assert met["stage 1 GET by id vs Flask+PyJWT+sqlite3, 16 clients"] is True   # 0.89x
    assert met["stage 1 POST of 500 readings p50"] is False
    assert met["stage 3, 16 clients: errors and lost pushes"] is False
    assert met["stage 3, 16 clients: push p99"] is True


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert push.percentile(values, 50) == 50.0
    assert push.percentile(values, 99) == 99.0
    assert push.percentile([], 50) is None
