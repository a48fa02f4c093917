"""Binding a dynamic-webhook delivery to its connection: the app's JWT is the same for every
customer, so the body must name the webhook ids we registered for this connection and its site."""

from __future__ import annotations

import pytest
from jira_onboarding.logic.live.binding import (
    binding_problem,
    connection_origins,
    matched_ids_problem,
    on_origin,
    site_problem,
)

SITE = "https://acme.atlassian.net"
CLOUD_ID = "1324a887-45db-1bf4-1e99-ef0ff456d421"
GATEWAY = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
ORIGINS = (SITE, GATEWAY)


def _body(
    ids: object = (10001,), issue_self: object = f"{SITE}/rest/api/2/issue/10002", **extra: object
) -> dict:
    body: dict = {"webhookEvent": "jira:issue_deleted", "issue": {"id": "10002", "self": issue_self}, **extra}
    if ids is not None:
        body["matchedWebhookIds"] = list(ids) if isinstance(ids, tuple) else ids
    return body


def test_connection_origins_are_the_site_and_the_gateway_of_its_cloud_id():
    assert connection_origins(SITE + "/") == (SITE,)
    assert connection_origins(SITE, cloud_id=CLOUD_ID.upper()) == (SITE, GATEWAY)
    assert connection_origins(GATEWAY, cloud_id=CLOUD_ID) == (GATEWAY,)


@pytest.mark.parametrize(
    "url",
    [
        f"{SITE}/rest/api/2/issue/10002",
        f"{SITE}",
        "https://ACME.atlassian.net/rest/api/3/issue/1",
        f"{SITE}:443/rest/api/2/issue/1",
        f"{GATEWAY}/rest/api/3/issue/10002",
        f"{SITE}/rest/api/2/user?accountId=abc",
    ],
)
def test_on_origin_accepts_the_connection_s_urls(url: str):
    assert any(on_origin(url, origin) for origin in ORIGINS)


@pytest.mark.parametrize(
    "url",
    [
        "https://other.atlassian.net/rest/api/2/issue/10002",
        "https://acme.atlassian.net.evil.test/rest/api/2/issue/1",
        "https://acme.atlassian.net@evil.test/rest/api/2/issue/1",
        "https://user:pw@acme.atlassian.net/rest/api/2/issue/1",
        "http://acme.atlassian.net/rest/api/2/issue/1",
        "https://acme.atlassian.net:8443/rest/api/2/issue/1",
        "https://acme.atlassian.net:99999/rest/api/2/issue/1",
        "https://evil.test/#@acme.atlassian.net",
        "https://evil.test\\@acme.atlassian.net/",
        "https://acme.atlassian.net /x",
        f"https://api.atlassian.com/ex/jira/{CLOUD_ID}x/rest/api/3/issue/1",
        "https://api.atlassian.com/ex/jira/00000000-0000-0000-0000-000000000000/rest/api/3/issue/1",
        "https://api.atlassian.com/rest/api/3/issue/1",
        "/rest/api/2/issue/10002",
        "",
        None,
        10002,
        ["https://acme.atlassian.net/"],
    ],
)
def test_on_origin_refuses_another_site_or_a_url_made_to_look_like_it(url: object):
    assert not any(on_origin(url, origin) for origin in ORIGINS)


def test_site_problem_checks_every_top_level_object_s_self():
    user = {"self": f"{SITE}/rest/api/2/user?accountId=a", "accountId": "a"}
    assert site_problem(_body(user=user), ORIGINS) is None
    assert site_problem(_body(issue_self=f"{GATEWAY}/rest/api/3/issue/10002"), ORIGINS) is None
    other_user = {"self": "https://other.atlassian.net/rest/api/2/user?accountId=a"}
    assert site_problem(_body(user=other_user), ORIGINS) == "payload of another site"
    assert (
        site_problem(_body(issue_self="https://other.atlassian.net/x"), ORIGINS) == "payload of another site"
    )
    assert site_problem(_body(issue_self=None), ORIGINS) == "payload of another site"
    assert site_problem({"webhookEvent": "jira:issue_deleted", "issue": {"id": "1"}}, ORIGINS) == (
        "no site in the payload"
    )
    assert site_problem(_body(), ()) == "payload of another site"


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        ((10001,), None),
        ((10001, 10002), None),
        (None, "no matchedWebhookIds"),
        ([], "no matchedWebhookIds"),
        ("10001", "no matchedWebhookIds"),
        ({"10001": 1}, "no matchedWebhookIds"),
        (["10001"], "unreadable matchedWebhookIds"),
        ([True], "unreadable matchedWebhookIds"),
        ([10001.0], "unreadable matchedWebhookIds"),
        ((20001,), "webhook of another connection"),
        ((10001, 20001), "webhook of another connection"),
    ],
)
def test_matched_ids_problem_wants_every_id_registered_for_this_connection(ids: object, reason: str | None):
    assert matched_ids_problem(_body(ids=ids), [10001, 10002]) == reason


def test_matched_ids_problem_refuses_every_id_when_the_connection_registered_none():
    assert matched_ids_problem(_body(), []) == "webhook of another connection"


def test_binding_problem_wants_both_the_webhook_ids_and_the_site():
    assert binding_problem(_body(), [10001], ORIGINS) is None
    assert binding_problem(_body(ids=(20001,)), [10001], ORIGINS) == "webhook of another connection"
    assert binding_problem(_body(issue_self="https://b.atlassian.net/x"), [10001], ORIGINS) == (
        "payload of another site"
    )
    assert binding_problem(None, [10001], ORIGINS) == "unreadable body"
    assert binding_problem([_body()], [10001], ORIGINS) == "unreadable body"
