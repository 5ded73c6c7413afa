import base64
import json

import pytest

from homesense_core import cursor
from homesense_core.cursor import check_cursor, decode_cursor, encode_cursor
from homesense_core.problems import ValidationFailed


def test_cursor_round_trips_a_flat_payload():
    payload = {"t": "2026-11-27T09:00:00.000Z", "seq": 42, "id": "01ABC", "x": None, "f": 1.5, "b": True}
    token = encode_cursor(payload)
    assert decode_cursor(token) == payload


def test_cursor_is_url_safe_and_unpadded():
    token = encode_cursor({"id": "ü" * 10, "k": "?&/+="})
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_encode_cursor_refuses_nested_values():
    with pytest.raises(TypeError):
        encode_cursor({"a": [1]})


def assert_rejected(token):
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(token)
    assert [e.field for e in info.value.errors] == ["cursor"]


@pytest.mark.parametrize("token", ["", "!!!", "a", "abc=", "x" * 2000, "eyJhIjoxfQ", "ÿÿÿÿ", "AAAA AAAA", None, 5])
def test_decode_cursor_rejects_garbage(token):
    assert_rejected(token)


def test_decode_cursor_rejects_a_flipped_character():
    token = encode_cursor({"id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "seq": 7})
    for i in range(len(token)):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert_rejected(flipped)


def test_decode_cursor_rejects_a_hand_made_payload_without_checksum():
    forged = base64.urlsafe_b64encode(json.dumps({"id": "other"}).encode()).rstrip(b"=").decode()
    assert_rejected(forged)


def test_decode_cursor_rejects_truncation_and_extension():
    token = encode_cursor({"id": "abc"})
    assert_rejected(token[:-1])
    assert_rejected(token + "A")


def test_check_cursor_requires_exact_keys_and_types():
    assert check_cursor({"id": "a", "seq": 1}, {"id": str, "seq": int}) == {"id": "a", "seq": 1}
    for bad in ({"id": "a"}, {"id": "a", "seq": "1"}, {"id": "a", "seq": True},
                {"id": "a", "seq": 1, "more": 2}):
        with pytest.raises(ValidationFailed):
            check_cursor(bad, {"id": str, "seq": int})
    assert check_cursor({"v": None}, {"v": (str, type(None))}) == {"v": None}


def test_keyset_page_cuts_the_extra_row_and_points_the_cursor_at_the_last_served_row():
    rows = [("2026-01-01T00:00:00.000Z", n) for n in range(4)]
    page = cursor.keyset_page(rows, 3, lambda r: {"n": r[1]}, lambda r: {"t": r[0], "s": r[1]})
    assert page["items"] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert cursor.decode_cursor(page["next_cursor"]) == {"t": "2026-01-01T00:00:00.000Z", "s": 2}


def test_keyset_page_without_an_extra_row_is_the_last_page():
    page = cursor.keyset_page([1, 2], 2, lambda r: {"n": r}, lambda r: {"k": r})
    assert page == {"items": [{"n": 1}, {"n": 2}], "next_cursor": None}
    assert cursor.keyset_page([], 5, lambda r: r, lambda r: r) == {"items": [], "next_cursor": None}


def test_keyset_position_reads_the_timestamp_and_tiebreak():
    when, seq = cursor.keyset_position({"t": "2026-01-01T00:00:00.123Z", "s": 7}, "t", "s", int)
    assert (when.isoformat(), seq) == ("2026-01-01T00:00:00.123000+00:00", 7)
    assert cursor.keyset_position(None, "t", "s", int) is None


@pytest.mark.parametrize("payload", [
    {"t": "yesterday", "s": 1},            # not a timestamp
    {"t": "2026-01-01T00:00:00Z", "s": "1"},  # tiebreak of the wrong type
    {"t": "2026-01-01T00:00:00Z", "s": True},  # bool is not an int
    {"t": "2026-01-01T00:00:00Z"},         # missing key
    {"t": "2026-01-01T00:00:00Z", "s": 1, "x": 2},  # extra key
])
def test_keyset_position_rejects_a_malformed_cursor_on_field_cursor(payload):
    with pytest.raises(ValidationFailed) as caught:
        cursor.keyset_position(payload, "t", "s", int)
    assert [e.field for e in caught.value.errors] == ["cursor"]


# --- per-resource keysets ------------------------------------------------------

def test_each_resource_has_one_cursor_naming():
    from datetime import datetime, timezone
    from types import SimpleNamespace


    from homesense_core.cursor import ALERTS, DEVICES, READINGS
    at = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc)
    row = SimpleNamespace(created_at=at, opened_at=at, recorded_at=at, id="x1", seq=4)
    assert DEVICES.of(row) == {"t": "2026-01-02T03:04:05.006Z", "i": "x1"}
    assert ALERTS.of(row) == {"t": "2026-01-02T03:04:05.006Z", "i": "x1"}
    assert READINGS.of(row) == {"t": "2026-01-02T03:04:05.006Z", "s": 4}
    assert READINGS.position(decode_cursor(encode_cursor(READINGS.of(row)))) == (at, 4)
    assert DEVICES.position(None) is None
    with pytest.raises(ValidationFailed):
        READINGS.position({"t": "2026-01-02T03:04:05.006Z", "s": "4"})
