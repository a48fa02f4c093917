"""GET /jira/members, PUT and DELETE /jira/members/{member_id}/match (MemberMatchesFunction)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from jira_onboarding.api.answers import contract
from jira_onboarding.api.guards import current_team_id, require_json_body
from jira_onboarding.choice_contracts import (
    MemberMatchRequest,
    MemberMatchResponse,
    MemberMatchView,
    MembersResponse,
)

router = Router()
MemberId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@+=-]+$")]


@router.get(
    "/jira/members",
    summary="The team's members with their Jira match, and the unclaimed Jira accounts",
    **contract(200, "Every member and the unclaimed Jira accounts."),
)
def get_members() -> MembersResponse:
    from jira_onboarding.logic.people.member_matches import list_member_matches  # lazy: cold starts

    return list_member_matches(current_team_id(router))


@router.put(
    "/jira/members/<member_id>/match",
    summary='Set a member\'s Jira account by hand, or mark them "not in Jira" (kept by every later sync)',
    **contract(200, "The member's match as set.", 404, 409, body=True),
)
def put_member_match(
    member_id: MemberId, request: Annotated[MemberMatchRequest, Body()]
) -> MemberMatchResponse:
    require_json_body(router)
    from jira_onboarding.logic.people.member_matches import set_member_match  # lazy: cold starts

    return set_member_match(current_team_id(router), member_id, request)


@router.delete(
    "/jira/members/<member_id>/match",
    summary="Clear a member's match: the next matching decides afresh",
    **contract(200, "The member, unmatched until the next matching.", 400, 404),
)
def delete_member_match(member_id: MemberId) -> MemberMatchView:
    from jira_onboarding.logic.people.member_matches import clear_member_match  # lazy: cold starts

    return clear_member_match(current_team_id(router), member_id)
