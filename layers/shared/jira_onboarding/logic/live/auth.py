"""How a Jira webhook delivery proves who sent it: pure functions of the raw bytes and a secret.

Admin webhooks (API-token sites) carry `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`
with the secret we generated for the connection. Dynamic webhooks (OAuth 2.0 apps) carry
`Authorization: Bearer <JWT>` signed HS256 with the app's client secret; Atlassian does not document
the claims, so the signature, the algorithm and a bounded lifetime (`iat` and `exp`) are what is
checked. Every comparison is constant time on bytes; nothing here says why a check failed beyond a
fixed reason for the log.

That client secret is the same for every customer of the app, so a valid JWT proves only that the
delivery comes from Jira, not for which connection: logic/live/binding.py ties the body to it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import time

SIGNATURE_PREFIX = "sha256="
# Clock skew tolerated on `iat`/`exp`/`nbf`: Jira's clock and Lambda's are both NTP-synced.
JWT_LEEWAY_S = 30
# The longest lifetime (`exp - iat`) and age (`now - iat`) of a delivery's JWT. Jira signs each
# attempt when it sends it, with a short lifetime (Connect's JWTs, and the simulator's, live 180 s);
# a quarter of an hour leaves room for that and refuses a token minted to last (exp in year 3000),
# which, the secret being shared by every tenant, would otherwise replay for ever.
MAX_JWT_LIFETIME_S = 15 * 60
MAX_JWT_AGE_S = MAX_JWT_LIFETIME_S
# A JWT longer than this is not Jira's (its are a few hundred bytes): refused before decoding.
MAX_JWT_CHARS = 4096


def new_webhook_secret() -> str:
    """A per-connection signing secret for an admin webhook (256 bits)."""
    return secrets.token_urlsafe(32)


def hub_signature(secret: str, raw_body: bytes) -> str:
    """`X-Hub-Signature` as Jira computes it: sha256=<hex HMAC-SHA256 of the raw body>."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_hub_signature(secret: str, raw_body: bytes, header: str | None) -> bool:
    """Whether `header` is the body's signature with `secret` (constant time, on the raw bytes)."""
    expected = hub_signature(secret, raw_body).encode()
    given = (header or "").strip().encode("utf-8", "replace")
    # compare_digest takes as long for any given value of the same length; a wrong length fails fast,
    # which reveals only the (public) length of a SHA-256 hex digest.
    return hmac.compare_digest(expected, given)


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_bearer_jwt(secret: str, authorization: str | None, *, now: float | None = None) -> str | None:
    """None if `authorization` is `Bearer <JWT>` signed HS256 with `secret`, issued recently, for a
    short lifetime, and not expired; otherwise a short fixed reason (for the log, never the caller)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_JWT_CHARS:
        return "no bearer token"
    parts = token.split(".")
    if len(parts) != 3:
        return "not a JWT"
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return "unreadable JWT"
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return "unreadable JWT"
    # Only the algorithm we expect: "none", RS256 with a public key passed as an HMAC secret, and the
    # like are the classic JWT forgeries.
    if header.get("alg") != "HS256":
        return "unexpected algorithm"
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    return _lifetime_problem(claims, time.time() if now is None else now)


def _number(value: object) -> float | None:
    """A claim's time, or None: JSON numbers only, finite (Python's json reads NaN and Infinity,
    and NaN compares false with everything, so it would pass every bound)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return float(value) if math.isfinite(value) else None


def _lifetime_problem(claims: dict[str, object], now: float) -> str | None:
    """Why the claims' times are not those of a fresh, short-lived delivery token (None if they are)."""
    exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
    if exp is None:
        return "no expiry"
    if exp + JWT_LEEWAY_S < now:
        return "expired"
    if iat is None:
        return "no issued-at"
    if iat - JWT_LEEWAY_S > now:
        return "issued in the future"
    if exp < iat or exp - iat > MAX_JWT_LIFETIME_S:
        return "lifetime too long"
    if now - iat > MAX_JWT_AGE_S:
        return "too old"
    nbf = _number(claims.get("nbf"))
    if nbf is not None and nbf - JWT_LEEWAY_S > now:
        return "not yet valid"
    return None
