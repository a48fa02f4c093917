"""Plan a run: for each project, full or incremental, and the segments it is synced in.

A segment is one JQL query over a disjoint part of a project with its own saved cursor. Pages of one
query form a chain (each page needs the previous page's token), so a big project is split into
several queries that are fetched in parallel. A full sync of a big project runs in two phases:

- **recent**: the issues updated since a fixed boundary (RECENT_DAYS before the run), so every
  project shows its current work within seconds; a small project is synced whole here;
- **backfill**: the older issues (updated before the same boundary), split into ranges of creation
  date. Both conditions use one absolute boundary string, so whatever time zone Jira reads it in,
  `updated >= B` and `updated < B` are exact complements, as are the creation-date ranges: no issue
  is missed or fetched twice. (Key ranges would be cheaper to state, but Jira Cloud's enhanced search
  answers a range bound on a key that no longer exists with no results instead of an error.)

An incremental run (the project has data) is one segment: the issues updated since the last sync.
When two or more of a run's projects are incremental, one search over all of them first asks which
had any issue updated (`changed_projects`): it gives the same answer as each project's own first
page for the projects with nothing new, for one call instead of one per project, so those are
COMPLETE at once (a nightly over a quiet workspace costs one call, not one per project).
The plan is stored on the project once per run, so a replayed planning step changes nothing.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from jira_onboarding.budget.site_data import site_fields
from jira_onboarding.contracts import PhasePlan, RunPlan, SegmentRef, StepInput
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import PROJECT_REFUSED
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.jira.models import FieldMap, parse_jira_datetime
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.logic.run.finish import mark_failed
from jira_onboarding.observability import logger
from jira_onboarding.records import ProjectSegment, SyncStatus, TrackedProject

RECENT_DAYS = 30
# Projects above this many issues sync recent-first and backfill in parallel ranges; smaller ones
# take a few seconds whole, and every extra query costs a partly filled page.
SPLIT_ABOVE = 5_000
BACKFILL_RANGE_ISSUES = 7_500  # at most about this many issues per backfill range
# At most this many backfill ranges per project, whatever the count says: the plan crosses into the
# state machine (256 KB), and 32 chains on 4 slots already keep every slot busy.
MAX_BACKFILL_RANGES = 32
# Segments the state machine syncs at once (Sync Segments' MaxConcurrency). The backfill ranges
# come in multiples of it: 6 ranges on 4 slots would end with 2 chains running and 2 slots idle.
SEGMENT_CONCURRENCY = 4
# Incremental runs ask for issues updated since the last sync plus this overlap, as a JQL period
# ("-90m"): periods are relative to now, so the Jira user's time zone cannot shift the window.
OVERLAP_MINUTES = 15
PLAN_THREADS = 4  # concurrent Jira calls while planning: a burst of 8 drew 429s at 10 req/s
PHASES = ("recent", "backfill")
# An incremental project also gets its weekly id-only sweep for deletions (project_lifecycle.py):
# one due for it runs its segment, whatever the probe says.
SWEEP_INTERVAL = timedelta(days=7)
# The probe's page: issue keys only, as many as a page with fields holds. More changed issues than
# this and every project searches on its own (the probe then cost one call more).
PROBE_PAGE = 100


def _jql_date(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y/%m/%d %H:%M")


def project_jql(project_key: str, *conditions: str) -> str:
    # Key order keeps pages stable while people create issues mid-sync (new keys sort last).
    clauses = [f'project = "{project_key}"', *conditions]
    return " AND ".join(clauses) + " ORDER BY key ASC"


def updated_since(last_synced_at: datetime, now: datetime) -> str:
    since = math.ceil((now - last_synced_at).total_seconds() / 60) + OVERLAP_MINUTES
    return f'updated >= "-{since}m"'


def incremental_jql(project_key: str, last_synced_at: datetime, now: datetime) -> str:
    return project_jql(project_key, updated_since(last_synced_at, now))


def sweep_due(project: TrackedProject, now: datetime) -> bool:
    """An incremental run of this project includes the weekly deletion sweep."""
    return project.last_swept_at is None or now - project.last_swept_at >= SWEEP_INTERVAL


def changed_projects(client: JiraClient, projects: list[TrackedProject], now: datetime) -> set[str] | None:
    """Of incremental projects, those with an issue updated since their last sync (plus the overlap),
    from one search over all of them; None when it cannot tell (fewer than two projects, where the
    probe would cost as much as the searches it saves, or more changed issues than one page).

    The window is the oldest project's, so a younger project may be counted changed for an edit it
    already has (its segment then runs as without the probe); never the other way round."""
    if len(projects) < 2 or any(p.last_synced_at is None for p in projects):
        return None
    oldest = min(p.last_synced_at for p in projects if p.last_synced_at is not None)
    keys = ", ".join(f'"{p.project_key}"' for p in projects)
    jql = f"project in ({keys}) AND {updated_since(oldest, now)} ORDER BY key ASC"
    try:
        page = client.search_page(jql, fields=["key"], max_results=PROBE_PAGE, what="the run's projects")
    except PROJECT_REFUSED:  # one project Jira refuses spoils the query: each is asked on its own
        return None
    if page.next_page_token and not page.is_last:
        return None
    wanted = {p.project_key for p in projects}
    changed = {
        key.rpartition("-")[0]
        for raw in page.issues
        if isinstance(raw, dict) and isinstance(key := raw.get("key"), str)
    }
    # A key of no project asked about (a hostile answer) says nothing of ours: each then searches.
    return changed if changed <= wanted else None


def creation_ranges(
    first_created: datetime, now: datetime, ranges: int
) -> list[tuple[str | None, str | None]]:
    """`ranges` creation-date ranges covering every issue: the first open below, the last open above."""
    if ranges <= 1 or now <= first_created:
        return [(None, None)]
    step = (now - first_created) / ranges
    bounds = [_jql_date(first_created + step * n) for n in range(1, ranges)]
    bounds = sorted(set(bounds))  # minute precision: very young projects may collapse bounds
    lows: list[str | None] = [None, *bounds]
    highs: list[str | None] = [*bounds, None]
    return list(zip(lows, highs, strict=True))


def full_segments(
    client: JiraClient, project_key: str, total: int, now: datetime
) -> dict[str, ProjectSegment]:
    if total <= SPLIT_ABOVE:
        return {"all": ProjectSegment(phase="recent", jql=project_jql(project_key))}
    boundary = f'"{_jql_date(now - timedelta(days=RECENT_DAYS))}"'
    segments = {
        "recent": ProjectSegment(phase="recent", jql=project_jql(project_key, f"updated >= {boundary}"))
    }
    first = client.search_page(
        f'project = "{project_key}" ORDER BY created ASC',
        fields=["created"],
        max_results=1,
        what=f"project {project_key}",
    )
    first_created = None
    if first.issues:
        fields = first.issues[0].get("fields")
        raw = fields.get("created") if isinstance(fields, dict) else None
        try:
            first_created = parse_jira_datetime(raw.replace("Z", "+00:00")) if isinstance(raw, str) else None
        except ValueError:  # an odd date: the ranges start from now, the last range takes the rest
            first_created = None
    slots = SEGMENT_CONCURRENCY
    wanted = slots * math.ceil(total / (slots * BACKFILL_RANGE_ISSUES))
    ranges = creation_ranges(first_created or now, now, min(wanted, MAX_BACKFILL_RANGES))
    for n, (low, high) in enumerate(ranges, start=1):
        conditions = [f"updated < {boundary}"]
        if low:
            conditions.append(f'created >= "{low}"')
        if high:
            conditions.append(f'created < "{high}"')
        segments[f"backfill-{n:02d}"] = ProjectSegment(
            phase="backfill", jql=project_jql(project_key, *conditions)
        )
    return segments


def plan_project(
    client: JiraClient,
    repo: TeamStores,
    project: TrackedProject,
    run_id: str,
    *,
    unchanged_at: datetime | None = None,
) -> TrackedProject:
    """Choose full or incremental for this run, split the project into segments and store the plan
    (once per run: a replay returns the stored plan). The site's field map is already stored.
    `unchanged_at`: the run's probe found no issue of this incremental project updated as of then."""
    if project.plan_run_id == run_id:
        return project
    now = datetime.now(UTC)
    key = project.project_key
    if project.last_synced_at is not None:
        segments = {
            "all": ProjectSegment(
                phase="recent",
                jql=incremental_jql(key, project.last_synced_at, now),
                done=unchanged_at is not None,
            )
        }
        repo.projects.save_plan(
            key,
            run_id=run_id,
            started_at=unchanged_at or now,
            sync_mode="incremental",
            segments=_segment_states(segments),
            issues_total_estimate=None,
            phase=None,
        )
        if unchanged_at is not None:
            # What its segment's empty first page would have concluded (project_lifecycle's
            # finish_project): COMPLETE, and the next run searches from the probe's time.
            repo.projects.complete(key, run_id=run_id, synced_from=unchanged_at)
    else:
        # A hint (None when Jira's count is not plausible): unknown means one segment, never an
        # allocation sized by what Jira said.
        total = client.approximate_count(f'project = "{key}"', what=f"project {key}")
        segments = full_segments(client, key, total or 0, now)
        repo.projects.save_plan(
            key,
            run_id=run_id,
            started_at=now,
            sync_mode="full",
            segments=_segment_states(segments),
            issues_total_estimate=total,
            phase="recent" if len(segments) > 1 else None,
            # Nothing stored yet: pages need no read-before-write, and the fetched count is the
            # stored count (no Count query at the end).
            fresh_store=not repo.issues.has_any(key),
        )
    return repo.projects.get(key) or project


