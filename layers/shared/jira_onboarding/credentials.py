"""Teams' Jira credentials, envelope-encrypted under one KMS key and kept in the connection item.

One Secrets Manager secret per team cost $0.40 a month each: $40,000 a month at 100,000 teams,
more than every other per-team cost together. Instead an execution environment asks KMS for a data
key once (GenerateDataKey), encrypts credentials with it locally (AES-256-GCM), and stores the
ciphertext beside the data key as KMS encrypted it. Reading asks KMS to decrypt a data key once per
execution environment and data key (then cached), and decrypts the credentials locally. A KMS key
is $1 a month and $0.03 per 10,000 requests, whatever the number of teams.

The team id is the AES-GCM associated data: a ciphertext copied into another team's item does not
decrypt. The encryption context names the purpose, so the key's other uses cannot decrypt these
data keys. Nothing here logs a value.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from jira_onboarding import aws
from jira_onboarding.records import JiraConnection
from jira_onboarding.settings import get_settings

ENVELOPE_VERSION = 1
ENCRYPTION_CONTEXT = {"purpose": "jira-onboarding-credentials"}
# A data key encrypts at most this many values, for at most this long: random 96-bit nonces stay
# far below the 2^32 messages per key NIST SP 800-38D allows, and a leaked key covers a bounded set.
DATA_KEY_MAX_USES = 10_000
DATA_KEY_MAX_AGE_S = 3600.0
DECRYPTED_KEYS_CACHED = 256  # distinct data keys one execution environment keeps in plaintext


class CredentialsUnreadableError(Exception):
    """The stored envelope does not decrypt (another team's, damaged, or another key's)."""


@dataclass
class _DataKey:
    plaintext: bytes
    encrypted: bytes
    created: float
    uses: int = 0


_lock = threading.Lock()
_encrypting: dict[str, _DataKey] = {}  # KMS key id -> the data key this environment encrypts with
_decrypted: OrderedDict[bytes, bytes] = OrderedDict()  # encrypted data key -> plaintext
kms_calls = {"GenerateDataKey": 0, "Decrypt": 0}  # per execution environment, for bench/bench_cost.py


def _kms(region: str) -> Any:
    return aws.client("kms", region)


def _data_key(key_id: str, region: str) -> _DataKey:
    with _lock:
        current = _encrypting.get(key_id)
        now = time.monotonic()
        if current is None or current.uses >= DATA_KEY_MAX_USES or now - current.created > DATA_KEY_MAX_AGE_S:
            answer = _kms(region).generate_data_key(
                KeyId=key_id, KeySpec="AES_256", EncryptionContext=ENCRYPTION_CONTEXT
            )
            kms_calls["GenerateDataKey"] += 1
            current = _DataKey(answer["Plaintext"], answer["CiphertextBlob"], now)
            _encrypting[key_id] = current
            _remember(current.encrypted, current.plaintext)
        current.uses += 1
        return current


def _remember(encrypted: bytes, plaintext: bytes) -> None:
    _decrypted[encrypted] = plaintext
    _decrypted.move_to_end(encrypted)
    while len(_decrypted) > DECRYPTED_KEYS_CACHED:
        _decrypted.popitem(last=False)


def _plaintext_key(encrypted: bytes, region: str) -> bytes:
    with _lock:
        cached = _decrypted.get(encrypted)
        if cached is not None:
            _decrypted.move_to_end(encrypted)
            return cached
    try:
        plaintext = _kms(region).decrypt(CiphertextBlob=encrypted, EncryptionContext=ENCRYPTION_CONTEXT)[
            "Plaintext"
        ]
    except Exception as exc:
        if exc.__class__.__name__ in {"InvalidCiphertextException", "IncorrectKeyException"}:
            raise CredentialsUnreadableError("the data key does not decrypt") from None
        raise
    with _lock:
        kms_calls["Decrypt"] += 1
        _remember(encrypted, plaintext)
    return plaintext


def seal(team_id: str, value: dict[str, Any], *, key_id: str, region: str) -> str:
    """`value` encrypted for `team_id`: a JSON envelope to store in the team's connection item."""
    from Cryptodome.Cipher import AES  # lazy: only functions that handle credentials pay the import

    key = _data_key(key_id, region)
    cipher = AES.new(key.plaintext, AES.MODE_GCM)  # a random 96-bit nonce
    cipher.update(team_id.encode())
    ciphertext, tag = cipher.encrypt_and_digest(json.dumps(value, separators=(",", ":")).encode())
    return json.dumps(
        {
            "v": ENVELOPE_VERSION,
            "key": _b64(key.encrypted),
            "nonce": _b64(bytes(cipher.nonce)),
            "data": _b64(ciphertext + tag),
        },
        separators=(",", ":"),
    )


def unseal(team_id: str, envelope: str, *, region: str) -> dict[str, Any]:
    """The credentials in `envelope`, which must have been sealed for `team_id`."""
    from Cryptodome.Cipher import AES

    try:
        parts = json.loads(envelope)
        encrypted_key, nonce, data = (base64.b64decode(parts[k]) for k in ("key", "nonce", "data"))
    except (ValueError, KeyError, TypeError):
        raise CredentialsUnreadableError("the envelope is malformed") from None
    if parts.get("v") != ENVELOPE_VERSION or len(data) < 16:
        raise CredentialsUnreadableError("the envelope is of an unknown version")
    cipher = AES.new(_plaintext_key(encrypted_key, region), AES.MODE_GCM, nonce=nonce)
    cipher.update(team_id.encode())
    try:
        plaintext = cipher.decrypt_and_verify(data[:-16], data[-16:])
    except ValueError:  # the tag does not match: another team's, or altered
        raise CredentialsUnreadableError("the credentials do not decrypt for this team") from None
    value = json.loads(plaintext)
    if not isinstance(value, dict):
        raise CredentialsUnreadableError("the credentials are not an object")
    return value


def clear_caches() -> None:
    """Forget the data keys (a new local stack, a new test)."""
    with _lock:
        _encrypting.clear()
        _decrypted.clear()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def stored_credentials(team_id: str, connection: JiraConnection) -> dict[str, Any] | None:
    """The connection's credentials as stored (the envelope, or the Secrets Manager secret of a
    connection registered before it and not migrated yet); None if unreadable."""
    return open_credentials(team_id, connection.credentials_envelope, connection.secret_name)


def open_credentials(
    team_id: str, envelope: str | None, secret_name: str | None, *, cached: bool = True
) -> dict[str, Any] | None:
    """The one reader of stored credentials: `envelope` unsealed, else the legacy secret (read
    through when not `cached`: OAuth tokens another Lambda may have just rotated); None if neither
    is readable."""
    region = get_settings().region
    try:
        if envelope:
            secret: Any = unseal(team_id, envelope, region=region)
        elif secret_name and cached:
            secret = aws.secret_json(secret_name, region)
        elif secret_name:
            raw = aws.client("secretsmanager", region).get_secret_value(SecretId=secret_name)["SecretString"]
            secret = json.loads(raw)
        else:
            return None
    except (ValueError, CredentialsUnreadableError):
        return None
    return secret if isinstance(secret, dict) else None
