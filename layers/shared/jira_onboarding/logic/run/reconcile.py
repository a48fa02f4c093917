"""After a run's segments: did Jira lose issues while the run was fetching them?

A full sync stores every issue it fetched, so an issue deleted in Jira after its page was fetched
stays stored as live. One approximate count over all the run's freshly synced projects answers
that for the whole run: when Jira still has at least as many issues as the run fetched, nothing
was lost. Only when it has fewer does each project get its own count, and a project with fewer
issues an id-only sweep. (A deletion and a creation in the same window cancel out; the weekly
sweep of the nightly run is the backstop.)
"""

from __future__ import annotations

from typing import Any

from jira_onboarding.contracts import StepInput
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.logic.run.lifecycle import sweep_deleted
from jira_onboarding.observability import logger
from jira_onboarding.records import SyncStatus


def reconcile_run(step: StepInput) -> dict[str, Any]:
    repo = TeamStores(step.team_id)
    run = repo.runs.get(step.run_id)
    projects = [
        p
        for p in repo.projects.among(run.project_keys if run else [])
        if p.run_id == step.run_id
        and p.sync_status == SyncStatus.COMPLETE
        and p.sync_mode == "full"
        and p.fresh_store
    ]
    if not projects:
        return {"run_id": step.run_id, "checked": [], "swept": []}
    fetched = sum(p.issues_fetched for p in projects)
    swept: list[str] = []
    client = open_jira(step.team_id, repo, run_id=step.run_id)
    try:
        keys = ", ".join(f'"{p.project_key}"' for p in projects)
        jira_total = client.approximate_count(f"project in ({keys})", what="the run's projects")
        # An implausible count (None) says nothing: the weekly sweep stays the backstop.
        if jira_total is not None and jira_total < fetched:
            for project in projects:
                key = project.project_key
                count = client.approximate_count(f'project = "{key}"', what=f"project {key}")
                if count is not None and count < project.issues_fetched:
                    sweep_deleted(client, repo, key)
                    repo.projects.set_issues_stored(key, repo.issues.count(key))
                    swept.append(key)
    finally:
        client.close()
    logger.info(
        "Run reconciled with Jira",
        extra={"projects": len(projects), "fetched": fetched, "jira_total": jira_total, "swept": swept},
    )
    return {"run_id": step.run_id, "checked": [p.project_key for p in projects], "swept": swept}