def _segment_states(segments: dict[str, ProjectSegment]) -> dict[str, dict[str, object]]:
    return {name: segment.model_dump(exclude_none=True) for name, segment in segments.items()}


def ensure_field_map(client: JiraClient, repo: TeamStores, *, refresh: bool) -> FieldMap:
    """The site's sprint and story point fields: detected once per run that needs them."""
    connection = repo.connection.get()
    if not refresh and connection and connection.field_map:
        return FieldMap.model_validate(connection.field_map)
    if connection is None:
        field_map = FieldMap.detect(client.fields())
    else:  # detected once per site and shared by its teams (budget/site_data.py)
        shared = site_fields(connection.site_url, lambda: FieldMap.detect(client.fields()).model_dump())
        field_map = FieldMap.model_validate(shared)
    repo.connection.save_field_map(field_map.model_dump())
    return field_map


def plan_run(step: StepInput) -> RunPlan:
    """Plan every project of the run. A project Jira refuses (no access, gone) is marked FAILED
    here and left out; the others go on."""
    repo = TeamStores(step.team_id)
    run = repo.runs.get(step.run_id)
    projects = [
        p
        for p in repo.projects.among(run.project_keys if run else [])
        if p.run_id == step.run_id and p.sync_status not in {SyncStatus.COMPLETE, SyncStatus.FAILED}
    ]
    client = open_jira(step.team_id, repo, run_id=step.run_id)
    try:
        needs_full = any(p.last_synced_at is None and p.plan_run_id != step.run_id for p in projects)
        ensure_field_map(client, repo, refresh=needs_full)
        now = datetime.now(UTC)
        quiet = _quiet_projects(client, projects, step.run_id, now)

        def plan_one(project: TrackedProject) -> TrackedProject | None:
            unchanged_at = now if project.project_key in quiet else None
            try:
                return plan_project(client, repo, project, step.run_id, unchanged_at=unchanged_at)
            except PROJECT_REFUSED as exc:
                mark_failed(repo, step.run_id, project.project_key, exc.__class__.__name__, str(exc))
                return None

        with ThreadPoolExecutor(max_workers=PLAN_THREADS) as pool:
            planned = [p for p in pool.map(plan_one, projects) if p is not None]
    finally:
        client.close()
    plan = RunPlan(team_id=step.team_id, run_id=step.run_id, phases=_phases(planned))
    logger.info(
        "Run planned",
        extra={"phases": {p.name: len(p.segments) for p in plan.phases}, "projects": len(planned)},
    )
    return plan


