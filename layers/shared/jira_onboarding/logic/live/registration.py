"""Live updates for a connection: the webhook endpoint, and its registration in Jira.

API-token connections cannot register dynamic webhooks: the connection's answer hands a Jira admin
the URL, the secret, the events and the JQL of an admin webhook. OAuth 2.0 connections register a
dynamic webhook (`POST /rest/api/3/webhook`) for the selected projects; it is replaced when the
selection changes, extended daily before its 30-day expiry (`PUT /rest/api/3/webhook/refresh`), and
deleted on disconnect.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel

from jira_onboarding.contracts import LiveUpdatesSetup
from jira_onboarding.credentials import stored_credentials
from jira_onboarding.dal.live import LiveStore, LiveUpdateItem
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.jira_access.gateway import add_to_credentials, open_jira
from jira_onboarding.logic.live import queue
from jira_onboarding.logic.live.auth import new_webhook_secret
from jira_onboarding.logic.live.events import LiveMessage
from jira_onboarding.observability import logger
from jira_onboarding.records import JiraConnection
from jira_onboarding.settings import get_settings

DYNAMIC_EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"]
ADMIN_EVENTS = [
    *DYNAMIC_EVENTS,
    "sprint_created",
    "sprint_updated",
    "sprint_started",
    "sprint_closed",
    "sprint_deleted",
]
DYNAMIC_WEBHOOK_LIFETIME = timedelta(days=30)
REFRESH_WHEN_WITHIN = timedelta(days=10)  # the daily refresh extends those expiring within this
# A dynamic webhook's JQL supports only a subset (project, issueKey, ... with =, !=, IN, NOT IN); a
# `project in (...)` clause over the selected keys stays within it.
MAX_JQL_PROJECTS = 100


class RefreshSummary(BaseModel):
    refreshed: int = 0
    failed: int = 0


def webhook_url(connection_id: str, base_url: str | None = None) -> str:
    base = (base_url or get_settings().webhook_base_url or "").rstrip("/")
    return f"{base}/jira/webhooks/{connection_id}"


def selection_jql(project_keys: list[str]) -> str | None:
    keys = sorted(set(project_keys))[:MAX_JQL_PROJECTS]
    return f"project in ({', '.join(keys)})" if keys else None


def enable_live_updates(team_id: str, *, base_url: str | None = None) -> LiveUpdatesSetup:
    """Create (or keep) the team's webhook endpoint for its connection; for an API-token site,
    return the signing secret (the stored one, or a new one the first time) with what a Jira admin
    needs."""
    connection = TeamStores(team_id).connection.get()
    if connection is None:
        raise ValueError("live updates need a connection")
    live = LiveStore(team_id)
    connection_id = live.status().connection_id or secrets.token_urlsafe(24)
    auth_kind = "oauth" if connection.auth_kind == "oauth" else "api_token"
    url = webhook_url(connection_id, base_url)
    live.save_endpoint(connection_id, auth_kind, url)
    keys = [p.project_key for p in TeamStores(team_id).projects.list_tracked() if p.selected]
    if auth_kind == "oauth":
        if keys:
            # Connected again with projects still selected (after a disconnect): the dynamic
            # webhook is registered again without waiting for the next selection.
            request_registration_sync(team_id)
        return LiveUpdatesSetup(
            webhook_url=url, registered_by="app", events=DYNAMIC_EVENTS, jql=selection_jql(keys)
        )
    signing_secret = _stored_webhook_secret(team_id, connection)
    unchanged = signing_secret is not None
    if signing_secret is None:
        signing_secret = new_webhook_secret()
        if not add_to_credentials(team_id, {"webhook_secret": signing_secret}):
            raise ValueError("the connection's credentials changed while live updates were enabled")
    return LiveUpdatesSetup(
        webhook_url=url,
        registered_by="jira admin",
        events=ADMIN_EVENTS,
        jql=selection_jql(keys),
        secret=signing_secret,
        secret_unchanged=unchanged,
    )


def _stored_webhook_secret(team_id: str, connection: JiraConnection | None) -> str | None:
    secret = (stored_credentials(team_id, connection) or {}).get("webhook_secret") if connection else None
    return secret if isinstance(secret, str) and secret else None


def kept_webhook_secret(
    team_id: str, previous: JiraConnection | None, site_url: str, auth_kind: str
) -> dict[str, str]:
    """What a connection registered again keeps of the previous one's credentials: the admin
    webhook's signing secret, when the site is the same and both sign in without OAuth (an OAuth
    connection's deliveries are the app's JWT). The webhook a Jira admin registered with it goes on
    being accepted (a new secret would refuse every delivery while the status still said live
    updates are on); another site gets a new secret."""
    if previous is None or previous.site_url != site_url or "oauth" in (auth_kind, previous.auth_kind):
        return {}
    secret = _stored_webhook_secret(team_id, previous)
    return {"webhook_secret": secret} if secret else {}


def _expiry(client: Any, webhook_ids: list[int]) -> datetime:
    """The registration's expiry as Jira states it (`GET /rest/api/3/webhook`)."""
    body = client.request("GET", "/rest/api/3/webhook", what="the registered webhooks")
    for hook in (body or {}).get("values") or []:
        if hook.get("id") in webhook_ids and isinstance(hook.get("expirationDate"), int):
            return datetime.fromtimestamp(hook["expirationDate"] / 1000, UTC)
    return datetime.now(UTC) + DYNAMIC_WEBHOOK_LIFETIME


