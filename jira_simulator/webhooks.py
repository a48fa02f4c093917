"""Webhooks as Jira sends them: dynamic webhooks registered by an OAuth app through
`/rest/api/3/webhook` (signed `Authorization: Bearer <JWT>`, HS256 with the app's client secret),
and admin webhooks registered in Jira's settings (signed `X-Hub-Signature: sha256=<HMAC>` with their
secret, sprint events included). Deliveries carry `X-Atlassian-Webhook-Identifier` (the same on every
retry) and `X-Atlassian-Webhook-Retry`. A dynamic delivery's body names the app's webhooks the
event matched (`matchedWebhookIds`: one delivery per URL, with the ids of every matching webhook
registered to it), and every payload's `self` URLs are the site's (`site_url`, where it is served).

Faults, as Jira's delivery really behaves: duplicates, reordering, delay, dropped deliveries, and
retries after a non-2xx (408, 409, 425, 429, 5xx) or a failed send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .control import Change
from .demo import DEMO_CLIENT_SECRET
from .workspace import SITE

DYNAMIC_EVENTS = frozenset(
    {
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "issue_property_set",
        "issue_property_deleted",
    }
)
RETRIED_STATUSES = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
DYNAMIC_LIFETIME_MS = 30 * 24 * 3600 * 1000
Sender = Callable[[str, dict[str, str], bytes], int]  # (url, headers, body) -> HTTP status


@dataclass
class Registration:
    id: int
    url: str
    events: list[str]
    jql_filter: str | None
    kind: str  # "dynamic" | "admin"
    secret: str | None = None  # admin webhooks
    expiration_ms: int | None = None  # dynamic webhooks
    field_ids_filter: list[str] | None = None
    # A dynamic webhook an app registered through /ex/jira/{cloudId}: the payloads name that site's
    # URL (the app's SimSite), as Jira's do; None: where the site is served (`site_url`).
    site_url: str | None = None

    def as_webhook(self) -> dict[str, Any]:
        """The spec's `Webhook` object."""
        out: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "jqlFilter": self.jql_filter or "",
            "expirationDate": self.expiration_ms,
        }
        if self.field_ids_filter:
            out["fieldIdsFilter"] = list(self.field_ids_filter)
        return out


@dataclass
class DeliveryFaults:
    """How deliveries misbehave; all off by default."""

    duplicates_max: int = 0  # each delivery is sent 1 + randint(0, duplicates_max) times
    reorder: bool = False
    delay_s: tuple[float, float] = (0.0, 0.0)
    drop_rate: float = 0.0
    retries: int = 3  # attempts after a non-2xx answer


@dataclass
class Delivery:
    registration: Registration
    change: Change
    identifier: str
    body: bytes


def _jql_projects(jql: str | None) -> set[str] | None:
    """The projects a `project = X` / `project in (...)` filter names (None: no filter)."""
    if not jql:
        return None
    from .server import parse_jql

    groups = [set(g) for g in parse_jql(jql).projects]
    return set.intersection(*groups) if groups else None