def _quiet_projects(
    client: JiraClient, projects: list[TrackedProject], run_id: str, now: datetime
) -> set[str]:
    """The incremental projects of this run the probe found unchanged (none due for its sweep)."""
    probed = [
        p
        for p in projects
        if p.plan_run_id != run_id and p.last_synced_at is not None and not sweep_due(p, now)
    ]
    changed = changed_projects(client, probed, now)
    return set() if changed is None else {p.project_key for p in probed} - changed


def _phases(planned: list[TrackedProject]) -> list[PhasePlan]:
    """The state machine's passes over the planned projects' open segments."""
    phases: dict[str, list[tuple[int, SegmentRef]]] = {name: [] for name in PHASES}
    for project in planned:
        size = project.issues_total_estimate or 0
        for name, segment in project.segments.items():
            if segment.done:
                continue
            share = size // max(1, len(project.segments))
            phases[segment.phase].append(
                (
                    share,
                    SegmentRef(project_key=project.project_key, segment=name),
                )
            )
    plans = [
        # Largest first: the longest chains start first, so the phase ends soonest.
        PhasePlan(name=name, segments=[s for _, s in sorted(items, key=lambda i: -i[0])])
        for name, items in phases.items()
        if items
    ]
    if planned and not plans:
        # Every project was quiet (COMPLETE from the probe): one empty pass still computes the
        # metrics, as pull requests move on whether Jira did or not.
        plans = [PhasePlan(name=PHASES[0], segments=[])]
    return plans
