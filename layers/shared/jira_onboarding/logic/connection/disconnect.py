"""Disconnect a team's Jira: no Jira call is possible afterwards, and nothing syncs, but the
team's synced data stays (reconnecting resumes from it).

In order, so that each step still has what it needs: the dynamic webhook is deleted in Jira while
the credentials can still sign the call (best effort: unrefreshed, it expires within 30 days); the
webhook endpoint is forgotten (a delivery to the old connection id then gets the receiver's 401,
like any unknown connection); the nightly schedule is deleted; last, the connection item goes, and
with it the credentials envelope, the field map and the OAuth refresh lease. Events already
queued find no connection and are dropped (logic/live/apply.py); a run already under way fails
its next Jira call (no credentials are left to make it with).

Kept: the tracked projects and their selection, issues, sprints, people, matches, metrics and
insights; the Jira accounts too, unless the request asks to erase their personal data
(`?erase_personal_data=true`: deleted, so a new connection fetches them again). Registering the
connection again (POST /jira/connection) brings back the schedule and the webhook endpoint; the
next selection or nightly run resumes incrementally from what is stored.
"""

from __future__ import annotations

from jira_onboarding.contracts import DisconnectResponse
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.logic.jira_access.tokens import delete_legacy_secret
from jira_onboarding.logic.live.registration import disconnect_live_updates
from jira_onboarding.logic.nightly.schedules import delete_nightly_schedule
from jira_onboarding.observability import logger

NOT_CONNECTED = "This team has no Jira connection to disconnect; register one with POST /jira/connection."


def _sentence(site_url: str, auth_kind: str, webhook_url: str | None, webhook_deleted: bool | None) -> str:
    parts = [
        f"Jira at {site_url} is disconnected: its credentials are deleted and nothing syncs any more.",
        "Your synced issues, sprints and metrics are kept; register the connection again to resume.",
    ]
    if webhook_deleted is False:
        parts.append("Jira's webhook could not be deleted now; it stops on its own within 30 days.")
    if auth_kind != "oauth" and webhook_url:
        # An admin webhook is registered by a Jira admin: only they can remove it.
        parts.append(f"Ask your Jira admin to remove the webhook that sends to {webhook_url}.")
    return " ".join(parts)


def disconnect_jira(team_id: str, *, erase_personal_data: bool = False) -> DisconnectResponse:
    """Remove the team's Jira connection (404 if there is none); the synced data stays, except,
    with `erase_personal_data`, the Jira accounts' personal data (their names and emails: the
    JiraUsers items and the runs' lists of unmatched names; issues and matches keep the ids)."""
    repo = TeamStores(team_id)
    connection = repo.connection.get()
    if connection is None:
        raise OnboardingRequestError(NOT_CONNECTED, status=404)
    from jira_onboarding.dal.live import LiveStore  # lazy: cold starts of the POST route

    webhook_url = LiveStore(team_id).status().webhook_url
    webhook_deleted = disconnect_live_updates(team_id)
    schedule_deleted = delete_nightly_schedule(team_id)
    repo.connection.delete()
    deleted = None
    if erase_personal_data:
        from jira_onboarding.dal.privacy import PrivacyStore  # lazy: cold starts of the POST route

        deleted = PrivacyStore(team_id).forget_accounts()
    if connection.secret_name:
        delete_legacy_secret(connection.secret_name)  # a connection never migrated to the envelope
    logger.info(
        "Jira disconnected",
        extra={
            "webhook_deleted": webhook_deleted,
            "schedule_deleted": schedule_deleted,
            "jira_accounts_deleted": deleted,
        },
    )
    return DisconnectResponse(
        message=_sentence(connection.site_url, connection.auth_kind, webhook_url, webhook_deleted),
        site_url=connection.site_url,
        webhook_deleted=webhook_deleted,
        nightly_schedule_deleted=schedule_deleted,
        jira_accounts_deleted=deleted,
    )
