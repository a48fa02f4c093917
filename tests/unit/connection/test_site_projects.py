"""The site's projects for the team to choose from: a real-shaped paged answer from
`/rest/api/3/project/search` (several Jira pages for one page of ours), the simulator's answer
against its ground truth, and the pure description of a project as tables."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.logic.connection.projects import (
    ASSUMED_ISSUES_PER_SECOND,
    MAX_PAGE,
    describe_project,
    fetch_projects_page,
    first_sync_plan,
    list_site_projects,
    measured_rate,
)
from jira_onboarding.logic.run.plan import RECENT_DAYS
from jira_onboarding.records import SyncStatus, TrackedProject

from jira_simulator import JiraSimulator
from jira_simulator.spec import undocumented_request_parts
from tests.conftest import SIM_EMAIL, SIM_TOKEN, connect_team
from tests.unit.conftest import team_site

SITE = "https://your-domain.atlassian.net"


def _real_project(n: int) -> dict:
    """A project as Jira Cloud answers it in a project search with expand=insight."""
    pid = str(10000 + n)
    return {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{SITE}/rest/api/3/project/{pid}",
        "id": pid,
        "key": f"P{n:02d}",
        "name": f"Project {n}",
        "avatarUrls": {"48x48": f"{SITE}/rest/api/3/universal_avatar/view/type/project/avatar/10400"},
        "projectTypeKey": "software" if n % 3 else "business",
        "simplified": n % 2 == 0,
        "style": "next-gen" if n % 2 == 0 else "classic",
        "isPrivate": False,
        "properties": {},
        "entityId": f"8c7f-{n}",
        "uuid": f"8c7f-{n}",
        "insight": {
            "totalIssueCount": n * 1_500,
            "lastIssueUpdateTime": f"2026-10-{n + 1:02d}T09:33:14.000+0000",
        },
    }


class PagedJira:
    """Jira's paging: at most `page_size` a page whatever maxResults asks, isLast and nextPage."""

    def __init__(self, projects: list[dict], page_size: int) -> None:
        self.projects = projects
        self.page_size = page_size
        self.asked: list[dict[str, list[str]]] = []
        self.problems: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.problems += undocumented_request_parts(request.method, str(request.url), None)
        query = parse_qs(urlsplit(str(request.url)).query)
        self.asked.append(query)
        start, size = int(query["startAt"][0]), min(int(query["maxResults"][0]), self.page_size)
        values = self.projects[start : start + size]
        is_last = start + size >= len(self.projects)
        bean = {
            "self": f"{SITE}/rest/api/3/project/search?startAt={start}&maxResults={size}",
            "maxResults": size,
            "startAt": start,
            "total": len(self.projects),
            "isLast": is_last,
            "values": values,
        }
        if not is_last:
            bean["nextPage"] = f"{SITE}/rest/api/3/project/search?startAt={start + size}&maxResults={size}"
        return httpx.Response(200, json=bean)


def _client(handler) -> JiraClient:
    credentials = JiraCredentials(base_url=SITE, auth_kind="api_token", email=SIM_EMAIL, api_token=SIM_TOKEN)
    return JiraClient.connect(credentials, transport=httpx.MockTransport(handler), rng=random.Random(0))


def test_fetch_projects_page_fills_a_page_from_several_jira_pages_and_says_where_the_next_starts() -> None:
    # Given a site of 7 projects that Jira answers 3 at a time
    jira = PagedJira([_real_project(n) for n in range(1, 8)], page_size=3)
    client = _client(jira)

    # When the first page of 5 is read, then the next from where it says
    first, next_start, total = fetch_projects_page(client, 0, 5)
    second, after, _ = fetch_projects_page(client, next_start or 0, 5)

    # Then the first took two Jira pages, the second ended at Jira's last page
    assert [p["key"] for p in first] == ["P01", "P02", "P03", "P04", "P05"] and next_start == 5 and total == 7
    assert [p["key"] for p in second] == ["P06", "P07"] and after is None
    assert [(q["startAt"], q["maxResults"]) for q in jira.asked] == [
        (["0"], ["5"]),
        (["3"], ["2"]),
        (["5"], ["5"]),
    ]
    assert all(q["expand"] == ["insight"] for q in jira.asked)
    assert jira.problems == []  # every parameter is documented


