import pytest

from homesense_core.ids import ID_RE, is_valid_id, new_id


def test_new_id_is_a_valid_26_char_ulid_and_sortable_over_time():
    a = new_id()
    assert len(a) == 26 and is_valid_id(a) and ID_RE.match(a)
    assert len({new_id() for _ in range(100)}) == 100


@pytest.mark.parametrize("value, ok", [
    ("a", True), ("A_b-9", True), ("x" * 64, True), ("x" * 65, False), ("", False),
    ("a/b", False), ("a b", False), ("abc\n", False), ("é", False), (None, False), (5, False),
])
def test_is_valid_id_follows_the_contract_pattern(value, ok):
    assert is_valid_id(value) is ok
