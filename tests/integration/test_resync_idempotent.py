"""Running the whole pipeline twice over the same Jira stores the same items: same count, same
matches, no duplicates, and a match a person set by hand survives both runs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from jira_onboarding.dal.team import TeamStores, dump_team
from jira_onboarding.records import TeamMember

from jira_simulator import Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM
from tests.conftest import select_and_wait as _run

# Written on every run by design (sync time, run ownership): not part of what was synced.
VOLATILE = {"synced_at", "matched_at", "updated_at", "run_id"}
SYNCED_TABLES = {"team_member", "jira_user", "jira_board", "jira_sprint", "jira_issue"}
KEYS = {
    "team_member": "member_id",
    "jira_user": "account_id",
    "jira_board": "board_id",
    "jira_sprint": "sprint_id",
    "jira_issue": "issue_key",
}


def _snapshot() -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in SYNCED_TABLES}
    for item in dump_team(TEAM):
        table = item["table"]
        if table in SYNCED_TABLES:
            tables[table].append({k: v for k, v in item.items() if k not in VOLATILE})
    for table, items in tables.items():
        items.sort(key=lambda i, key=KEYS[table]: str(i[key]))
    return tables


def test_pipeline_twice_stores_identical_items_and_keeps_manual_matches(
    stack: LocalStack, connected_team: str, workspace: Workspace
):
    # Given two matches set by hand: m04 (two "Alex Kim" in Jira) and m01, overriding her email match
    alex_1 = next(u for u in workspace.users if u["displayName"] == "Alex Kim" and "emailAddress" in u)
    alex_2 = next(u for u in workspace.users if u["displayName"] == "Alex Kim" and "emailAddress" not in u)
    omar = next(u for u in workspace.users if u["displayName"] == "Omar Haddad")
    repo = TeamStores(TEAM)
    members = {m.member_id: m for m in repo.people.list_members()}
    for member_id, account in (("m04", alex_1), ("m01", omar)):
        repo.people.save_member(
            members[member_id].model_copy(
                update={
                    "jira_account_id": account["accountId"],
                    "match_method": "manual",
                    "match_confidence": 1.0,
                }
            )
        )
    keys = [p.key for p in workspace.projects]

    # When the pipeline runs twice over the same Jira
    first_run = _run(stack, keys)
    first = _snapshot()
    second_run = _run(stack, keys)
    second = _snapshot()

    # Then both runs complete and the stored items are identical
    assert first_run["status"] == second_run["status"] == "COMPLETE"
    assert {t: len(items) for t, items in second.items()} == {t: len(items) for t, items in first.items()}
    for table in SYNCED_TABLES:
        assert second[table] == first[table], table
        duplicates = [k for k, n in Counter(str(i[KEYS[table]]) for i in second[table]).items() if n > 1]
        assert duplicates == [], table
    assert len(second["jira_issue"]) == workspace.total_issue_count()
    assert len(second["jira_user"]) == len(workspace.users)
    assert len(second["jira_sprint"]) == sum(len(s) for s in workspace.sprints.values())

    # and the manual matches are untouched, every other member has the workspace's expected match
    after: dict[str, TeamMember] = {m.member_id: m for m in repo.people.list_members()}
    # (m04 claimed one "Alex Kim" by hand, so the other member named so gets the other one by name)
    expected = dict(
        workspace.expected_matches, m04=alex_1["accountId"], m01=omar["accountId"], m16=alex_2["accountId"]
    )
    assert {k: m.jira_account_id for k, m in after.items()} == expected
    assert after["m01"].match_method == after["m04"].match_method == "manual"
    assert after["m02"].match_method == "display_name"
    assert after["m05"].match_method == "email"
    assert after["m08"].match_method == "login_email_local_part"
    assert second_run["users"]["matched"] == first_run["users"]["matched"] == 14
    assert second_run["users"]["ambiguous"] == []
    # the account m01's email points at is left unclaimed, and listed by name
    assert "Maria Garcia" in second_run["users"]["unmatched_jira_user_names"]