def test_fetch_projects_page_against_the_simulator_gives_its_projects_and_their_counts(
    simulator: JiraSimulator,
) -> None:
    credentials = JiraCredentials(
        base_url="https://acme-sim.atlassian.net", auth_kind="api_token", email=SIM_EMAIL, api_token=SIM_TOKEN
    )
    client = JiraClient.connect(credentials, transport=httpx.MockTransport(simulator.httpx_handler))

    values, next_start, total = fetch_projects_page(client, 0, 2)
    rest, end, _ = fetch_projects_page(client, next_start or 0, 50)

    ws = simulator.ws
    described = [describe_project(v, {"BETA"}, None) for v in values + rest]
    assert [p.key for p in described] == sorted(p.key for p in ws.projects) and total == len(ws.projects)
    assert end is None
    for project in described:
        truth = ws.project(project.key)
        assert truth is not None
        assert project.issue_count_estimate == ws.issue_count(project.key)
        assert project.style == ("team-managed" if truth.style == "next-gen" else "company-managed")
        assert project.type == "software" and project.last_issue_update
        assert project.tracked == (project.key == "BETA") and (project.first_sync is None) == project.tracked


# (case id, issues, measured rate, recent issues, split?, rate basis, seconds)
PLAN_TABLE = [
    ("small_project_syncs_whole_at_the_assumed_rate", 1_200, None, None, False, "assumed", 12),
    ("small_project_at_a_measured_rate", 1_200, 400.0, None, False, "measured", 3),
    ("big_project_recent_first_then_history", 30_000, 250.0, 2_000, True, "measured", 120),
    ("big_project_without_a_recent_count", 30_000, None, None, True, "assumed", 300),
    ("no_count_from_jira", None, None, None, False, "assumed", None),
]


@pytest.mark.parametrize(
    ("count", "rate", "recent", "split", "basis", "seconds"),
    [r[1:] for r in PLAN_TABLE],
    ids=[r[0] for r in PLAN_TABLE],
)
def test_first_sync_plan_table(count, rate, recent, split, basis, seconds) -> None:
    plan = first_sync_plan(count, rate, recent)

    assert (plan.split, plan.rate_basis, plan.estimated_seconds) == (split, basis, seconds)
    assert plan.issues_per_second == (rate or ASSUMED_ISSUES_PER_SECOND)
    if split:
        assert "first" in plan.sentence and "history" in plan.sentence
        assert plan.recent_estimated_seconds == (round(recent / rate) if recent is not None else None)


# (case id, raw project, expected (style, type, count))
DESCRIBE_TABLE = [
    (
        "classic_is_company_managed",
        {"key": "A", "style": "classic", "projectTypeKey": "software"},
        ("company-managed", "software", None),
    ),
    ("next_gen_is_team_managed", {"key": "A", "style": "next-gen"}, ("team-managed", None, None)),
    ("simplified_when_style_is_missing", {"key": "A", "simplified": True}, ("team-managed", None, None)),
    ("odd_insight_is_ignored", {"key": "A", "insight": {"totalIssueCount": "many"}}, (None, None, None)),
    ("negative_count_is_ignored", {"key": "A", "insight": {"totalIssueCount": -3}}, (None, None, None)),
    ("a_boolean_is_no_count", {"key": "A", "insight": {"totalIssueCount": True}}, (None, None, None)),
    ("count_read", {"key": "A", "insight": {"totalIssueCount": 42}}, (None, None, 42)),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [r[1:] for r in DESCRIBE_TABLE], ids=[r[0] for r in DESCRIBE_TABLE]
)
def test_describe_project_table(raw: dict, expected: tuple) -> None:
    project = describe_project(raw, set(), None)

    assert (project.style, project.type, project.issue_count_estimate) == expected
    assert project.name == "A"  # the key when Jira gives no name


def test_measured_rate_counts_only_completed_syncs() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def project(key: str, status: SyncStatus, issues: int, seconds: float) -> TrackedProject:
        return TrackedProject(
            team_id="t",
            project_key=key,
            sync_status=status,
            issues_fetched=issues,
            started_at=start,
            finished_at=start + timedelta(seconds=seconds),
        )

    done = [project("A", SyncStatus.COMPLETE, 1_000, 10), project("B", SyncStatus.COMPLETE, 2_000, 10)]
    assert measured_rate([*done, project("C", SyncStatus.FAILED, 50_000, 1)]) == 150.0
    assert measured_rate([]) is None
    assert json.dumps(first_sync_plan(1_500, measured_rate(done)).model_dump())  # serialisable


