from datetime import datetime, timedelta

import pytest

from homesense_core.clock import UTC
from homesense_core.idempotency import (IDEMPOTENCY_TTL_SECONDS, KEY_REUSED, PROCEED, REPLAY, decide,
                                        fingerprint, is_fresh, validate_key)
from homesense_core.problems import Conflict, ValidationFailed

T0 = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)

def test_idempotency_ttl_is_24_hours():
    assert IDEMPOTENCY_TTL_SECONDS == 24 * 3600


@pytest.mark.parametrize("key", ["a", "x" * 255, "key-1_2.3~!", "01HZZ"])
def test_validate_key_accepts_visible_ascii(key):
    assert validate_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\t", "ключ", "a\n", None])
def test_validate_key_rejects_others_on_the_header_field(key):
    with pytest.raises(ValidationFailed) as info:
        validate_key(key)
    assert [e.field for e in info.value.errors] == ["Idempotency-Key"]


def test_fingerprint_ignores_key_order_and_spacing():
    assert fingerprint("post", "/devices", {"a": 1, "b": [1, 2]}) == fingerprint("POST", "/devices", {"b": [1, 2], "a": 1})


def test_fingerprint_differs_by_method_path_and_body():
    base = fingerprint("POST", "/devices", {"a": 1})
    assert len({base, fingerprint("PATCH", "/devices", {"a": 1}), fingerprint("POST", "/devices/x", {"a": 1}),
                fingerprint("POST", "/devices", {"a": 2}), fingerprint("POST", "/devices", None)}) == 5


def test_a_record_answers_repeats_for_24_hours_only():
    assert is_fresh(T0, T0 + timedelta(seconds=IDEMPOTENCY_TTL_SECONDS - 1))
    assert not is_fresh(T0, T0 + timedelta(seconds=IDEMPOTENCY_TTL_SECONDS))


def test_decision_proceeds_without_a_fresh_record_and_replays_the_same_body():
    assert decide(None, "fp") == PROCEED
    assert decide("other", "fp", fresh=False) == PROCEED
    assert decide("fp", "fp") == REPLAY


def test_decision_refuses_a_reused_key_with_one_wording_on_the_header():
    with pytest.raises(ValidationFailed) as info:
        decide("other", "fp")
    assert [(e.field, e.message) for e in info.value.errors] == [("Idempotency-Key", KEY_REUSED)]
    assert KEY_REUSED == "was already used with a different request"


def test_decision_on_an_unfinished_first_request_is_a_conflict_unless_the_body_differs():
    with pytest.raises(Conflict):
        decide("fp", "fp", finished=False)
    with pytest.raises(ValidationFailed):
        decide("other", "fp", finished=False)
