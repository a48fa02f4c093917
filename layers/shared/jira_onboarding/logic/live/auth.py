"""How a Jira webhook delivery proves who sent it: pure functions of the raw bytes and a secret.

Admin webhooks (API-token sites) carry `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`
with the secret we generated for the connection. Dynamic webhooks (OAuth 2.0 apps) carry
`Authorization: Bearer <JWT>` signed HS256 with the app's client secret; Atlassian does not document
the claims, so the signature, the algorithm and the expiry are what is checked. Every comparison is
constant time on bytes; nothing here says why a check failed beyond a fixed reason for the log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time

SIGNATURE_PREFIX = "sha256="
# Clock skew tolerated on `exp`/`nbf`: Jira's clock and Lambda's are both NTP-synced.
JWT_LEEWAY_S = 30
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
    """None if `authorization` is `Bearer <JWT>` signed HS256 with `secret` and not expired;
    otherwise a short fixed reason (for the log, never for the caller)."""
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
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return "no expiry"
    if exp + JWT_LEEWAY_S < now:
        return "expired"
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and nbf - JWT_LEEWAY_S > now:
        return "not yet valid"
    return None
