"""The demo's closing sections: sprint metrics, PR <-> Jira linkage and the top insights, read
through the real API (GET /jira/metrics, GET /jira/insights) after the run."""

from __future__ import annotations

from typing import Any, TextIO

TOP_INSIGHTS = 3


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _fig(count: dict[str, Any] | None) -> str:
    if not count:
        return "-"
    return f"{count['issues']} ({count['points']:g} pt)"


def metrics_digest(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The figures the demo prints (the API answer itself carries every key and basis)."""
    if not metrics:
        return None
    boards = []
    for board in (metrics.get("sprint_metrics") or {}).get("boards") or []:
        boards.append(
            {
                "board": board.get("board_name"),
                "velocity_average_points": board.get("velocity_average_points"),
                "velocity_trend": (board.get("velocity_trend") or {}).get("direction"),
                "cycle_time_median_days": (board.get("cycle_time") or {}).get("median_days"),
                "cycle_time_basis": (board.get("cycle_time") or {}).get("basis"),
                "bug_share": board.get("bug_share"),
                "unestimated_share": board.get("unestimated_share"),
                "carried_over_repeatedly": len(board.get("carried_over_repeatedly") or []),
                "sprints": [
                    {
                        "name": s["name"],
                        "state": s["state"],
                        **{
                            name: {"issues": s[name]["issues"], "points": s[name]["points"]}
                            for name in ("committed", "added", "removed", "completed", "carried_over")
                            if s.get(name)
                        },
                        "completion_rate_issues": s.get("completion_rate_issues"),
                        "completion_rate_points": s.get("completion_rate_points"),
                    }
                    for s in board.get("sprints") or []
                ],
            }
        )
    linkage = metrics.get("linkage") or {}
    releases = metrics.get("releases") or {}
    return {
        "snapshot_id": metrics.get("snapshot_id"),
        "boards": boards,
        "releases": {
            "released_versions": releases.get("released_versions"),
            "done_issues_released": releases.get("done_issues_released"),
            "lead_time_days_median": releases.get("lead_time_days_median"),
        },
        "linkage": {
            "merged_prs": linkage.get("merged_prs"),
            "linked_prs": linkage.get("linked_prs"),
            "linkage_rate": linkage.get("linkage_rate"),
            "unlinked_reasons": linkage.get("unlinked_reasons"),
            "done_issues_without_pr": (linkage.get("done_issues_without_pr") or {}).get("without_pr"),
            "pr_cycle_time": linkage.get("pr_cycle_time"),
        },
    }


def print_metrics(metrics: dict[str, Any] | None, insights: dict[str, Any] | None, stream: TextIO) -> None:
    out = stream.write
    if not metrics:
        out("\n  Jira metrics      none computed (see the function logs)\n")
        return
    out(f"\nJira sprint metrics (snapshot {metrics['snapshot_id']})\n")
    header = (
        "    sprint              state    committed    added        removed      "
        "completed    carried      done"
    )
    for board in (metrics.get("sprint_metrics") or {}).get("boards") or []:
        trend = (board.get("velocity_trend") or {}).get("direction", "n/a")
        cycle = board.get("cycle_time") or {}
        out(
            f"  {board.get('board_name')}: velocity {board.get('velocity_average_points')} pt/sprint "
            f"({trend}), "
            f"median cycle time {cycle.get('median_days')} d, bugs {_pct(board.get('bug_share'))}, "
            f"unestimated {_pct(board.get('unestimated_share'))}\n"
        )
        out(header + "\n")
        for s in (board.get("sprints") or [])[-3:]:
            out(
                f"    {s['name']:<19} {s['state']:<8} {_fig(s['committed']):<12} {_fig(s['added']):<12} "
                f"{_fig(s['removed']):<12} {_fig(s['completed']):<12} {_fig(s.get('carried_over')):<12} "
                f"{_pct(s.get('completion_rate_issues'))}\n"
            )
        out(f"    cycle time basis: {cycle.get('basis')}\n")
    linkage = metrics.get("linkage") or {}
    reasons = linkage.get("unlinked_reasons") or {}
    cycle = linkage.get("pr_cycle_time") or {}
    done = linkage.get("done_issues_without_pr") or {}
    out(
        f"\nPR <-> Jira linkage ({(linkage.get('window_start') or '')[:10]} .. "
        f"{(linkage.get('window_end') or '')[:10]})\n"
        f"  linkage rate      {_pct(linkage.get('linkage_rate'))} ({linkage.get('linked_prs')} of "
        f"{linkage.get('merged_prs')} merged PRs)\n"
        f"  unlinked          no key {reasons.get('no_key', 0)}, unknown project "
        f"{reasons.get('unknown_project', 0)}, "
        f"key not found {reasons.get('key_not_found', 0)}\n"
        f"  by repository     "
        + ", ".join(f"{r['repository']} {_pct(r.get('rate'))}" for r in linkage.get("by_repository") or [])
        + "\n"
        f"  done, no PR       {done.get('without_pr')} of {done.get('done_issues')} done issues\n"
        f"  PR time to merge  linked {_num(cycle.get('linked_median_hours'))} h, unlinked "
        f"{_num(cycle.get('unlinked_median_hours'))} h\n"
    )
    _print_releases(metrics.get("releases") or {}, out)
    items = (insights or {}).get("insights") or []
    generator = (insights or {}).get("generator", "n/a")
    out(f"\nTop insights ({generator} generator)\n")
    for item in items[:TOP_INSIGHTS]:
        out(f"  {item['rank']}. [{item['severity']}] {item['title']}\n     {item['detail']}\n")
    if not items:
        out("  none\n")


def _print_releases(releases: dict[str, Any], out: Any) -> None:
    """The release metric: issues done per fix version, lead time from done to release."""
    released = sorted(
        (v for v in releases.get("versions") or [] if v.get("released")),
        key=lambda v: (v.get("release_date") or "", v.get("project_key") or ""),
    )
    out(
        f"\nReleases (fix versions)\n"
        f"  released          {releases.get('released_versions', 0)} versions, "
        f"{releases.get('done_issues_released', 0)} done issues in them\n"
        f"  done -> release   median {_num(releases.get('lead_time_days_median'))} days\n"
    )
    for v in released[-3:]:
        out(
            f"    {v['name']:<19} {v.get('release_date') or '':<11} {v.get('done_issues', 0):>4} done, "
            f"median {_num(v.get('lead_time_days_median'))} d to ship\n"
        )
