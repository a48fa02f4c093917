"""The team's GitHub side: its pull requests, with the ground truth a test compares against.

Two kinds of pull requests. The background ones name random issues in every way people write keys
(title, branch, body, brackets) and carry every trap (typos, unknown projects, no key at all).
On a demo-sized workspace, the members whose account only their work can reveal ("evidence" in
workspace._DEMO_MEMBERS) also get a history: EVIDENCE_PRS merged pull requests of which all but
EVIDENCE_NOISE name an issue that belongs to their real account (assignee, or reporter when
unassigned), and a "thin" member gets THIN_PRS such pull requests only. The counts are fixed, not
sampled, so what the evidence can prove does not depend on the seed.
"""

from __future__ import annotations

from datetime import timedelta
from random import Random
from typing import TYPE_CHECKING

from .workspace import _SUMMARY_OBJECTS, _SUMMARY_VERBS, BASE_DATE

if TYPE_CHECKING:
    from .workspace import Workspace

LINK_KINDS = ("title", "branch", "body", "bracket")
EVIDENCE_PRS = 12
EVIDENCE_NOISE = 1  # a review fix or a pairing on someone else's issue
EVIDENCE_UNLINKED = 2  # and a few PRs without a key, as everybody writes
THIN_PRS = 3
# Evidence needs the issues' assignees, so the issues are generated when the workspace is built:
# only where that is cheap (the large workspace stays lazy and gets background PRs only).
MAX_ISSUES_FOR_EVIDENCE = 5_000


def responsible_account(issue: dict) -> str | None:
    """The account an issue belongs to: its assignee, or its reporter when nobody is assigned."""
    person = issue["fields"].get("assignee") or issue["fields"].get("reporter")
    return person["accountId"] if person else None


def _keys_by_account(ws: Workspace) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for project in ws.projects:
        for issue in ws.issues_by_project[project.key]:
            account = responsible_account(issue)
            if account:
                out.setdefault(account, []).append(issue["key"])
    return out


def _pr(ws: Workspace, rng: Random, kind: str, author: str, key: str, *, merged: bool | None = None) -> dict:
    spec_key, number = key.rsplit("-", 1)
    topic = f"{rng.choice(_SUMMARY_VERBS).lower()} {rng.choice(_SUMMARY_OBJECTS)}"
    linked: str | None = key
    branch = f"feature/{topic.replace(' ', '-')}"
    body = "Small change."
    if kind == "title":
        title = f"{key}: {topic}"
    elif kind == "branch":
        title = topic.capitalize()
        branch = f"{key.lower()}-{topic.replace(' ', '-')}"  # lowercase key in the branch
    elif kind == "body":
        title = topic.capitalize()
        body = f"Implements {key}.\n\nSee the ticket for details."
    elif kind == "bracket":
        title = f"[{key}] {topic}"
        branch = f"bugfix/{key}"
    elif kind == "typo":
        typo = spec_key[:-2] + spec_key[-1] + spec_key[-2] if len(spec_key) > 2 else spec_key + "X"
        title = f"{typo}-{number} {topic}"  # transposed letters: not a valid key
        linked = None
    elif kind == "unknown":
        title = f"ZZZ-{rng.randint(1, 99)} {topic}"  # unknown project
        linked = None
    else:
        title = topic.capitalize()
        linked = None
    created = BASE_DATE - timedelta(days=rng.uniform(0.5, 100))
    is_merged = rng.random() < 0.8 if merged is None else merged
    merged_at = created + timedelta(hours=rng.uniform(1, 96)) if is_merged else None
    return {
        "team_id": None,
        "repository": rng.choice(["acme/api", "acme/web", "acme/mobile"]),
        "number": 0,  # numbered once every PR is drawn
        "title": title,
        "branch": branch,
        "body": body,
        "author_login": author,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "merged_at": merged_at.strftime("%Y-%m-%dT%H:%M:%SZ") if merged_at else None,
        "linked_key": linked,
    }


def _random_key(ws: Workspace, rng: Random) -> str:
    spec = rng.choice(ws.size.projects)
    return f"{spec.key}-{rng.randint(1, spec.issues)}"


def _evidence_prs(ws: Workspace, rng: Random) -> tuple[list[dict], set[str]]:
    owned = _keys_by_account(ws)
    prs: list[dict] = []
    proven: set[str] = set()
    for member in ws.team_members:
        member_id, login = member["member_id"], member["github_login"]
        how, account = ws.member_found_by.get(member_id), ws.member_accounts.get(member_id)
        keys = owned.get(account or "", [])
        if how not in ("evidence", "thin") or not keys:
            continue
        own = EVIDENCE_PRS - EVIDENCE_NOISE if how == "evidence" else THIN_PRS
        for _ in range(own):
            prs.append(_pr(ws, rng, rng.choice(LINK_KINDS), login, rng.choice(keys), merged=True))
        if how == "evidence":
            others = [k for k in (_random_key(ws, rng) for _ in range(50)) if k not in keys]
            for key in others[:EVIDENCE_NOISE]:
                prs.append(_pr(ws, rng, rng.choice(LINK_KINDS), login, key, merged=True))
            for _ in range(EVIDENCE_UNLINKED):
                prs.append(_pr(ws, rng, "none", login, _random_key(ws, rng)))
            proven.add(member_id)
    return prs, proven


def build_pull_requests(ws: Workspace, rng: Random) -> tuple[list[dict], set[str]]:
    """The team's pull requests (``linked_key``: the ground truth, None = no valid key) and the
    members whose pull requests prove their account."""
    # Members with an evidence history author nothing else: their evidence is exactly as built.
    logins = [
        m["github_login"]
        for m in ws.team_members
        if ws.member_found_by.get(m["member_id"]) not in ("evidence", "thin")
    ]
    n_prs = 60 if len(ws.projects) <= 4 else 400
    # Fixed shares per kind (shuffled), so every trap is present whatever the seed.
    shares = {"title": 0.45, "branch": 0.15, "body": 0.12, "bracket": 0.08, "typo": 0.06, "unknown": 0.05}
    kinds = [k for k, share in shares.items() for _ in range(max(2, round(n_prs * share)))]
    kinds += ["none"] * (n_prs - len(kinds))
    rng.shuffle(kinds)
    prs = [_pr(ws, rng, kind, rng.choice(logins), _random_key(ws, rng)) for kind in kinds]
    proven: set[str] = set()
    if ws.total_issue_count() <= MAX_ISSUES_FOR_EVIDENCE:
        evidence, proven = _evidence_prs(ws, rng)
        prs += evidence
        rng.shuffle(prs)
    for number, pr in enumerate(prs, start=1):
        pr["number"] = number
    return prs, proven
