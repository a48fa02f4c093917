"""The Jira client against the simulator (in-process, `httpx.MockTransport`): every request it sends
is documented in Atlassian's OpenAPI specs, pages end where Jira says they end, and each HTTP failure
becomes the exception the state machine expects. No test sleeps: `sleep` and `rng` are injected."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import httpx
import pytest
from jira_onboarding.errors import (
    JiraAuthError,
    JiraGoneError,
    JiraMalformedResponseError,
    JiraNotFoundError,
    JiraPermissionError,
    JiraServerError,
    JiraThrottledError,
)
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.jira.models import FieldMap, JiraBoard

from jira_simulator import JiraSimulator, Workspace
from jira_simulator.spec import undocumented_request_parts
from tests.conftest import SIM_EMAIL, SIM_TOKEN

BASE_URL = "https://acme-sim.atlassian.net"


class Recorder:
    """Wraps a handler; keeps each request and the spec problems it has."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict | None] = []
        self.responses: list[httpx.Response] = []
        self.problems: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append(request)
        self.bodies.append(body)
        self.problems += undocumented_request_parts(request.method, str(request.url), body)
        response = self.handler(request)
        self.responses.append(response)
        return response


def _client(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    token: str = SIM_TOKEN,
    **kwargs: object,
) -> tuple[JiraClient, Recorder, list[float]]:
    recorder = Recorder(handler)
    sleeps: list[float] = []
    credentials = JiraCredentials(base_url=BASE_URL, auth_kind="api_token", email=SIM_EMAIL, api_token=token)
    client = JiraClient.connect(
        credentials,
        transport=httpx.MockTransport(recorder),
        sleep=sleeps.append,
        rng=random.Random(0),
        **kwargs,  # type: ignore[arg-type]
    )
    return client, recorder, sleeps


@pytest.fixture
def sim_client(simulator: JiraSimulator) -> tuple[JiraClient, Recorder, list[float]]:
    return _client(simulator.httpx_handler)


# ---- documented requests, paging -------------------------------------------------------------


def test_client_users_pages_until_an_empty_page_with_documented_requests(sim_client, workspace: Workspace):
    client, recorder, sleeps = sim_client

    pages = list(client.iter_user_pages(page_size=10))

    assert [len(p) for p in pages] == [10, 10, 5]
    assert [u.account_id for p in pages for u in p] == [u["accountId"] for u in workspace.users]
    # a short page is not the end: only the empty page is
    assert [r.url.params["startAt"] for r in recorder.requests] == ["0", "10", "20", "25"]
    assert recorder.responses[-1].json() == []
    assert recorder.problems == []
    assert sleeps == []


def test_client_search_follows_the_next_page_token_chain_asking_only_for_requested_fields(
    sim_client, workspace: Workspace
):
    client, recorder, _ = sim_client
    field_map = FieldMap.detect(client.fields())
    fields = field_map.issue_fields(extra=("customfield_10036",))

    keys: list[str] = []
    tokens: list[str | None] = []
    token = None
    while True:
        page = client.search_page('project = "ALPHA" ORDER BY key ASC', fields=fields, next_page_token=token)
        keys += [raw["key"] for raw in page.issues]
        for raw in page.issues:
            assert set(raw["fields"]) <= set(fields), raw["key"]
        tokens.append(page.next_page_token)
        if page.is_last:
            break
        token = page.next_page_token

    assert keys == [raw["key"] for raw in workspace.issues_by_project["ALPHA"]]
    assert len(tokens) == 2  # 120 issues at 100 a page
    searches = [
        b for r, b in zip(recorder.requests, recorder.bodies, strict=True) if r.url.path.endswith("/jql")
    ]
    assert "nextPageToken" not in searches[0]  # omitted on the first page
    assert searches[1]["nextPageToken"] == tokens[0]
    assert {tuple(b["fields"]) for b in searches} == {tuple(fields)}
    assert tokens[-1] is None
    assert recorder.problems == []


def test_client_boards_configuration_and_sprints_for_scrum_and_kanban(sim_client, workspace: Workspace):
    client, recorder, _ = sim_client
    found = {}
    for project in workspace.projects:
        (board,) = client.boards(project.key)
        found[project.key] = (
            board.type,
            client.board_estimation_field(board.id),
            [s.id for s in client.sprints(board)],
        )

    for project in workspace.projects:
        board_type, estimation, sprint_ids = found[project.key]
        assert board_type == project.board_type
        assert estimation == project.story_point_field_id
        assert sprint_ids == [s["id"] for s in workspace.sprints.get(project.board_id, [])]
    assert found["OPS"][2] == []  # kanban: no sprints, no error
    states = {
        s.state
        for p in workspace.projects
        if p.board_type == "scrum"
        for s in client.sprints(JiraBoard(id=p.board_id, type="scrum"))
    }
    assert states == {"active", "closed", "future"}
    assert recorder.problems == []


