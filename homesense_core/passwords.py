"""scrypt password hashes stored as scrypt$n$r$p$salt_b64$hash_b64."""

import base64
import hashlib
import hmac
import os

from .model import User
from .problems import bad_credentials

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_DKLEN = 32
_MAXMEM = 64 * 1024 * 1024

# Hash of a random, forgotten password: verifying unknown users against it costs the
# same time as a real check, so response timing does not reveal which usernames exist.
DUMMY_HASH = "scrypt$16384$8$1$/yzpFY0vnwULbMa5IxmhHQ==$pqKxEA8hpFcF4TeQ/bXDn9ZEm5nieKYgC8bRVWHkcB8="


def _derive(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    secret = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_MAXMEM)


def hash_password(password: str) -> str:
    """A new salted scrypt hash string."""
    salt = os.urandom(16)
    digest = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _DKLEN)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when password matches stored; a malformed stored hash is simply False."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        actual = _derive(password, salt, int(n), int(r), int(p), len(expected))
    except (AttributeError, TypeError, ValueError):
        return False
    return hmac.compare_digest(actual, expected)


def check_credentials(user: User | None, password: str) -> User:
    """The user if the password is theirs; bad_credentials() otherwise, after the same work.

    An unknown user is checked against DUMMY_HASH, so timing does not reveal which usernames exist.
    """
    valid = verify_password(password, user.password_hash if user is not None else DUMMY_HASH)
    if user is None or not valid:
        raise bad_credentials()
    return user
