"""Contracts of the routes a team chooses with: the site's projects (GET /jira/projects) and who is
who in Jira (GET /jira/members, PUT|DELETE /jira/members/{member_id}/match)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from jira_onboarding.contracts import BoundaryModel, Contract


class MemberMatchView(BoundaryModel):
    """One team member and their Jira account, as matched (GET /jira/members)."""

    member_id: str
    github_login: str | None = None
    display_name: str | None = None
    # matched (automatic) | manual (set by hand) | not_in_jira (set by hand) | unmatched
    status: Literal["matched", "manual", "not_in_jira", "unmatched"]
    jira_account_id: str | None = None
    jira_display_name: str | None = None
    method: str | None = None  # email | display_name | login_email_local_part | pr_evidence | manual
    confidence: float | None = None
    evidence: dict[str, Any] | None = None  # what the member's merged pull requests say


class JiraAccountView(BoundaryModel):
    account_id: str
    display_name: str


class MembersResponse(BoundaryModel):
    """GET /jira/members: every member with their match, and the Jira accounts nobody claims."""

    members: list[MemberMatchView]
    unclaimed_jira_accounts: list[JiraAccountView]


class MemberMatchRequest(Contract):
    """PUT /jira/members/{member_id}/match body: an account id, or `not_in_jira: true`."""

    account_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9:_-]+$")
    not_in_jira: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> MemberMatchRequest:
        if (self.account_id is None) == (not self.not_in_jira):
            raise ValueError('give either "account_id" or "not_in_jira": true, not both')
        return self


class MemberMatchResponse(BoundaryModel):
    member: MemberMatchView
    # Members whose automatic match to that account was cleared (a person knows better).
    cleared_members: list[str] = Field(default_factory=list)


class FirstSyncPlan(BoundaryModel):
    """How a project's first sync will go: a big one shows its recent issues first."""

    split: bool  # recent issues first, then the history
    recent_days: int
    recent_issues_estimate: int | None = None  # updated in the last `recent_days` days
    estimated_seconds: int | None = None  # the whole first sync, at `issues_per_second`
    recent_estimated_seconds: int | None = None
    issues_per_second: float
    rate_basis: str  # "measured" (this team's earlier syncs of this site) | "assumed"
    sentence: str


class SiteProject(BoundaryModel):
    key: str
    name: str
    type: str | None = None  # Jira's projectTypeKey: software, business, service_desk
    style: str | None = None  # company-managed | team-managed
    issue_count_estimate: int | None = None
    last_issue_update: str | None = None
    tracked: bool = False  # the team syncs it already
    first_sync: FirstSyncPlan | None = None


class JiraProjectsResponse(BoundaryModel):
    """GET /jira/projects: one page of the connected site's projects."""

    projects: list[SiteProject]
    start_at: int
    next_start_at: int | None = None  # None: this was the last page
    total: int | None = None
