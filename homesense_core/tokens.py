"""RS256 access tokens: issue with a private key, verify against a JWKS."""

import base64
import functools
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .clock import UTC, utcnow
from .ids import is_valid_id
from .problems import Unauthorized

DEFAULT_TOKEN_TTL = MAX_TOKEN_TTL = 3600
ISSUER = "homesense"
AUDIENCE = "homesense-api"
ALGORITHM = "RS256"

# Every token failure (missing, malformed, forged, expired, not yet valid, too long-lived, wrong
# audience) says the same thing: the reason helps an attacker probe and never helps a client,
# whose only remedy is a fresh token. Envoy and API Gateway answer with this sentence too.
TOKEN_FAILURE_DETAIL = "A valid bearer token is required."

# Tokens whose signature was verified, remembered per process (a few hundred bytes each).
VERIFIED_CACHE_SIZE = 4096

_BEARER_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*\Z")  # RFC 6750 b64token


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 SHA-256 thumbprint of an RSA JWK (used as its kid)."""
    # Required members only, lexicographic order, no whitespace.
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]},
                           separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class SigningKey:
    """An RSA private key plus its public JWK; kid is the RFC 7638 thumbprint."""

    def __init__(self, private_key: rsa.RSAPrivateKey):
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise TypeError("an RSA private key is required")
        self._private = private_key
        numbers = private_key.public_key().public_numbers()
        self._n, self._e = _b64uint(numbers.n), _b64uint(numbers.e)
        self.kid = jwk_thumbprint({"kty": "RSA", "n": self._n, "e": self._e})

    @classmethod
    def generate(cls, key_size: int = 2048) -> "SigningKey":
        """A fresh RSA key."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=key_size))

    @classmethod
    def from_pem(cls, pem: str | bytes) -> "SigningKey":
        """Load an unencrypted PEM private key."""
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        return cls(serialization.load_pem_private_key(data, password=None))

    def private_pem(self) -> str:
        """Unencrypted PKCS#8 PEM, for storing the key in a data dir or secret."""
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode("ascii")

    def public_jwk(self) -> dict:
        """The public key as a JWK."""
        return {"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": self.kid,
                "n": self._n, "e": self._e}

    def jwks(self) -> dict:
        """A JWK set holding the public key, as served at /.well-known/jwks.json."""
        return {"keys": [self.public_jwk()]}


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    user_id: str
    username: str
    expires_at: datetime


class TokenIssuer:
    """Signs access tokens."""

    def __init__(self, key: SigningKey, issuer: str = ISSUER, audience: str = AUDIENCE):
        self.key, self.issuer, self.audience = key, issuer, audience

    def issue(self, user_id: str, username: str, expires_in: int = DEFAULT_TOKEN_TTL,
              now: datetime | None = None) -> str:
        """A signed JWT valid for expires_in seconds from now."""
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) \
                or not 1 <= expires_in <= MAX_TOKEN_TTL:
            raise ValueError(f"expires_in must be 1..{MAX_TOKEN_TTL}")
        iat = int((now or utcnow()).timestamp())
        claims = {"sub": user_id, "preferred_username": username, "iss": self.issuer,
                  "aud": self.audience, "iat": iat, "exp": iat + expires_in}
        return jwt.encode(claims, self.key._private, algorithm=ALGORITHM,
                          headers={"kid": self.key.kid})


class TokenVerifier:
    """Checks tokens against a JWKS; only RS256 with a known kid is accepted."""

    def __init__(self, jwks: dict, issuer: str = ISSUER, audience: str = AUDIENCE):
        self.issuer, self.audience = issuer, audience
        self._keys = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and isinstance(jwk.get("kid"), str):
                self._keys[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        if not self._keys:
            raise ValueError("the JWKS holds no RSA key with a kid")
        # Per verifier (so per key set); lru_cache is thread-safe and bounded.
        self._signed_claims = functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)(self._check_signed)

    def verify(self, token: str, now: datetime | None = None) -> Claims:
        """Claims of a valid token; Unauthorized (one generic detail) for anything else.

        exp is required; nbf, when present, must have passed; and no token lives longer than
        MAX_TOKEN_TTL, even one signed with the real key (exp - iat and exp - now are both capped),
        so a leaked key or a bug in an issuer cannot mint long-lived credentials.
        """
        if not isinstance(token, str) or not token:
            raise Unauthorized(TOKEN_FAILURE_DETAIL)
        exp, iat, nbf, sub, name = self._signed_claims(token)
        # The time checks run on every call, against the injectable clock, without leeway.
        at = (now or utcnow()).timestamp()
        if at >= exp or (nbf is not None and at < nbf) \
                or exp - iat > MAX_TOKEN_TTL or exp - at > MAX_TOKEN_TTL:
            raise Unauthorized(TOKEN_FAILURE_DETAIL)
        return Claims(sub, name, datetime.fromtimestamp(exp, UTC))

    def _check_signed(self, token: str) -> tuple:
        """(exp, iat, nbf, sub, name) of a token whose signature, issuer, audience and claim
        types hold. A client sends the same token with every request until it expires, and the
        RSA check plus PyJWT's parsing is the largest cost of a cheap GET, so the outcome is
        remembered per exact token string (as Envoy's jwt_authn caches verified tokens): a
        tampered token is another string and is checked in full. Failures are not remembered."""
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if header.get("alg") != ALGORITHM or not isinstance(kid, str) or kid not in self._keys:
                raise Unauthorized(TOKEN_FAILURE_DETAIL)
            claims = jwt.decode(
                token, self._keys[kid], algorithms=[ALGORITHM], audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"],
                         "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise Unauthorized(TOKEN_FAILURE_DETAIL) from exc
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", None)
        sub, name = claims.get("sub"), claims.get("preferred_username")
        if not _is_int(exp) or not _is_int(iat) or (nbf is not None and not _is_int(nbf)) \
                or not is_valid_id(sub) or not isinstance(name, str):
            raise Unauthorized(TOKEN_FAILURE_DETAIL)
        return exp, iat, nbf, sub, name


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def bearer_token(authorization_header: str | None) -> str:
    """The token of an "Authorization: Bearer <t>" header; Unauthorized if absent or malformed."""
    if not authorization_header or not isinstance(authorization_header, str):
        raise Unauthorized(TOKEN_FAILURE_DETAIL)
    parts = authorization_header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or _BEARER_RE.match(parts[1]) is None:
        raise Unauthorized(TOKEN_FAILURE_DETAIL)
    return parts[1]


# --- service-to-service calls ----------------------------------------------------------------
# Header carrying the deployment's shared secret on /internal calls (never routed by a gateway):
# stage 2's devices service and, during the migration, the monolith's device facade check it.
SERVICE_TOKEN_HEADER = "x-homesense-service-token"


def check_service_token(presented: str | None, expected: str | None) -> None:
    """Unauthorized unless presented equals the deployment's service token (constant time).

    No expected token configured refuses everyone: a wiring mistake must not open the route.
    """
    if not expected or not presented or not hmac.compare_digest(
            presented.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise Unauthorized()
