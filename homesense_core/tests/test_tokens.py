import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from homesense_core.clock import UTC
from homesense_core.problems import Unauthorized
from homesense_core.tokens import (DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, SigningKey, TokenIssuer,
                                   TokenVerifier, bearer_token, jwk_thumbprint)

NOW = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key():
    return SigningKey.generate()


@pytest.fixture(scope="module")
def other_key():
    return SigningKey.generate()


@pytest.fixture
def issuer(key):
    return TokenIssuer(key)


@pytest.fixture
def verifier(key):
    return TokenVerifier(key.jwks())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(signature)


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def test_issued_token_verifies_to_user_and_expiry(issuer, verifier):
    token = issuer.issue("01USER", "alice", 600, NOW)
    claims = verifier.verify(token, now=NOW)
    assert (claims.user_id, claims.username) == ("01USER", "alice")
    assert claims.expires_at == NOW + timedelta(seconds=600)


def test_issued_token_carries_contract_claims_and_kid(issuer, key):
    token = issuer.issue("01USER", "alice", 3600, NOW)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    assert claims_of(token) == {"sub": "01USER", "preferred_username": "alice", "iss": "homesense",
                                "aud": "homesense-api", "iat": int(NOW.timestamp()),
                                "exp": int(NOW.timestamp()) + 3600}


def test_token_ttl_constants():
    assert DEFAULT_TOKEN_TTL == MAX_TOKEN_TTL == 3600


@pytest.mark.parametrize("expires_in", [0, 3601, True, 1.0])
def test_issue_refuses_out_of_range_lifetimes(issuer, expires_in):
    with pytest.raises(ValueError):
        issuer.issue("01USER", "alice", expires_in, NOW)


def test_token_expires_exactly_at_exp_without_leeway(issuer, verifier):
    token = issuer.issue("01USER", "alice", 60, NOW)
    assert verifier.verify(token, now=NOW + timedelta(seconds=59, milliseconds=999))
    with pytest.raises(Unauthorized):
        verifier.verify(token, now=NOW + timedelta(seconds=60))


def test_verify_uses_the_real_clock_by_default(issuer, verifier):
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    with pytest.raises(Unauthorized):
        verifier.verify(issuer.issue("01USER", "alice", 3600, two_hours_ago))
    fresh = issuer.issue("01USER", "alice", 60)
    assert verifier.verify(fresh).user_id == "01USER"


def test_kid_is_the_rfc7638_thumbprint(key):
    jwk = key.public_jwk()
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    assert key.kid == b64(hashlib.sha256(canonical.encode()).digest())
    assert jwk["kid"] == key.kid and jwk["alg"] == "RS256" and jwk["use"] == "sig"
    assert jwk["e"] == "AQAB"
    assert key.jwks() == {"keys": [jwk]}
    assert "d" not in jwk


def test_jwk_thumbprint_matches_rfc7638_example_vector():
    # The example key of RFC 7638 section 3.1 and its published thumbprint.
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
         "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
         "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
         "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    jwk = {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_signing_key_round_trips_through_pem(key, issuer):
    loaded = SigningKey.from_pem(key.private_pem())
    assert loaded.kid == key.kid
    assert key.private_pem().startswith("-----BEGIN PRIVATE KEY-----")
    token = TokenIssuer(loaded).issue("01USER", "alice", 60, NOW)
    assert TokenVerifier(key.jwks()).verify(token, now=NOW).user_id == "01USER"


def test_token_signed_by_another_key_with_the_same_kid_is_refused(key, other_key, verifier):
    token = TokenIssuer(other_key).issue("01USER", "alice", 60, NOW)
    header, payload, signature = token.split(".")
    swapped = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": key.kid}).encode())
    with pytest.raises(Unauthorized):
        verifier.verify(".".join([swapped, payload, signature]), now=NOW)


def test_token_with_unknown_kid_is_refused(other_key, verifier):
    with pytest.raises(Unauthorized):
        verifier.verify(TokenIssuer(other_key).issue("01USER", "alice", 60, NOW), now=NOW)


def test_tampered_claims_are_refused(issuer, verifier):
    header, payload, signature = issuer.issue("01USER", "alice", 60, NOW).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "01MALLORY"
    with pytest.raises(Unauthorized):
        verifier.verify(".".join([header, b64(json.dumps(claims).encode()), signature]), now=NOW)


def test_tampered_signature_is_refused(issuer, verifier):
    token = issuer.issue("01USER", "alice", 60, NOW)
    last = "A" if token[-5] != "A" else "B"
    with pytest.raises(Unauthorized):
        verifier.verify(token[:-5] + last + token[-4:], now=NOW)


def test_alg_none_is_refused(key, verifier):
    claims = claims_of(TokenIssuer(key).issue("01USER", "alice", 60, NOW))
    for alg in ("none", "None", "NONE"):
        with pytest.raises(Unauthorized):
            verifier.verify(forge({"alg": alg, "kid": key.kid}, claims), now=NOW)


def test_hs256_signed_with_the_public_key_is_refused(key, verifier):
    claims = claims_of(TokenIssuer(key).issue("01USER", "alice", 60, NOW))
    public_pem = key._private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()
    for secret in (public_pem, json.dumps(key.public_jwk()).encode()):
        sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
        with pytest.raises(Unauthorized):
            verifier.verify(signing_input.decode() + "." + b64(sig), now=NOW)


@pytest.mark.parametrize("issuer_name, audience", [("evil", "homesense-api"), ("homesense", "other-api")])
def test_wrong_issuer_or_audience_is_refused(key, verifier, issuer_name, audience):
    token = TokenIssuer(key, issuer=issuer_name, audience=audience).issue("01USER", "alice", 60, NOW)
    with pytest.raises(Unauthorized):
        verifier.verify(token, now=NOW)