def test_client_sprints_of_a_board_that_refuses_sprints_are_empty(sim_client, workspace: Workspace):
    # Given a kanban board that the payload mislabels as scrum: Jira answers 400 "does not support sprints"
    client, recorder, _ = sim_client
    ops = workspace.project("OPS")
    assert ops is not None

    assert client.sprints(JiraBoard(id=ops.board_id, type="scrum")) == []
    assert recorder.responses[-1].status_code == 400


def test_client_fields_and_approximate_count_are_documented(sim_client, workspace: Workspace):
    client, recorder, _ = sim_client

    field_map = FieldMap.detect(client.fields())
    count = client.approximate_count('project = "ALPHA"')

    assert field_map.sprint_field == workspace.sprint_field_id == "customfield_10021"
    assert count == workspace.issue_count("ALPHA")
    assert recorder.problems == []


# ---- error mapping ------------------------------------------------------------------------------


def _answer(*responses: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    """Answer with the given responses in turn, repeating the last one."""
    queue = list(responses)

    def handler(_request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def test_client_maps_401_to_auth_error(simulator: JiraSimulator):
    client, _, sleeps = _client(simulator.httpx_handler, token="wrong-token")
    with pytest.raises(JiraAuthError):
        client.myself()
    assert sleeps == []


def test_client_maps_403_to_permission_error():
    client, recorder, _ = _client(_answer(httpx.Response(403, json={"errorMessages": ["No access"]})))
    with pytest.raises(JiraPermissionError, match="No access"):
        client.fields()
    assert len(recorder.requests) == 1  # not transient: never retried


def test_client_maps_404_to_not_found_error(sim_client):
    client, _, _ = sim_client
    with pytest.raises(JiraNotFoundError):
        client.board_estimation_field(9999)


def test_client_maps_410_on_the_removed_search_to_gone_error(sim_client):
    client, _, _ = sim_client
    with pytest.raises(JiraGoneError):
        client.request("GET", "/rest/api/3/search", what="the old search", params={"jql": "project = ALPHA"})


def test_client_retries_a_429_with_a_short_retry_after_in_place():
    client, recorder, sleeps = _client(
        _answer(
            httpx.Response(429, headers={"Retry-After": "1"}, json={"errorMessages": ["Rate limited"]}),
            httpx.Response(200, json=[]),
        )
    )

    assert client.fields() == []
    assert len(recorder.requests) == 2
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 5.0  # at least Retry-After, within the inline budget


def test_client_raises_a_long_retry_after_as_throttled_with_the_wait():
    client, recorder, sleeps = _client(
        _answer(
            httpx.Response(
                429,
                headers={"Retry-After": "120", "RateLimit-Reason": "jira-quota-global-based"},
                json={"errorMessages": ["Rate limited"]},
            )
        )
    )

    with pytest.raises(JiraThrottledError) as caught:
        client.fields()

    assert caught.value.retry_after == 120.0
    assert sleeps == []  # a Lambda never sleeps through it: the state machine waits
    assert len(recorder.requests) == 1


def test_client_retries_a_500_then_succeeds():
    client, recorder, sleeps = _client(
        _answer(
            httpx.Response(500, text="oops"), httpx.Response(502, text="bad"), httpx.Response(200, json=[])
        ),
        backoff_base_s=0.01,
    )

    assert client.fields() == []
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0]  # exponential


def test_client_raises_server_error_after_the_last_retry():
    client, recorder, sleeps = _client(_answer(httpx.Response(500, text="oops")), backoff_base_s=0.01)

    with pytest.raises(JiraServerError):
        client.fields()

    assert len(recorder.requests) == 4
    assert len(sleeps) == 3


def test_client_raises_malformed_response_for_a_body_that_is_not_json():
    client, recorder, _ = _client(
        _answer(httpx.Response(200, content=b'{"values": [', headers={"Content-Type": "application/json"})),
        backoff_base_s=0.01,
    )

    with pytest.raises(JiraMalformedResponseError):
        client.fields()

    assert len(recorder.requests) == 4  # transient: retried, then raised


def test_client_raises_malformed_response_for_a_user_list_that_is_not_an_array():
    client, _, _ = _client(_answer(httpx.Response(200, json={"values": []})))
    with pytest.raises(JiraMalformedResponseError):
        next(client.iter_user_pages())