def test_fetch_projects_page_stops_after_a_bounded_number_of_jira_pages() -> None:
    # Given a Jira that answers one project a page, however many are asked
    jira = PagedJira([_real_project(n) for n in range(1, 40)], page_size=1)

    # When a page of 50 is read
    values, next_start, _ = fetch_projects_page(_client(jira), 0, 50)

    # Then it stops after JIRA_PAGES_PER_ANSWER calls and says where to go on from
    from jira_onboarding.logic.connection.projects import JIRA_PAGES_PER_ANSWER

    assert len(jira.asked) == JIRA_PAGES_PER_ANSWER == len(values) and next_start == JIRA_PAGES_PER_ANSWER


class SiteJira(PagedJira):
    """The project search as above, and the approximate count of the recent issues per project."""

    def __init__(self, projects: list[dict], recent: dict[str, object], fail_with: int | None = None) -> None:
        super().__init__(projects, page_size=50)
        self.recent = recent
        self.fail_with = fail_with
        self.counted: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, json={"errorMessages": ["Jira is down for maintenance"]})
        if request.url.path == "/rest/api/3/search/approximate-count":
            jql = json.loads(request.content)["jql"]
            self.counted.append(jql)
            key = jql.split('"')[1]
            return httpx.Response(200, json={"count": self.recent.get(key)})
        return super().__call__(request)


def test_list_site_projects_marks_tracked_projects_and_plans_the_big_ones_recent_first(team_id: str) -> None:
    # Given six projects, P04-P06 big (over SPLIT_ABOVE issues), P05 tracked by the team already
    TeamStores(team_id).runs.record("run-1", ["P05"])
    jira = SiteJira([_real_project(n) for n in range(1, 7)], recent={"P04": 400, "P06": "many"})

    answer = list_site_projects(team_id, 0, 50, client=_client(jira))

    projects = {p.key: p for p in answer.projects}
    assert list(projects) == ["P01", "P02", "P03", "P04", "P05", "P06"] and answer.total == 6
    assert answer.next_start_at is None and answer.start_at == 0
    assert projects["P05"].tracked and projects["P05"].first_sync is None
    p04, p06 = projects["P04"].first_sync, projects["P06"].first_sync
    assert p04 is not None and p04.split and p04.recent_issues_estimate == 400 and p04.rate_basis == "assumed"
    assert p06 is not None and p06.split and p06.recent_issues_estimate is None  # no plausible count
    assert not projects["P01"].first_sync.split  # type: ignore[union-attr]
    # Only the untracked big projects were counted, each over its last RECENT_DAYS days
    assert jira.counted == [f'project = "{key}" AND updated >= -{RECENT_DAYS}d' for key in ("P04", "P06")]


def test_list_site_projects_asks_jira_for_a_page_of_one_to_max_page_projects(team_id: str) -> None:
    jira = SiteJira([_real_project(n) for n in range(1, 3)], recent={})

    list_site_projects(team_id, 0, 5_000, client=_client(jira))
    list_site_projects(team_id, 1, 0, client=_client(jira))

    assert [(q["startAt"], q["maxResults"]) for q in jira.asked] == [(["0"], [str(MAX_PAGE)]), (["1"], ["1"])]


def test_list_site_projects_answers_502_with_what_jira_said_when_it_fails(team_id: str) -> None:
    jira = SiteJira([_real_project(1)], recent={}, fail_with=403)

    with pytest.raises(OnboardingRequestError) as failed:
        list_site_projects(team_id, client=_client(jira))

    assert failed.value.status == 502
    assert failed.value.message.startswith("Your Jira site did not list its projects: ")


def test_list_site_projects_opens_the_teams_own_connection_when_given_no_client(
    team_id: str, simulated_jira: JiraSimulator
) -> None:
    connect_team(team_id, team_site(team_id))

    answer = list_site_projects(team_id)

    assert sorted(p.key for p in answer.projects) == sorted(p.key for p in simulated_jira.ws.projects)
    assert not any(p.tracked for p in answer.projects)


def test_measured_rate_ignores_a_sync_that_took_no_time_and_plans_in_hours_when_long() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    instant = TrackedProject(
        team_id="t",
        project_key="A",
        sync_status=SyncStatus.COMPLETE,
        issues_fetched=9,
        started_at=at,
        finished_at=at,
    )

    assert measured_rate([instant]) is None
    assert "about 2.8 h in all" in first_sync_plan(1_000_000, None, 50_000).sentence
