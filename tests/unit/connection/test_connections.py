"""A team's Jira connection (logic/connection/register.py) on moto (KMS, Secrets Manager, the connections
table): the check against Jira before anything is stored, the 400 sentence a person gets when it
fails (never Jira's own text), the credentials kept sealed, and an OAuth client refreshing once on
a 401. Jira is answered in-process (httpx.MockTransport); the routes are the integration suite's
(test_connection_flag_idempotency.py, test_connection_site_policy.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest
from jira_onboarding.contracts import ConnectionRequest
from jira_onboarding.credentials import unseal
from jira_onboarding.dal.tables import JiraConnectionItem, bind_tables
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.logic.connection.register import connect_jira, register_connection, secret_name_for
from jira_onboarding.logic.jira_access import gateway
from jira_onboarding.logic.jira_access.gateway import add_to_credentials, load_credentials, open_jira
from jira_onboarding.logic.jira_access.tokens import TokenStore

from jira_simulator import JiraSimulator
from tests.conftest import SIM_EMAIL, SIM_TOKEN

SITE = "https://acme.atlassian.net"
JIRA_TEXT = "<html>internal-detail-7f3a</html>"  # what a site says must never reach the answer


@pytest.fixture(autouse=True)
def _self_hosted(monkeypatch: pytest.MonkeyPatch) -> None:
    """These connect with an API token: a self-hosted deployment that opted in (the SaaS default
    refuses them: test_oauth_connect.py)."""
    from jira_onboarding.settings import get_settings

    monkeypatch.setenv("API_TOKEN_CONNECTIONS", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[httpx.Request], httpx.Response]], None]:
    """Every Jira client opened answers through the handler given (no network, no sleeps)."""
    connect = JiraClient.connect.__func__  # type: ignore[attr-defined]

    def answer_with(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        def connect_to(cls: type[JiraClient], credentials: Any, **kwargs: Any) -> JiraClient:
            kwargs.setdefault("sleep", lambda _seconds: None)
            return connect(cls, credentials, transport=httpx.MockTransport(handler), **kwargs)

        monkeypatch.setattr(JiraClient, "connect", classmethod(connect_to))

    return answer_with


def _api_token_request(token: str = SIM_TOKEN, site: str = SITE) -> ConnectionRequest:
    return ConnectionRequest.model_validate(
        {"site_url": site, "auth_kind": "api_token", "email": SIM_EMAIL, "api_token": token}
    )


def test_connect_jira_checks_the_site_then_stores_the_credentials_sealed(
    team_id: str, simulated_jira: JiraSimulator
) -> None:
    answer = connect_jira(team_id, _api_token_request(site="https://acme-sim.atlassian.net"))

    assert (answer.site_url, answer.auth_kind) == ("https://acme-sim.atlassian.net", "api_token")
    assert answer.jira_account and SIM_TOKEN not in answer.model_dump_json()
    assert answer.live_updates is not None and answer.live_updates.registered_by == "jira admin"
    connection = TeamStores(team_id).connection.get()
    assert connection is not None and connection.site_url == answer.site_url
    assert SIM_TOKEN not in connection.model_dump_json()
    assert unseal(team_id, connection.credentials_envelope or "", region="us-east-1") == {
        "email": SIM_EMAIL,
        "api_token": SIM_TOKEN,
        "webhook_secret": answer.live_updates.secret,
    }


# (case id, Jira's answer, the sentence's start)
REFUSALS = [
    ("unauthorized", httpx.Response(401, text=JIRA_TEXT), "Jira refused the credentials (HTTP 401)"),
    ("forbidden", httpx.Response(403, text=JIRA_TEXT), "Jira refused these credentials access to the site"),
    ("throttled", httpx.Response(429, text=JIRA_TEXT), "Jira is rate limiting these credentials"),
    (
        "server_error",
        httpx.Response(500, text=JIRA_TEXT),
        f"{SITE} did not answer as a Jira Cloud site (HTTP",
    ),
    (
        "not_found",
        httpx.Response(404, text=JIRA_TEXT),
        f"{SITE} did not answer as a Jira Cloud site (HTTP 404)",
    ),
    ("not_an_object", httpx.Response(200, json=[JIRA_TEXT]), f"{SITE} did not answer as a Jira Cloud site"),
    (
        "not_a_user",
        httpx.Response(200, json={"name": JIRA_TEXT}),
        f"{SITE} did not answer as a Jira Cloud site",
    ),
]


@pytest.mark.parametrize(("response", "sentence"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_connect_jira_answers_400_in_its_own_words_and_stores_nothing_when_jira_refuses(
    team_id: str, jira: Callable, response: httpx.Response, sentence: str
) -> None:
    jira(lambda request: response)

    with pytest.raises(OnboardingRequestError) as refused:
        connect_jira(team_id, _api_token_request(token="wrong-token"))

    assert refused.value.status == 400 and refused.value.message.startswith(sentence)
    assert JIRA_TEXT not in refused.value.message and "wrong-token" not in refused.value.message
    assert TeamStores(team_id).connection.get() is None


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("connection refused"), httpx.ConnectTimeout("timed out")],
    ids=["unreachable", "timeout"],
)
def test_connect_jira_says_it_cannot_reach_the_site_when_nothing_answers(
    team_id: str, jira: Callable, failure: Exception
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    jira(handler)

    with pytest.raises(OnboardingRequestError) as refused:
        connect_jira(team_id, _api_token_request())

    assert refused.value.message == f"Cannot reach Jira at {SITE}: check the site URL."
    assert TeamStores(team_id).connection.get() is None


def test_connect_jira_refuses_credentials_that_cannot_be_sent(
    team_id: str, jira: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.InvalidURL("bad")

    jira(handler)
    with pytest.raises(OnboardingRequestError, match="cannot be sent to Jira as given"):
        connect_jira(team_id, _api_token_request())

    def unsendable(cls: type[JiraClient], credentials: Any, **kwargs: Any) -> JiraClient:
        raise UnicodeError("not ASCII")

    monkeypatch.setattr(JiraClient, "connect", classmethod(unsendable))
    with pytest.raises(OnboardingRequestError, match="cannot be sent to Jira as given"):
        connect_jira(team_id, _api_token_request())
    assert TeamStores(team_id).connection.get() is None


@pytest.mark.parametrize("site", ["https://evil.example.com", "http://acme.atlassian.net"])
def test_register_connection_refuses_a_site_that_is_not_jira_cloud(team_id: str, site: str) -> None:
    with pytest.raises(OnboardingRequestError) as refused:
        register_connection(team_id, site, "bearer", {"access_token": "t"})

    assert refused.value.status == 400 and refused.value.message.startswith("The Jira site URL ")
    assert refused.value.message.endswith("register the connection again with the site's address.")
    assert TeamStores(team_id).connection.get() is None


def test_load_credentials_refuses_a_stored_site_that_is_not_jira_cloud(team_id: str) -> None:
    # Given a row written before the site rules (or by hand): credentials must not go there
    register_connection(team_id, SITE, "bearer", {"access_token": "t"})
    bind_tables()
    JiraConnectionItem(team_id).update(actions=[JiraConnectionItem.site_url.set("https://169.254.169.254")])

    with pytest.raises(OnboardingRequestError, match="register the connection again"):
        load_credentials(team_id, TeamStores(team_id))


def test_register_connection_again_deletes_the_legacy_secret_it_replaces(team_id: str) -> None:
    # Given a connection registered before the envelope, its credentials in a secret of their own
    name = secret_name_for(team_id)
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name=name, SecretString=json.dumps({"access_token": "old"}))
    bind_tables()
    JiraConnectionItem(team_id, site_url=SITE, auth_kind="bearer", secret_name=name).save()

    register_connection(team_id, SITE, "bearer", {"access_token": "new"})

    assert "DeletedDate" in secrets.describe_secret(SecretId=name)
    credentials, _ = load_credentials(team_id, TeamStores(team_id))
    assert credentials.access_token == "new"


def test_add_to_credentials_seals_the_values_beside_the_token(team_id: str) -> None:
    register_connection(team_id, SITE, "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN})

    assert add_to_credentials(team_id, {"webhook_secret": "whs"}) is True

    envelope = TeamStores(team_id).connection.get().credentials_envelope  # type: ignore[union-attr]
    assert unseal(team_id, envelope or "", region="us-east-1") == {
        "email": SIM_EMAIL,
        "api_token": SIM_TOKEN,
        "webhook_secret": "whs",
    }


def test_add_to_credentials_adds_nothing_without_a_readable_envelope(team_id: str) -> None:
    assert add_to_credentials(team_id, {"webhook_secret": "whs"}) is False  # no connection
    bind_tables()
    JiraConnectionItem(team_id, site_url=SITE, auth_kind="bearer", secret_name="legacy").save()
    assert add_to_credentials(team_id, {"webhook_secret": "whs"}) is False  # not migrated yet
    TeamStores(team_id).connection.save(SITE, "bearer", credentials_envelope="[]")
    assert add_to_credentials(team_id, {"webhook_secret": "whs"}) is False  # unreadable
    assert TeamStores(team_id).connection.get().credentials_envelope == "[]"  # type: ignore[union-attr]


class _OAuthJira:
    """Jira that accepts only the newest access token, and a token endpoint that rotates them."""

    def __init__(self) -> None:
        self.valid = "access-2"
        self.grants: list[str] = []
        self.seen: list[str] = []

    def jira(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] != f"Bearer {self.valid}":
            return httpx.Response(401, json={"message": "token expired"})
        return httpx.Response(200, json={"accountId": "acc-1", "displayName": "Robot"})

    def tokens(self, request: httpx.Request) -> httpx.Response:
        self.grants.append(json.loads(request.content)["refresh_token"])
        n = len(self.grants) + 1
        return httpx.Response(
            200, json={"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600}
        )


@pytest.fixture
def oauth_team(team_id: str, jira: Callable, monkeypatch: pytest.MonkeyPatch) -> tuple[str, _OAuthJira]:
    """An OAuth team whose stored access token Jira no longer takes (revoked before its expiry)."""
    fake = _OAuthJira()
    register_connection(
        team_id,
        "https://api.atlassian.com/ex/jira/0b6a2a53-4f7e-4c3a-9d34-6f0c1a2b3c4d",
        "oauth",
        {"client_id": "c", "client_secret": "s", "access_token": "access-1", "refresh_token": "refresh-1"}
        | {"expires_at": 4e9},
    )
    http = httpx.Client(transport=httpx.MockTransport(fake.tokens))
    monkeypatch.setattr(
        gateway,
        "token_store",
        lambda repo: TokenStore(repo, token_url="https://auth.example/oauth/token", http=http, wait_s=0.0),
    )
    jira(fake.jira)
    return team_id, fake


def test_open_jira_of_an_oauth_team_refreshes_once_on_a_401_and_retries(
    oauth_team: tuple[str, _OAuthJira],
) -> None:
    team_id, fake = oauth_team
    client = open_jira(team_id, TeamStores(team_id))

    me = client.myself()

    assert me.display_name == "Robot" and fake.grants == ["refresh-1"]
    assert fake.seen == ["Bearer access-1", "Bearer access-2"]
    assert load_credentials(team_id, TeamStores(team_id))[0].access_token == "access-2"  # stored rotated


def test_open_jira_uses_the_token_another_lambda_rotated_meanwhile_without_rotating_again(
    oauth_team: tuple[str, _OAuthJira],
) -> None:
    team_id, fake = oauth_team
    client = open_jira(team_id, TeamStores(team_id))
    # Another Lambda rotates the tokens after this client read them
    assert gateway.token_store(TeamStores(team_id)).refresh(spent="refresh-1") == "access-2"

    me = client.myself()

    assert me.account_id == "acc-1" and fake.grants == ["refresh-1"]  # one rotation in all
    assert fake.seen == ["Bearer access-1", "Bearer access-2"]
