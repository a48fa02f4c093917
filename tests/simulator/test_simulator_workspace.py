"""The seeded workspace is deterministic and carries the traps a sync must survive."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from jira_simulator import build_workspace


def test_simulator_same_seed_same_workspace():
    a, b = build_workspace(seed=1), build_workspace(seed=1)
    assert a.users == b.users and a.sprints == b.sprints and a.pull_requests == b.pull_requests
    for p in a.projects:
        assert json.dumps(a.issues_by_project[p.key]) == json.dumps(b.issues_by_project[p.key])
    c = build_workspace(seed=2)
    assert [u["accountId"] for u in c.users] != [u["accountId"] for u in a.users]


def test_simulator_demo_projects_and_boards(demo_ws):
    summary = [
        (p.key, p.style, p.board_type, p.board_id, demo_ws.issue_count(p.key)) for p in demo_ws.projects
    ]
    assert summary == [
        ("ALPHA", "classic", "scrum", 1, 120),
        ("BETA", "classic", "scrum", 2, 80),
        ("GAMMA", "next-gen", "scrum", 3, 60),
        ("OPS", "classic", "kanban", 4, 40),
    ]
    assert set(demo_ws.sprints) == {1, 2, 3}
    for sprints in demo_ws.sprints.values():
        assert Counter(s["state"] for s in sprints) == {"closed": 6, "active": 1, "future": 1}


def test_simulator_users_cover_the_identity_traps(demo_ws):
    users = demo_ws.users
    assert Counter(u["accountType"] for u in users) == {"atlassian": 22, "app": 2, "customer": 1}
    hidden = [u for u in users if not u.get("emailAddress")]
    forms = {("missing" if "emailAddress" not in u else repr(u["emailAddress"])) for u in hidden}
    assert forms == {"missing", "None", "''"}
    names = Counter(u["displayName"] for u in users)
    assert names["Alex Kim"] == 2
    assert any("," in n for n in names) and "José Álvarez" in names
    assert sum(not u["active"] for u in users) == 1


def test_simulator_expected_matches_are_consistent(demo_ws):
    by_id = {u["accountId"]: u for u in demo_ws.users}
    members = {m["member_id"]: m for m in demo_ws.team_members}
    assert set(demo_ws.expected_matches) == set(demo_ws.member_accounts) == set(members)
    assert len(members) == 19
    not_in_jira = [m for m, a in demo_ws.member_accounts.items() if a is None]
    assert not_in_jira == ["m14", "m15"]
    truths = [a for a in demo_ws.member_accounts.values() if a]
    assert len(truths) == len(set(truths))  # one member per account
    for member_id, account_id in demo_ws.member_accounts.items():
        expected = demo_ws.expected_matches[member_id]
        assert expected in (None, account_id)  # an expectation is never other than the truth
        if account_id is None:
            continue
        user, member = by_id[account_id], members[member_id]
        assert user["accountType"] == "atlassian" and user["active"]
        email = (user.get("emailAddress") or "").lower()
        by_email = email and email in {e.strip().lower() for e in member["emails"]}
        by_login = email and email.split("@")[0] == member["github_login"]
        by_name = _fold(user["displayName"]) == _fold(member["display_name"])
        # What can find the member is stated, and the signals agree with it.
        if demo_ws.member_found_by[member_id] == "signals":
            assert expected == account_id and (by_email or by_login or by_name), member_id
        else:
            assert expected is None and not by_email and not by_login, member_id
    # the two "Alex Kim" accounts are two members, each with the name only
    alexes = [m for m in members.values() if m["display_name"] == "Alex Kim"]
    assert {demo_ws.member_accounts[m["member_id"]] for m in alexes} == {
        u["accountId"] for u in demo_ws.users if u["displayName"] == "Alex Kim"
    }


def test_simulator_pull_requests_carry_the_evidence_of_who_is_who(demo_ws):
    from jira_simulator.github_side import EVIDENCE_NOISE, EVIDENCE_PRS, THIN_PRS, responsible_account

    owner = {}
    for project in demo_ws.projects:
        for issue in demo_ws.issues_by_project[project.key]:
            owner[issue["key"]] = responsible_account(issue)
    logins = {m["member_id"]: m["github_login"] for m in demo_ws.team_members}
    assert demo_ws.evidence_members == {"m04", "m16", "m17", "m18"}
    for member_id, how in demo_ws.member_found_by.items():
        mine = [p for p in demo_ws.pull_requests if p["author_login"] == logins[member_id] and p["merged_at"]]
        votes = [owner[p["linked_key"]] for p in mine if p["linked_key"]]
        own = votes.count(demo_ws.member_accounts[member_id])
        if member_id in demo_ws.evidence_members:
            assert (own, len(votes)) == (EVIDENCE_PRS - EVIDENCE_NOISE, EVIDENCE_PRS), member_id
        elif how == "thin":
            assert (own, len(votes)) == (THIN_PRS, THIN_PRS), member_id
    assert demo_ws.expected_matches_with_prs == {
        m: a if demo_ws.member_found_by[m] == "signals" or m in demo_ws.evidence_members else None
        for m, a in demo_ws.member_accounts.items()
    }


def _fold(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def test_simulator_story_points_live_in_the_project_kind_field(demo_ws):
    sp = demo_ws.story_point_field_ids
    assert demo_ws.sprint_field_id == "customfield_10021"
    for key, field, other in (
        ("ALPHA", sp["float"], sp["jsw-story-points"]),
        ("GAMMA", sp["jsw-story-points"], sp["float"]),
    ):
        issues = demo_ws.issues_by_project[key]
        assert all(i["fields"][other] is None for i in issues)
        values = [i["fields"][field] for i in issues]
        assert any(v is None for v in values) and sum(v for v in values if v) > 50
    by_custom = {f["schema"]["custom"]: f["id"] for f in demo_ws.fields if f.get("schema", {}).get("custom")}
    assert by_custom["com.pyxis.greenhopper.jira:gh-sprint"] == demo_ws.sprint_field_id


def test_simulator_issues_are_internally_consistent(demo_ws):
    offsets = set()
    moved = 0
    for p in demo_ws.projects:
        issues = demo_ws.issues_by_project[p.key]
        assert [i["key"] for i in issues] == [f"{p.key}-{n}" for n in range(1, len(issues) + 1)]
        created = [datetime.fromisoformat(i["fields"]["created"]) for i in issues]
        assert created == sorted(created)  # keys are handed out in creation order
        for issue in issues:
            f = issue["fields"]
            offsets.add(f["created"][-5:])
            assert datetime.fromisoformat(f["updated"]) >= datetime.fromisoformat(f["created"])
            assert (f["status"]["statusCategory"]["key"] == "done") == (f["resolutiondate"] is not None)
            sprints = f.get(demo_ws.sprint_field_id) or []
            if p.board_type == "kanban":
                assert demo_ws.sprint_field_id not in f
            if len(sprints) > 1:
                moved += 1
                assert all(s["state"] == "closed" for s in sprints[:-1])
            if sprints and sprints[-1]["state"] == "closed":
                assert f["status"]["name"] == "Done"
            if f["parent"]:
                assert f["parent"]["fields"]["issuetype"]["name"] == "Epic"
    assert moved >= 10
    assert {"-0700", "+0100", "+0000"} <= offsets


def test_simulator_changelog_matches_issue_state(demo_ws):
    scope_creep = 0
    for issue in demo_ws.issues_by_project["ALPHA"]:
        histories = demo_ws.changelog(issue["key"])
        created = [datetime.fromisoformat(h["created"]) for h in histories]
        assert created == sorted(created)
        status_items = [it for h in histories for it in h["items"] if it["fieldId"] == "status"]
        final = status_items[-1]["toString"] if status_items else "To Do"
        assert final == issue["fields"]["status"]["name"]
        sprint_items = [
            (h, it) for h in histories for it in h["items"] if it["fieldId"] == "customfield_10021"
        ]
        sprints = issue["fields"]["customfield_10021"] or []
        assert len(sprint_items) == len(sprints)
        if sprint_items:
            assert sprint_items[-1][1]["to"] == ", ".join(str(s["id"]) for s in sprints)
            first_sprint = sprints[0]
            if "startDate" in first_sprint and datetime.fromisoformat(sprint_items[0][0]["created"]) > (
                datetime.fromisoformat(first_sprint["startDate"])
            ):
                scope_creep += 1
    assert scope_creep >= 3  # some issues were added to a sprint after it started


def test_simulator_large_size_counts_without_generating(monkeypatch):
    ws = build_workspace(seed=1, size="large")
    assert len(ws.projects) == 10 and len(ws.users) == 1000
    assert ws.total_issue_count() == 50_000 and max(ws.issue_count(p.key) for p in ws.projects) == 30_000
    assert all(ws.sprints.get(p.board_id) for p in ws.projects if p.board_type == "scrum")
    assert len({u["displayName"] for u in ws.users}) >= 990
    assert ws._issues == {}  # nothing generated yet


def test_simulator_pull_requests_reference_team_and_keys(demo_ws):
    prs = demo_ws.pull_requests
    logins = {m["github_login"] for m in demo_ws.team_members}
    assert prs and all(pr["author_login"] in logins for pr in prs)
    linked = [pr for pr in prs if pr["linked_key"]]
    assert 0.7 <= len(linked) / len(prs) <= 0.9
    for pr in linked:
        text = " ".join((pr["title"], pr["branch"], pr["body"])).upper()
        assert pr["linked_key"] in text and demo_ws.get_issue(pr["linked_key"]) is not None
    assert any(pr["linked_key"] and pr["linked_key"].lower() in pr["branch"] for pr in prs)
    assert any("ZZZ-" in pr["title"] for pr in prs)
    assert all(pr["created_at"].endswith("Z") for pr in prs)


def test_simulator_issues_carry_releases_and_structure(demo_ws):
    from datetime import date

    for project in demo_ws.projects:
        issues = demo_ws.issues_by_project[project.key]
        versions = {v["id"]: v for v in demo_ws.project_versions(project.key)}
        assert any(v["released"] for v in versions.values()) and any(
            not v["released"] for v in versions.values()
        )
        by_key = {i["key"]: i for i in issues}
        with_version = with_components = with_due = with_links = 0
        for issue in issues:
            fields = issue["fields"]
            for ref in fields["fixVersions"]:
                version = versions[ref["id"]]
                if fields["resolutiondate"]:  # done work ships in the first release after it
                    done_day = datetime.fromisoformat(fields["resolutiondate"]).date()
                    assert date.fromisoformat(version["releaseDate"]) >= done_day, issue["key"]
                with_version += 1
            with_components += bool(fields["components"])
            with_due += fields["duedate"] is not None
            for link in fields["issuelinks"]:
                with_links += 1
                other_side = "inwardIssue" if "outwardIssue" in link else "outwardIssue"
                target = by_key[link.get("outwardIssue", link.get("inwardIssue"))["key"]]
                mirrored = [
                    other
                    for other in target["fields"]["issuelinks"]
                    if other["id"] == link["id"] and other[other_side]["key"] == issue["key"]
                ]
                assert mirrored, (issue["key"], link["id"])  # Jira shows a link on both issues
        assert min(with_version, with_components, with_due, with_links) > 0, project.key
