"""botocore sessions and clients for the layer, and the team's secrets.

The layer talks to AWS through botocore directly: PynamoDB needs it anyway, and boto3 (with
s3transfer, and Powertools' parameters utility that imports it) adds ~60 modules, 40-60 ms, to the
cold start of every function that only reads a secret. The functions that use Powertools utilities
built on boto3 (idempotency, feature flags) import it themselves.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from typing import Any

import botocore.loaders
import botocore.session

_local = threading.local()
_secrets: dict[str, tuple[float, Any]] = {}  # secret name -> (monotonic expiry, parsed value)


def thread_session(env_vars: dict[str, Any] | None = None) -> botocore.session.Session:
    """One botocore session per thread, shared by PynamoDB's connections and our clients.

    PynamoDB gives each model's connection its own session, and each new session parses botocore's
    endpoint and DynamoDB model files again: ~0.1 s per table on a function's first calls, a dozen
    times over in the process that runs every function locally. Sessions stay per thread (botocore
    creates clients unsafely across threads)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = botocore.session.get_session(env_vars)
        # The parsed data files are read-only: every thread's session shares one loader (cache).
        session.register_component("data_loader", _shared_loader())
    return session


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def client(service: str, region: str) -> Any:
    """This thread's client for `service` in `region`, created once per execution environment."""
    clients: dict[tuple[str, str], Any] = _local.__dict__.setdefault("clients", {})
    key = (service, region)
    if key not in clients:
        clients[key] = thread_session().create_client(service, region_name=region)
    return clients[key]


def secret_json(name: str, region: str, *, max_age_s: float = 30.0) -> Any:
    """The JSON value of a Secrets Manager secret, read at most once per `max_age_s` seconds."""
    cached = _secrets.get(name)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    raw = client("secretsmanager", region).get_secret_value(SecretId=name)["SecretString"]
    value = json.loads(raw)
    _secrets[name] = (now + max_age_s, value)
    return value


def forget_secret(name: str) -> None:
    """Drop a cached secret (it was just written)."""
    _secrets.pop(name, None)


def clear_caches() -> None:
    """Forget cached secrets and this thread's clients (a new local stack, a new test)."""
    _secrets.clear()
    _local.__dict__.pop("clients", None)
