"""Webhook delivery authentication: Jira's HMAC signature and the dynamic webhooks' HS256 JWT.

The deliveries are signed by the simulator's own signing code (jira_simulator/webhooks.py), written
apart from the verifier, so a mistake in one is not mirrored in the other."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from jira_onboarding.logic.live.auth import verify_bearer_jwt, verify_hub_signature

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


def test_verify_bearer_jwt_accepts_hs256_token_within_its_expiry():
    token = hs256_jwt({"iss": "jira", "exp": 2_000_000_000}, SECRET)
    assert verify_bearer_jwt(SECRET, f"Bearer {token}", now=1_999_999_000) is None


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
        ("Bearer " + hs256_jwt({"iss": "jira"}, SECRET), "no expiry"),
        ("Bearer " + hs256_jwt({"exp": 1_999_999_000 - 31}, SECRET), "expired"),
        ("Bearer " + hs256_jwt({"exp": 2_000_000_000, "nbf": 1_999_999_100}, SECRET), "not yet valid"),
    ],
)
def test_verify_bearer_jwt_refuses_when_forged_expired_or_unexpected(authorization, reason):
    assert verify_bearer_jwt(SECRET, authorization, now=1_999_999_000) == reason


def test_verify_bearer_jwt_refuses_a_tampered_payload():
    header, _, signature = hs256_jwt({"exp": 2_000_000_000, "team": "a"}, SECRET).split(".")
    _, payload, _ = hs256_jwt({"exp": 2_000_000_000, "team": "b"}, SECRET).split(".")
    assert verify_bearer_jwt(SECRET, f"Bearer {header}.{payload}.{signature}", now=1) == "bad signature"
