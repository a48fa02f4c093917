"""GET /jira/connection: what the page needs to know about the team's connection."""

from __future__ import annotations

from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.oauth_contracts import ConnectionStatus


def connection_status(team_id: str) -> ConnectionStatus:
    connection = TeamStores(team_id).connection.get()
    if connection is None:
        return ConnectionStatus(connected=False, state="not_connected")
    return ConnectionStatus(
        connected=True,
        state="reconnect_needed" if connection.reconnect_reason else "connected",
        auth_kind=connection.auth_kind,
        site_url=connection.site_web_url or connection.site_url,
        site_name=connection.site_name,
        reason=connection.reconnect_reason,
        live_updates=LiveStore(team_id).status().enabled,
    )
