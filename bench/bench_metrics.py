"""Figure 6: sprint metrics, PR<->Jira linkage and insight data for a team with 100,000 issues and
20,000 pull requests: time and peak memory.

    .venv/bin/python bench/bench_metrics.py [--issues 100000] [--prs 20000]

What is timed: the pure functions the Compute Metrics step runs over what it read from DynamoDB
(`compute_sprint_metrics`, `correlate_pull_requests`, then the insight data from the snapshot and
the offline insight generator), on synthetic but realistic data: 10 projects, a scrum board each
with 40 sprints, every issue with its Sprint and status histories, PRs citing issue keys in titles,
branches and bodies (and some citing none). Reading the items from DynamoDB is NOT included (moto
would measure moto), but the input is what that read builds: each issues-table item's attributes,
one at a time, into the lean `MetricIssue` (`MetricIssueBuilder.from_stored`, as
`IssueStore.list_metric_issues` does); PRs as `PullRequest` models. Memory: the process's peak RSS
(ru_maxrss, the input data included, as the Lambda would hold it) and the tracemalloc peak of the
computation alone (a second, traced pass).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_table, verdict

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jira_onboarding.jira.models import JiraSprint

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PROJECTS = ["CORE", "WEB", "MOB", "DATA", "INFRA", "SEC", "QA", "DOCS", "OPS", "GAMMA"]
SPRINTS_PER_BOARD = 40
STATUSES = [
    ("To Do", "new"),
    ("In Progress", "indeterminate"),
    ("In Review", "indeterminate"),
    ("Done", "done"),
]


def _stored_issues(
    rng: Random, board_sprints: dict[str, list[JiraSprint]], per_project: int
) -> Iterator[dict[str, Any]]:
    """The issues-table items of the team, attribute by attribute, as a Query returns them."""
    for key in PROJECTS:
        for n in range(1, per_project + 1):
            sprint = rng.choice(board_sprints[key])
            assert sprint.start_date and sprint.end_date
            created = sprint.start_date - timedelta(days=rng.uniform(0, 20))
            added = sprint.start_date + timedelta(days=rng.uniform(-2, 5))
            flow = STATUSES[: rng.randint(1, 4)]
            status_changes = []
            at = max(added, created) + timedelta(hours=1)
            for (a, _), (b, _) in pairwise(flow):
                at += timedelta(hours=rng.uniform(2, 72))
                status_changes.append({"at": at.isoformat(), "from": a, "to": b})
            name, category = flow[-1]
            issue_type = rng.choice(["Story", "Bug", "Task"])
            is_subtask = rng.random() < 0.05
            rng.randint(0, 60)  # the assignee: not read by the metrics, drawn to keep the data as before
            yield {
                "issue_key": f"{key}-{n}",
                "project_key": key,
                "status_name": name,
                "status_category": category,
                "issue_type": issue_type,
                "is_subtask": is_subtask,
                "story_points": rng.choice([None, 1.0, 2.0, 3.0, 5.0, 8.0]),
                "sprint_ids": [sprint.id],
                "created": created,
                "resolved": at if category == "done" else None,
                "sprint_changes": [{"at": added.isoformat(), "from": None, "to": str(sprint.id)}],
                "status_changes": status_changes or None,
            }


def build(n_issues: int, n_prs: int, seed: int = 7) -> dict[str, Any]:
    from jira_onboarding.jira.models import JiraBoard, JiraSprint
    from jira_onboarding.records import PullRequest, TeamMember
    from jira_onboarding.sprint_metrics.issues import MetricIssueBuilder

    rng = Random(seed)
    boards, sprints = [], []
    sprint_id = 1
    board_sprints: dict[str, list[JiraSprint]] = {}
    for b, key in enumerate(PROJECTS, start=1):
        boards.append(JiraBoard(id=b, name=f"{key} board", type="scrum", project_key=key))
        start = NOW - timedelta(days=14 * SPRINTS_PER_BOARD)
        mine = []
        for s in range(SPRINTS_PER_BOARD):
            begin, end = start + timedelta(days=14 * s), start + timedelta(days=14 * (s + 1))
            active = s == SPRINTS_PER_BOARD - 1
            sprint = JiraSprint.model_validate(
                {
                    "id": sprint_id,
                    "name": f"{key} Sprint {s + 1}",
                    "state": "active" if active else "closed",
                    "originBoardId": b,
                    "startDate": begin,
                    "endDate": end,
                    "completeDate": None if active else end,
                }
            )
            sprint_id += 1
            mine.append(sprint)
        board_sprints[key] = mine
        sprints += mine
    members = [
        TeamMember(team_id="t", member_id=f"m{n}", github_login=f"dev{n}", display_name=f"Dev {n}")
        for n in range(40)
    ]
    per_project = n_issues // len(PROJECTS)
    # As the Lambda reads them: each issues-table item's attributes (what pynamodb hands over:
    # datetimes, numbers, the change histories as `save_issues` stores them) into the lean
    # `MetricIssue`, one item at a time (`IssueStore.list_metric_issues`).
    builder = MetricIssueBuilder()
    issues = [builder.from_stored(**item) for item in _stored_issues(rng, board_sprints, per_project)]
    prs = []
    for n in range(1, n_prs + 1):
        key = f"{rng.choice(PROJECTS)}-{rng.randint(1, per_project)}"
        kind = rng.random()
        created = NOW - timedelta(days=rng.uniform(0, 60))
        prs.append(
            PullRequest(
                team_id="t",
                repository=rng.choice(["acme/api", "acme/web", "acme/mobile"]),
                number=n,
                title=f"{key}: change" if kind < 0.5 else "Small change",
                branch=f"feature/{key.lower()}-x" if 0.5 <= kind < 0.7 else "feature/x",
                body=f"Implements {key}." if 0.7 <= kind < 0.8 else "",
                author_login=f"dev{rng.randint(0, 39)}",
                created_at=created,
                merged_at=created + timedelta(hours=rng.uniform(1, 96)) if rng.random() < 0.85 else None,
            )
        )
    return {"boards": boards, "sprints": sprints, "issues": issues, "prs": prs, "members": members}


def compute(data: dict[str, Any]) -> dict[str, Any]:
    from jira_onboarding.insights.gather import GithubInsightData, InsightData, jira_section
    from jira_onboarding.insights.generator import offline_insights
    from jira_onboarding.records import MetricsSnapshot
    from jira_onboarding.sprint_metrics.linkage import correlate_pull_requests
    from jira_onboarding.sprint_metrics.sprints import compute_sprint_metrics

    timings = {}
    t0 = time.perf_counter()
    report = compute_sprint_metrics(
        data["boards"], data["sprints"], data["issues"], now=NOW, closed_sprints=6
    )
    timings["sprint metrics"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    window = timedelta(days=30)
    linkage = correlate_pull_requests(
        data["prs"],
        project_keys=PROJECTS,
        issues=data["issues"],
        members=data["members"],
        window_start=NOW - window,
        window_end=NOW,
    )
    timings["PR linkage"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    snapshot = MetricsSnapshot(
        team_id="t",
        snapshot_id="snap",
        computed_at=NOW,
        sprint_metrics=report.model_dump(mode="json"),
        linkage=linkage.model_dump(mode="json"),
    )
    merged = [p for p in data["prs"] if p.merged_at and NOW - window <= p.merged_at < NOW]
    insight_data = InsightData(
        team_id="t",
        generated_at=NOW,
        window_days=30,
        members=len(data["members"]),
        matched_members=0,
        github=GithubInsightData(merged_prs=len(merged)),
        jira=jira_section(snapshot),
    )
    insights = offline_insights(insight_data)
    timings["snapshot + insight data + insights"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    return {
        "timings": timings,
        "insights": len(insights),
        "linkage_rate": linkage.linkage_rate,
        "boards": len(report.boards),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--prs", type=int, default=20_000)
    args = parser.parse_args()
    t = time.perf_counter()
    data = build(args.issues, args.prs)
    build_s = time.perf_counter() - t
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = compute(data)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    compute(data)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = result["timings"]["total"]
    rows = [
        (
            "6. data",
            f"{len(data['issues'])} issues, {len(data['prs'])} PRs (built in {build_s:.1f} s)",
            "",
            "",
        ),
    ]
    rows += [(f"6. time: {k}", f"{v:.2f} s", "", "") for k, v in result["timings"].items() if k != "total"]
    rows += [
        ("6. time: metrics + insight data", f"{total:.2f} s", "<= 2 s", verdict(total <= 2)),
        (
            "6. peak RSS (input data included)",
            f"{rss_peak:.0f} MB (data alone {rss_data:.0f} MB)",
            "<= 300 MB",
            verdict(rss_peak <= 300),
        ),
        ("6. traced peak of the computation", f"{traced_peak / 2**20:.0f} MB", "", ""),
        (
            "6. result",
            f"{result['boards']} boards, linkage {result['linkage_rate']}, {result['insights']} insights",
            "",
            "",
        ),
    ]
    print(fmt_table(rows, "bench_metrics: pure metric and insight functions over synthetic data"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