@dataclass
class WebhookDispatcher:
    """Registrations and deliveries of one simulated site."""

    oauth_client_secret: str = DEMO_CLIENT_SECRET  # the app's (atlassian.py), one value
    # The origin the payloads' `self` URLs name: the workspace's canonical SITE, or where the site
    # is served (JiraSimulator.serve sets it; in-process tests set the site their client uses).
    site_url: str = SITE
    faults: DeliveryFaults = field(default_factory=DeliveryFaults)
    sender: Sender | None = None
    seed: int = 1
    registrations: list[Registration] = field(default_factory=list)
    pending: list[Delivery] = field(default_factory=list)
    sent: list[tuple[str, int]] = field(default_factory=list)  # (identifier, status) of each attempt
    dropped: list[Delivery] = field(default_factory=list)
    _next_id: int = 10000
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}:webhooks")

    # ---- registration ----------------------------------------------------------------------
    def register(
        self,
        url: str,
        events: list[str],
        jql_filter: str | None,
        *,
        kind: str,
        secret: str | None = None,
        field_ids_filter: list[str] | None = None,
        site_url: str | None = None,
    ) -> Registration:
        with self._lock:
            self._next_id += 1
            expiration = int(time.time() * 1000) + DYNAMIC_LIFETIME_MS if kind == "dynamic" else None
            registration = Registration(
                self._next_id,
                url,
                list(events),
                jql_filter,
                kind,
                secret,
                expiration,
                field_ids_filter,
                site_url,
            )
            self.registrations.append(registration)
            return registration

    def delete(self, ids: list[int]) -> None:
        with self._lock:
            self.registrations = [r for r in self.registrations if r.id not in set(ids)]

    def refresh(self, ids: list[int]) -> int:
        expiration = int(time.time() * 1000) + DYNAMIC_LIFETIME_MS
        with self._lock:
            for r in self.registrations:
                if r.id in ids and r.kind == "dynamic":
                    r.expiration_ms = expiration
        return expiration

    def dynamic(self) -> list[Registration]:
        with self._lock:
            return [r for r in self.registrations if r.kind == "dynamic"]

    # ---- deliveries ------------------------------------------------------------------------
    def _wants(self, registration: Registration, change: Change) -> bool:
        if change.event not in registration.events:
            return False
        if registration.expiration_ms is not None and registration.expiration_ms < time.time() * 1000:
            return False
        projects = _jql_projects(registration.jql_filter)
        return projects is None or change.project_key in projects or change.project_key is None

    def _body(
        self, payload: dict[str, Any], matched: list[int] | None = None, site_url: str | None = None
    ) -> bytes:
        body = _on_site(payload, (site_url or self.site_url).rstrip("/"))
        if matched is not None:
            body = {**body, "matchedWebhookIds": matched}
        return json.dumps(body, separators=(",", ":")).encode()

    def publish(self, changes: list[Change]) -> int:
        """Queue the deliveries the changes cause; returns how many were queued. An admin webhook
        gets one delivery per change; the dynamic webhooks of one URL share one, naming them all."""
        queued = 0
        with self._lock:
            for change in changes:
                dynamic: dict[str, list[Registration]] = {}
                for registration in self.registrations:
                    if not self._wants(registration, change):
                        continue
                    if registration.kind == "dynamic":
                        dynamic.setdefault(registration.url, []).append(registration)
                        continue
                    body = self._body(change.payload)
                    self.pending.append(Delivery(registration, change, str(uuid.uuid4()), body))
                    queued += 1
                for matched in dynamic.values():
                    body = self._body(change.payload, [r.id for r in matched], matched[0].site_url)
                    self.pending.append(Delivery(matched[0], change, str(uuid.uuid4()), body))
                    queued += 1
        return queued

    def headers(self, delivery: Delivery, retry: int) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": delivery.identifier,
            "X-Atlassian-Webhook-Retry": str(retry),
        }
        registration = delivery.registration
        if registration.kind == "admin" and registration.secret:
            digest = hmac.new(registration.secret.encode(), delivery.body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        elif registration.kind == "dynamic":
            now = int(time.time())
            claims = {"iss": "jira-simulator", "iat": now, "exp": now + 180}
            headers["Authorization"] = "Bearer " + hs256_jwt(claims, self.oauth_client_secret)
        return headers

    def _send_once(self, delivery: Delivery, retry: int) -> int:
        sender = self.sender or _http_sender
        try:
            status = sender(delivery.registration.url, self.headers(delivery, retry), delivery.body)
        except Exception:
            status = 599
        with self._lock:
            self.sent.append((delivery.identifier, status))
        return status

    def _deliver(self, delivery: Delivery) -> None:
        for retry in range(self.faults.retries + 1):
            status = self._send_once(delivery, retry)
            if status not in RETRIED_STATUSES:
                return

    def flush(self) -> int:
        """Send every pending delivery now, with the configured faults (in this thread; the delay
        fault is not slept here, see `start`). Returns how many attempts were made."""
        with self._lock:
            batch, self.pending = self.pending, []
        plan: list[Delivery] = []
        for delivery in batch:
            if self.rng.random() < self.faults.drop_rate:
                self.dropped.append(delivery)
                continue
            plan.extend([delivery] * (1 + self.rng.randint(0, self.faults.duplicates_max)))
        if self.faults.reorder:
            self.rng.shuffle(plan)
        before = len(self.sent)
        for delivery in plan:
            self._deliver(delivery)
        return len(self.sent) - before

    def start(self, interval_s: float = 0.01) -> threading.Event:
        """Deliver in a background thread, each delivery after its delay; set the event to stop."""
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                with self._lock:
                    batch, self.pending = self.pending, []
                for delivery in batch:
                    if self.rng.random() < self.faults.drop_rate:
                        self.dropped.append(delivery)
                        continue
                    low, high = self.faults.delay_s
                    for _ in range(1 + self.rng.randint(0, self.faults.duplicates_max)):
                        timer = threading.Timer(self.rng.uniform(low, high), self._deliver, args=(delivery,))
                        timer.daemon = True
                        timer.start()
                stop.wait(interval_s)

        threading.Thread(target=run, daemon=True, name="sim-webhooks").start()
        return stop


def _on_site(value: Any, site_url: str) -> Any:
    """`value` with the canonical SITE's URLs moved to `site_url` (the origin the site is served at)."""
    if isinstance(value, dict):
        return {k: _on_site(v, site_url) for k, v in value.items()}
    if isinstance(value, list):
        return [_on_site(v, site_url) for v in value]
    if isinstance(value, str) and (value == SITE or value.startswith(SITE + "/")):
        return site_url + value[len(SITE) :]
    return value


def _http_sender(url: str, headers: dict[str, str], body: bytes) -> int:
    import httpx

    return httpx.post(url, headers=headers, content=body, timeout=10.0).status_code


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(claims: dict[str, Any], secret: str, *, alg: str = "HS256") -> str:
    """A JWT as Jira signs dynamic-webhook deliveries (written here apart from the product's
    verifier, so a mistake in one is not mirrored in the other). `alg` lets tests forge others."""
    header = _b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    if alg == "none":
        return f"{header}.{payload}."
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"
