"""Webhook delivery authentication: Jira's HMAC signature and the dynamic webhooks' HS256 JWT.

The deliveries are signed by the simulator's own signing code (jira_simulator/webhooks.py), written
apart from the verifier, so a mistake in one is not mirrored in the other."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from jira_onboarding.logic.live.auth import (
    JWT_LEEWAY_S,
    MAX_JWT_AGE_S,
    MAX_JWT_LIFETIME_S,
    verify_bearer_jwt,
    verify_hub_signature,
)

from jira_simulator.webhooks import hs256_jwt

SECRET = "s3cret-for-tests"
BODY = b'{"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"ALPHA-2"}}'


def _signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_verify_hub_signature_accepts_jira_signature_of_raw_body():
    assert verify_hub_signature(SECRET, BODY, _signature(SECRET, BODY))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        _signature("another-connection-secret", BODY),
        _signature(SECRET, BODY + b" "),
        _signature(SECRET, BODY).replace("sha256=", "sha1="),
        _signature(SECRET, BODY).upper(),
        "sha256=" + "0" * 64,
        "sha256=ä" + "0" * 63,
    ],
)
def test_verify_hub_signature_refuses_when_missing_forged_or_for_other_bytes(header):
    assert not verify_hub_signature(SECRET, BODY, header)


NOW = 1_999_999_000


def test_verify_bearer_jwt_accepts_hs256_token_within_its_expiry():
    token = hs256_jwt({"iss": "jira", "iat": NOW - 10, "exp": NOW + 170}, SECRET)
    assert verify_bearer_jwt(SECRET, f"Bearer {token}", now=NOW) is None


def test_verify_bearer_jwt_accepts_a_token_as_jira_issues_it_through_its_lifetime():
    token = hs256_jwt({"iss": "jira", "iat": NOW, "exp": NOW + 180}, SECRET)  # the simulator's, Connect's
    for now in (NOW - JWT_LEEWAY_S, NOW, NOW + 180, NOW + 180 + JWT_LEEWAY_S):
        assert verify_bearer_jwt(SECRET, f"Bearer {token}", now=now) is None, now
    longest = hs256_jwt({"iat": NOW, "exp": NOW + MAX_JWT_LIFETIME_S}, SECRET)
    assert verify_bearer_jwt(SECRET, f"Bearer {longest}", now=NOW + MAX_JWT_AGE_S) is None


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "no bearer token"),
        ("Basic abc", "no bearer token"),
        ("Bearer a.b", "not a JWT"),
        ("Bearer !!.??.**", "unreadable JWT"),
        ("Bearer " + hs256_jwt({"exp": 2_000_000_000}, SECRET, alg="none"), "unexpected algorithm"),
        ("Bearer " + hs256_jwt({"exp": 2_000_000_000}, SECRET, alg="HS512"), "unexpected algorithm"),
        ("Bearer " + hs256_jwt({"exp": 2_000_000_000}, "other-app-secret"), "bad signature"),
        ("Bearer " + hs256_jwt({"iss": "jira", "iat": NOW}, SECRET), "no expiry"),
        ("Bearer " + hs256_jwt({"iat": NOW - 211, "exp": NOW - 31}, SECRET), "expired"),
        ("Bearer " + hs256_jwt({"iat": NOW, "exp": NOW + 60, "nbf": NOW + 100}, SECRET), "not yet valid"),
    ],
)
def test_verify_bearer_jwt_refuses_when_forged_expired_or_unexpected(authorization, reason):
    assert verify_bearer_jwt(SECRET, authorization, now=NOW) == reason


YEAR_3000 = 32_503_680_000


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": YEAR_3000}, "no issued-at"),
        ({"exp": NOW + 60}, "no issued-at"),
        ({"iat": NOW, "exp": YEAR_3000}, "lifetime too long"),
        ({"iat": NOW, "exp": NOW + MAX_JWT_LIFETIME_S + 1}, "lifetime too long"),
        ({"iat": NOW + 60, "exp": NOW + 30}, "issued in the future"),
        ({"iat": NOW + JWT_LEEWAY_S + 1, "exp": NOW + 180}, "issued in the future"),
        ({"iat": NOW, "exp": NOW - 1}, "lifetime too long"),
        ({"iat": NOW - MAX_JWT_AGE_S - 1, "exp": NOW + 10}, "lifetime too long"),
        ({"iat": "1999999000", "exp": NOW + 60}, "no issued-at"),
        ({"iat": True, "exp": NOW + 60}, "no issued-at"),
        ({"iat": NOW, "exp": float("inf")}, "no expiry"),
        ({"iat": float("nan"), "exp": NOW + 60}, "no issued-at"),
        ({"iat": NOW, "exp": float("nan")}, "no expiry"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_verify_bearer_jwt_refuses_a_token_made_to_last(claims, reason):
    """The client secret signs every customer's deliveries: a token that lives long (or that says
    nothing of when it was issued) would replay anywhere, for ever."""
    assert verify_bearer_jwt(SECRET, "Bearer " + hs256_jwt(claims, SECRET), now=NOW) == reason


def test_verify_bearer_jwt_refuses_a_token_older_than_the_longest_age():
    token = hs256_jwt({"iat": NOW, "exp": NOW + MAX_JWT_LIFETIME_S}, SECRET)
    assert verify_bearer_jwt(SECRET, f"Bearer {token}", now=NOW + MAX_JWT_AGE_S + 1) == "too old"


def test_verify_bearer_jwt_refuses_a_tampered_payload():
    header, _, signature = hs256_jwt({"exp": 2_000_000_000, "team": "a"}, SECRET).split(".")
    _, payload, _ = hs256_jwt({"exp": 2_000_000_000, "team": "b"}, SECRET).split(".")
    assert verify_bearer_jwt(SECRET, f"Bearer {header}.{payload}.{signature}", now=1) == "bad signature"