def sync_registration(team_id: str) -> str:
    """Make the OAuth connection's dynamic webhook match the selection: register, replace or delete."""
    live = LiveStore(team_id)
    status = live.status()
    if not status.enabled or status.auth_kind != "oauth" or not status.connection_id:
        return "no dynamic webhook for this connection"
    repo = TeamStores(team_id)
    jql = selection_jql([p.project_key for p in repo.projects.list_tracked() if p.selected])
    if jql == status.webhook_jql and status.webhook_ids:
        return "registration up to date"
    client = open_jira(team_id, repo)
    try:
        if status.webhook_ids:
            client.request(
                "DELETE",
                "/rest/api/3/webhook",
                what="the old webhook",
                json_body={"webhookIds": status.webhook_ids},
            )
        if jql is None:
            live.record_registration([], None, None)
            return "webhook deleted"
        body = {
            "url": status.webhook_url or webhook_url(status.connection_id),
            "webhooks": [{"events": DYNAMIC_EVENTS, "jqlFilter": jql}],
        }
        answer = client.request(
            "POST", "/rest/api/3/webhook", what="the webhook registration", json_body=body
        )
        results = (answer or {}).get("webhookRegistrationResult") or []
        ids = [int(r["createdWebhookId"]) for r in results if isinstance(r.get("createdWebhookId"), int)]
        errors = [e for r in results for e in r.get("errors") or []]
        if not ids:
            raise ValueError("Jira did not register the webhook: " + "; ".join(errors or ["no id returned"]))
        live.record_registration(ids, jql, _expiry(client, ids))
    finally:
        client.close()
    logger.info("Dynamic webhook registered", extra={"webhook_ids": ids})
    return "webhook registered"


def request_registration_sync(team_id: str) -> None:
    """After a selection: the consumer brings the dynamic webhook in line (it has the Jira
    credentials and retries; the start answers at once). Best effort: the daily refresh and the
    next selection try again."""
    if not get_settings().live_updates_queue_url:
        return
    try:
        queue.send(LiveMessage(kind="sync_registration", team_id=team_id))
    except Exception as exc:
        logger.warning("Could not queue the webhook registration", extra={"error": repr(exc)})


def disconnect_live_updates(team_id: str) -> bool | None:
    """On disconnect: delete the dynamic webhook in Jira (best effort) and forget the endpoint, so
    a delivery to it gets the receiver's 401. True when Jira deleted the webhook, False when that
    failed (it expires within 30 days unrefreshed), None when none was registered."""
    live = LiveStore(team_id)
    status = live.status()
    deleted: bool | None = None
    if status.webhook_ids:
        deleted = False
        try:
            client = open_jira(team_id, TeamStores(team_id))
            try:
                client.request(
                    "DELETE",
                    "/rest/api/3/webhook",
                    what="the webhook",
                    json_body={"webhookIds": status.webhook_ids},
                )
                deleted = True
            finally:
                client.close()
        except Exception as exc:
            logger.warning("Could not delete the dynamic webhook", extra={"error": repr(exc)})
    live.remove_endpoint()
    return deleted


def refresh_expiring_webhooks(*, now: datetime | None = None) -> RefreshSummary:
    """Extend every dynamic webhook that expires within ten days (run daily)."""
    now = now or datetime.now(UTC)
    summary = RefreshSummary()
    LiveStore("scan")  # binds the tables
    soon = now + REFRESH_WHEN_WITHIN
    # A daily Scan of one small item per connected team, filtered to those expiring soon.
    for item in LiveUpdateItem.scan(
        (LiveUpdateItem.item_key == "endpoint") & (LiveUpdateItem.webhook_expires_at <= soon)
    ):
        ids = [int(i) for i in cast(list[float], item.webhook_ids or [])]
        if not ids:
            continue
        try:
            client = open_jira(item.team_id, TeamStores(item.team_id))
            try:
                answer = client.request(
                    "PUT",
                    "/rest/api/3/webhook/refresh",
                    what="the webhook refresh",
                    json_body={"webhookIds": ids},
                )
            finally:
                client.close()
            expires = datetime.fromtimestamp(int((answer or {})["expirationDate"]) / 1000, UTC)
            LiveStore(item.team_id).record_registration(ids, item.webhook_jql, expires)
            summary.refreshed += 1
        except Exception as exc:
            logger.warning("Webhook refresh failed", extra={"team_id": item.team_id, "error": repr(exc)})
            summary.failed += 1
    return summary
