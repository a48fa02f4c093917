"""Scrub credentials out of text that is about to be stored, logged or answered.

Jira's error bodies may echo what was sent (a 400 quoting the Authorization header), and exception
text can carry anything. Every reason we store (a FAILED project's reason, the status answer) and
every Jira text we log passes through `scrub`: the secrets the caller holds are removed wherever
they appear (also base64- or URL-encoded), and so is anything shaped like an Authorization value.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[redacted]"
# Short enough to read in a status answer, long enough to keep Jira's own sentence.
MAX_JIRA_TEXT = 300

# A token may hold dots (a JWT) but does not end with one: the sentence's full stop stays.
_AUTH_VALUE = re.compile(r"\b(basic|bearer)\s+([A-Za-z0-9._~+/=\-]{3,}[A-Za-z0-9_~+/=\-])", re.IGNORECASE)
_TOKEN_PARAM = re.compile(
    r"\b(api[_-]?token|access[_-]?token|refresh[_-]?token|password|secret|client_secret)"
    r"(\"?\s*[:=]\s*\"?)[^\s\"',;&]+",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _forms(secret: str) -> set[str]:
    """A secret as it may appear in an echoed header or URL: raw, base64, URL-encoded."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), base64.b64encode(raw).decode("ascii")}
    return {form for form in forms if len(form) >= 4}


def _auth_value(match: re.Match[str]) -> str:
    """`Basic <token>` / `Bearer <token>` with the token removed; an English word after "basic"
    ("Basic authentication failed") is not a token: tokens hold digits, symbols or mixed case."""
    token = match.group(2)
    looks_like_token = any(c.isdigit() or c in "+/=_~" for c in token) or token[1:] != token[1:].lower()
    return f"{match.group(1)} {REDACTED}" if looks_like_token else match.group(0)


def scrub(text: object, secrets: Iterable[str | None] = (), *, limit: int | None = MAX_JIRA_TEXT) -> str:
    """`text` without any of `secrets` or Authorization-shaped values, on one line, at most
    `limit` characters (None: no limit)."""
    value = str(text)
    if limit is not None:
        # Cut well before the scan: a 600 KB body costs nothing to drop, and a secret cut in half
        # at the end is removed by the patterns below or is too short to use.
        value = value[: limit * 4]
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= _forms(secret)
            if ":" in secret:  # "email:token": each part on its own too
                forms |= {f for part in secret.split(":") if len(part) >= 8 for f in _forms(part)}
    for form in sorted(forms, key=len, reverse=True):
        value = value.replace(form, REDACTED)
    value = _AUTH_VALUE.sub(_auth_value, value)
    value = _TOKEN_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", value)
    value = " ".join(_CONTROL.sub(" ", value).split())
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value
