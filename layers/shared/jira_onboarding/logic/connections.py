"""A team's Jira connection: site URL and auth kind in a table, credentials in Secrets Manager."""

from __future__ import annotations

import json
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters

from jira_onboarding.dal.repository import Repository
from jira_onboarding.errors import NotConnectedError, OnboardingRequestError
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.settings import Settings, get_settings

AUTH_KINDS = ("api_token", "oauth")


def secret_name_for(team_id: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"{settings.secrets_prefix}team/{team_id}/jira"


def register_connection(team_id: str, site_url: str, auth_kind: str, credentials: dict[str, Any]) -> None:
    """Store where the team's Jira is and how to sign in; the secret never touches a table or a log."""
    if auth_kind not in AUTH_KINDS:
        raise OnboardingRequestError(f"auth_kind must be one of {', '.join(AUTH_KINDS)}, not {auth_kind!r}.")
    settings = get_settings()
    name = secret_name_for(team_id, settings)
    client = boto3.client("secretsmanager", region_name=settings.region)
    secret = json.dumps(credentials)
    try:
        client.put_secret_value(SecretId=name, SecretString=secret)
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=name, SecretString=secret)
    Repository(team_id).save_connection(site_url.rstrip("/"), auth_kind, name)


def load_credentials(team_id: str, repo: Repository) -> JiraCredentials:
    connection = repo.get_connection()
    if connection is None:
        raise NotConnectedError(team_id)
    secret = parameters.get_secret(connection.secret_name, transform="json", max_age=30)
    if not isinstance(secret, dict):
        raise OnboardingRequestError(
            "The stored Jira credentials are unreadable; register the connection again."
        )
    if connection.auth_kind == "api_token":
        return JiraCredentials(
            base_url=connection.site_url,
            auth_kind="api_token",
            email=secret.get("email"),
            api_token=secret.get("api_token"),
        )
    return JiraCredentials(
        base_url=connection.site_url, auth_kind="oauth", access_token=secret.get("access_token")
    )


def open_jira(team_id: str, repo: Repository, *, time_left_s: Any = None) -> JiraClient:
    settings = get_settings()
    return JiraClient.connect(
        load_credentials(team_id, repo),
        timeout_s=settings.jira_timeout_s,
        max_inline_wait_s=settings.jira_max_inline_wait_s,
        time_left_s=time_left_s,
    )
