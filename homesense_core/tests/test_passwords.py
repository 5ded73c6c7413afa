from datetime import datetime

import pytest

from homesense_core.passwords import DUMMY_HASH, hash_password, verify_password
from homesense_core.problems import Unauthorized


def test_password_hash_verifies_only_the_same_password():
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsf", stored)
    assert not verify_password("", stored)


def test_password_hashes_are_salted():
    assert hash_password("same password") != hash_password("same password")


def test_password_hash_handles_unicode_passwords():
    stored = hash_password("pässwörd✓")
    assert verify_password("pässwörd✓", stored) and not verify_password("passwortd", stored)


@pytest.mark.parametrize("stored", ["", "plain", "bcrypt$1$2$3$a$b", "scrypt$x$8$1$AAAA$AAAA",
                                    "scrypt$16384$8$1$!!$AAAA", None, 5])
def test_verify_password_is_false_for_malformed_hashes(stored):
    assert verify_password("password", stored) is False


def test_dummy_hash_is_well_formed_and_matches_nothing_guessable():
    assert DUMMY_HASH.startswith("scrypt$16384$8$1$")
    assert not verify_password("password", DUMMY_HASH)
    assert not verify_password("", DUMMY_HASH)


def test_check_credentials_gives_one_answer_for_unknown_user_and_wrong_password():
    from datetime import timezone

    from homesense_core.model import User
    from homesense_core.passwords import check_credentials
    user = User("u1", "alice", hash_password("password1"), datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert check_credentials(user, "password1") is user
    details = []
    for candidate, password in ((user, "password2"), (None, "password1")):
        with pytest.raises(Unauthorized) as info:
            check_credentials(candidate, password)
        details.append(info.value.detail)
    assert details == ["Unknown user or wrong password."] * 2