@pytest.mark.parametrize("drop", ["exp", "iat", "sub", "iss", "aud", "preferred_username"])
def test_tokens_missing_a_required_claim_are_refused(key, verifier, drop):
    claims = {"sub": "01USER", "preferred_username": "alice", "iss": "homesense",
              "aud": "homesense-api", "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    del claims[drop]
    token = jwt.encode(claims, key._private, algorithm="RS256", headers={"kid": key.kid})
    with pytest.raises(Unauthorized):
        verifier.verify(token, now=NOW)


@pytest.mark.parametrize("field, value", [("sub", "bad/id"), ("sub", 7), ("exp", "later"),
                                          ("preferred_username", None)])
def test_tokens_with_malformed_claims_are_refused(key, verifier, field, value):
    claims = {"sub": "01USER", "preferred_username": "alice", "iss": "homesense",
              "aud": "homesense-api", "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    claims[field] = value
    token = forge({"alg": "RS256", "kid": key.kid}, claims)
    header_payload = token.rsplit(".", 1)[0]
    sig = key._private.sign(header_payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(Unauthorized):
        verifier.verify(header_payload + "." + b64(sig), now=NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "....", None, 42,
                                   "eyJhbGciOiJSUzI1NiJ9.e30.", "eyJraWQiOlsxXX0.e30.c2ln"])
def test_garbage_tokens_are_refused(verifier, token):
    with pytest.raises(Unauthorized) as info:
        verifier.verify(token, now=NOW)
    assert info.value.headers == {"WWW-Authenticate": "Bearer"}


def test_verifier_needs_a_jwks_with_an_rsa_key():
    with pytest.raises(ValueError):
        TokenVerifier({"keys": []})


@pytest.mark.parametrize("header, token", [("Bearer abc.def.ghi", "abc.def.ghi"),
                                           ("bearer abc", "abc"), ("BEARER   abc=", "abc=")])
def test_bearer_token_reads_the_scheme_case_insensitively(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b",
                                    "Token abc", "Bearer a,b", "abc"])
def test_bearer_token_refuses_absent_or_malformed_headers(header):
    with pytest.raises(Unauthorized):
        bearer_token(header)


def _signed(key, **overrides):
    """A token signed with the real key whose claims differ from a good one by overrides (None drops)."""
    now = int(NOW.timestamp())
    claims = {"sub": "01USER", "preferred_username": "alice", "iss": "homesense",
              "aud": "homesense-api", "iat": now, "exp": now + 60}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key._private, algorithm="RS256", headers={"kid": key.kid})


def test_nbf_in_the_future_is_refused_until_it_passes(key, verifier):
    token = _signed(key, nbf=int(NOW.timestamp()) + 30)
    with pytest.raises(Unauthorized):
        verifier.verify(token, now=NOW)
    assert verifier.verify(token, now=NOW + timedelta(seconds=30)).user_id == "01USER"
    with pytest.raises(Unauthorized):
        verifier.verify(_signed(key, nbf="soon"), now=NOW)


@pytest.mark.parametrize("iat_offset, exp_offset", [
    (0, MAX_TOKEN_TTL + 1),          # issued now, lives an hour and a second
    (-86400, 60),                    # iat a day ago: exp - iat is a day
    (3000, 3000 + 3600),             # iat in the future hides a lifetime of almost two hours from now
])
def test_a_token_signed_with_the_real_key_cannot_outlive_the_cap(key, verifier, iat_offset, exp_offset):
    now = int(NOW.timestamp())
    token = _signed(key, iat=now + iat_offset, exp=now + exp_offset)
    with pytest.raises(Unauthorized):
        verifier.verify(token, now=NOW)


def test_the_cap_itself_is_accepted(key, verifier):
    now = int(NOW.timestamp())
    assert verifier.verify(_signed(key, exp=now + MAX_TOKEN_TTL), now=NOW).user_id == "01USER"


def test_every_token_failure_has_the_same_generic_detail(key, other_key, verifier):
    from homesense_core.tokens import TOKEN_FAILURE_DETAIL
    now = int(NOW.timestamp())
    failures = [None, "", "garbage", _signed(key, exp=None), _signed(key, exp=now - 1),
                _signed(key, nbf=now + 10), _signed(key, exp=now + 7200),
                _signed(key, aud="other"), _signed(other_key)]
    for token in failures:
        with pytest.raises(Unauthorized) as info:
            verifier.verify(token, now=NOW)
        assert info.value.detail == TOKEN_FAILURE_DETAIL, token
    for header in (None, "", "Basic abc", "Bearer", "Bearer a b"):
        with pytest.raises(Unauthorized) as info:
            bearer_token(header)
        assert info.value.detail == TOKEN_FAILURE_DETAIL


def test_a_verified_token_is_not_parsed_again_but_its_times_are_checked_every_call(issuer, verifier,
                                                                                  monkeypatch):
    token = issuer.issue("01USER", "alice", 60, NOW)
    assert verifier.verify(token, now=NOW).user_id == "01USER"
    decodes = []
    real = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decodes.append(1) or real(*a, **k))
    assert verifier.verify(token, now=NOW + timedelta(seconds=59)).user_id == "01USER"
    assert decodes == []                                   # remembered: no second RSA check
    with pytest.raises(Unauthorized):                      # but expiry is still enforced
        verifier.verify(token, now=NOW + timedelta(seconds=60))
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(Unauthorized):                      # another string: checked in full
        verifier.verify(tampered, now=NOW)
    assert decodes == [1]


def test_a_refused_token_is_not_remembered(key, verifier, monkeypatch):
    token = _signed(key, nbf="soon")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify(token, now=NOW)
    assert verifier._signed_claims.cache_info().currsize == 0
