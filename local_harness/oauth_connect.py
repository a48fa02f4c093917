"""Connect a team through the product's one OAuth app, headlessly, as a person's browser would:
the page's POST /jira/oauth/authorize, Atlassian's consent page (the simulator's, Accept pressed by
jira_simulator.follow_consent), the redirect to GET /jira/oauth/callback, and the page's
POST /jira/oauth/connect. `make demo`, `serve --connected` and the integration tests use it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_harness.stack import LocalStack


class ConnectFailedError(RuntimeError):
    """The flow ended without a connection; the message says at which step and why."""


@dataclass
class Connected:
    site_url: str
    site_name: str | None
    jira_account: str
    sites_offered: int
    answer: dict[str, Any]


def authorize(stack: LocalStack, team_id: str) -> tuple[str, str, str]:
    """(Atlassian's consent URL, the state, the browser's nonce) for the team."""
    nonce = secrets.token_urlsafe(24)
    body = {"browser_nonce": nonce}
    status, _, answer = stack.http("POST", "/jira/oauth/authorize", team_id=team_id, body=body)
    if status != 200:
        raise ConnectFailedError(f"POST /jira/oauth/authorize answered {status}: {answer}")
    return answer["authorize_url"], answer["state"], nonce


def callback(stack: LocalStack, redirect: str) -> str:
    """Atlassian's redirect delivered to the API: the outcome word the page is sent back with."""
    query = dict(parse_qsl(urlsplit(redirect).query, keep_blank_values=True))
    status, headers, _ = stack.http("GET", "/jira/oauth/callback", team_id=None, query=query)
    location = {k.lower(): v for k, v in headers.items()}.get("location", "")
    if status != 302 or "jira_oauth=" not in location:
        raise ConnectFailedError(f"GET /jira/oauth/callback answered {status} (Location {location!r})")
    return dict(parse_qsl(urlsplit(location).query))["jira_oauth"]


def connect(
    stack: LocalStack, team_id: str, state: str, nonce: str, cloud_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    body = {"state": state, "browser_nonce": nonce, **({"cloud_id": cloud_id} if cloud_id else {})}
    status, _, answer = stack.http("POST", "/jira/oauth/connect", team_id=team_id, body=body)
    return status, answer


def connect_through_app(
    stack: LocalStack, team_id: str, *, site_name: str | None = None, accept: bool = True
) -> Connected:
    """The whole flow; with several sites, `site_name` picks one (else the first offered)."""
    from jira_simulator import follow_consent

    url, state, nonce = authorize(stack, team_id)
    outcome = callback(stack, follow_consent(url, accept=accept))
    if outcome != "granted":
        raise ConnectFailedError(f"the OAuth callback ended with {outcome!r}")
    status, answer = connect(stack, team_id, state, nonce)
    if status == 200 and answer["status"] == "choose_site":
        sites = answer["sites"]
        chosen = next((s for s in sites if s["name"] == site_name), sites[0])
        status, answer = connect(stack, team_id, state, nonce, chosen["cloud_id"])
    if status != 200 or answer.get("status") != "connected":
        raise ConnectFailedError(f"POST /jira/oauth/connect answered {status}: {answer}")
    connection = answer["connection"]
    return Connected(
        site_url=connection["site_url"],
        site_name=next((s["name"] for s in answer["sites"] if s["url"] == connection["site_url"]), None),
        jira_account=connection["jira_account"],
        sites_offered=len(answer["sites"]),
        answer=answer,
    )
