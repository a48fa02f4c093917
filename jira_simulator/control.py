"""Changes to the simulated workspace, as a person working in Jira makes them: create, edit and
delete issues, move them between sprints, start and close sprints.

Each change returns the webhook events Jira would send for it (`Change`), which `webhooks.py`
delivers. Every change moves the workspace clock forward, so `updated` strictly increases and the
changelog, the sprint dates and `updated` share one timeline. The ground truth after any sequence
is the workspace itself; a sprint's scope at its start is kept in `scope_at_start`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .workspace import (
    ISSUE_TYPES,
    PRIORITIES,
    SITE,
    STATUSES,
    Workspace,
    _sprint_ref,
    _status_item,
    jira_datetime,
    sprint_datetime,
)

_ID_BASE_CREATED = 900000  # ids of created issues: far above every generated one


@dataclass
class Change:
    """One webhook event: its name and the payload Jira would send."""

    event: str
    payload: dict[str, Any]
    project_key: str | None = None


@dataclass
class Control:
    ws: Workspace
    scope_at_start: dict[int, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _history_id: int = 90_000_000

    # ---- time ------------------------------------------------------------------------------
    def _tick(self) -> datetime:
        """The next instant of the workspace's clock (after every earlier timestamp, and now)."""
        ws = self.ws
        ws._clock = max(ws._clock + timedelta(seconds=1), datetime.now(UTC).replace(microsecond=0))
        return ws._clock

    def _issue_payload(self, event: str, issue: dict, items: list[dict], at: datetime) -> Change:
        body = {
            "timestamp": int(at.timestamp() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": {
                "jira:issue_created": "issue_created",
                "jira:issue_deleted": "issue_deleted",
            }.get(event, "issue_generic"),
            "user": {
                "self": f"{SITE}/rest/api/2/user?accountId={self.ws.admin_user.get('accountId')}",
                "accountId": self.ws.admin_user.get("accountId"),
                "displayName": self.ws.admin_user.get("displayName"),
            },
            "issue": {
                "id": issue["id"],
                "self": issue["self"],
                "key": issue["key"],
                "fields": dict(issue["fields"]),
            },
        }
        if items:
            body["changelog"] = {"id": str(self._history_id), "items": items}
        return Change(event, body, issue["key"].rsplit("-", 1)[0])

    def _record(self, issue: dict, items: list[dict], at: datetime) -> None:
        self._history_id += 1
        self.ws._changelogs.setdefault(issue["key"], []).append(
            {
                "id": str(self._history_id),
                "author": self.ws.admin_user,
                "created": jira_datetime(at),
                "items": items,
            }
        )

    def _touch(self, issue: dict, at: datetime, **fields: Any) -> None:
        new_fields = dict(issue["fields"])
        new_fields.update(fields)
        new_fields["updated"] = jira_datetime(at)
        issue["fields"] = new_fields
        self.ws.version += 1

    # ---- issues ----------------------------------------------------------------------------
    def issue(self, key: str) -> dict:
        found = self.ws.get_issue(key)
        if found is None:
            raise KeyError(key)
        return found

    def create_issue(
        self, project_key: str, summary: str, *, points: float | None = None, sprint_id: int | None = None
    ) -> list[Change]:
        ws = self.ws
        with ws._lock, self._lock:
            project = ws.project(project_key)
            if project is None:
                raise KeyError(project_key)
            issues = ws._issues_of(project.key)
            number = 1 + max((int(i["key"].rsplit("-", 1)[1]) for i in issues), default=0)
            number = max(
                number, 1 + sum(1 for k in ws._deleted if k.startswith(f"{project.key}-")) + len(issues)
            )
            key = f"{project.key}-{number}"
            issue_id = str(_ID_BASE_CREATED + len(ws._created_ids) + 1)
            at = self._tick()
            template = issues[0]["fields"] if issues else {}
            fields: dict[str, Any] = {
                "issuetype": ISSUE_TYPES["Story"],
                "parent": None,
                "project": template.get("project"),
                "resolution": None,
                "resolutiondate": None,
                "created": jira_datetime(at),
                "updated": jira_datetime(at),
                "priority": PRIORITIES[2],
                "labels": [],
                "assignee": None,
                "status": STATUSES["To Do"],
                "summary": summary,
                "reporter": template.get("reporter"),
                "creator": template.get("creator"),
                "subtasks": [],
                project.story_point_field_id: points,
            }
            if ws.sprints.get(project.board_id) is not None:
                sprint = ws.sprint(sprint_id) if sprint_id is not None else None
                fields[ws.sprint_field_id] = [_sprint_ref(sprint)] if sprint else None
            target = ws.sprint(sprint_id) if sprint_id is not None else None
            issue = {
                "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
                "id": issue_id,
                "self": f"{SITE}/rest/api/3/issue/{issue_id}",
                "key": key,
                "fields": fields,
            }
            issues.append(issue)
            ws._index[key] = issue
            ws._created_ids[issue_id] = key
            ws._changelogs[key] = []
            if target is not None:
                self._record(issue, [self._sprint_item([], [target])], at)
            ws.version += 1
            return [self._issue_payload("jira:issue_created", issue, [], at)]

    def edit_issue(
        self, key: str, *, summary: str | None = None, status: str | None = None, points: float | None = None
    ) -> list[Change]:
        ws = self.ws
        with ws._lock, self._lock:
            issue = self.issue(key)
            at = self._tick()
            changes: dict[str, Any] = {}
            items: list[dict] = []
            if summary is not None:
                changes["summary"] = summary
                items.append(
                    {
                        "field": "summary",
                        "fieldtype": "jira",
                        "fieldId": "summary",
                        "from": None,
                        "fromString": issue["fields"].get("summary"),
                        "to": None,
                        "toString": summary,
                    }
                )
            if points is not None:
                field_id = ws.project(key.rsplit("-", 1)[0]).story_point_field_id  # type: ignore[union-attr]
                changes[field_id] = points
            if status is not None and status != issue["fields"]["status"]["name"]:
                items.append(_status_item(issue["fields"]["status"]["name"], status))
                changes["status"] = STATUSES[status]
                done = STATUSES[status]["statusCategory"]["key"] == "done"
                changes["resolutiondate"] = jira_datetime(at) if done else None
                self._record(issue, [items[-1]], at)
            self._touch(issue, at, **changes)
            return [self._issue_payload("jira:issue_updated", issue, items, at)]

    def delete_issue(self, key: str) -> list[Change]:
        ws = self.ws
        with ws._lock, self._lock:
            issue = self.issue(key)
            at = self._tick()
            ws.delete_issue(issue["key"])
            return [self._issue_payload("jira:issue_deleted", issue, [], at)]

    @staticmethod
    def _sprint_item(before: list[dict], after: list[dict]) -> dict:
        return {
            "field": "Sprint",
            "fieldtype": "custom",
            "fieldId": "customfield_10021",
            "from": ", ".join(str(s["id"]) for s in before) or None,
            "fromString": ", ".join(s["name"] for s in before) or None,
            "to": ", ".join(str(s["id"]) for s in after) or None,
            "toString": ", ".join(s["name"] for s in after) or None,
        }

    def move_to_sprint(self, key: str, sprint_id: int | None) -> list[Change]:
        """Move an issue to a sprint (or the backlog): its open-sprint membership is replaced,
        closed sprints it was in stay in its Sprint field, as in Jira."""
        ws = self.ws
        with ws._lock, self._lock:
            issue = self.issue(key)
            at = self._tick()
            change = self._move(issue, sprint_id, at)
            return [change] if change else []

    def _move(self, issue: dict, sprint_id: int | None, at: datetime) -> Change | None:
        ws = self.ws
        current = list(issue["fields"].get(ws.sprint_field_id) or [])
        kept = [s for s in current if s.get("state") == "closed"]
        target = ws.sprint(sprint_id) if sprint_id is not None else None
        after = kept + ([_sprint_ref(target)] if target else [])
        if [s["id"] for s in after] == [s["id"] for s in current]:
            return None
        item = self._sprint_item(current, after)
        self._record(issue, [item], at)
        self._touch(issue, at, **{ws.sprint_field_id: after or None})
        return self._issue_payload("jira:issue_updated", issue, [item], at)

    # ---- sprints ---------------------------------------------------------------------------
    def _sprint_change(self, event: str, sprint: dict, at: datetime) -> Change:
        board = self.ws.board(sprint["originBoardId"]) or {}
        project = (board.get("location") or {}).get("projectKey")
        return Change(
            event,
            {"timestamp": int(at.timestamp() * 1000), "webhookEvent": event, "sprint": dict(sprint)},
            project,
        )

    def _refresh_refs(self, sprint: dict, at: datetime) -> None:
        """Issues show their sprints' current state in the Sprint field (no `updated` change)."""
        ws = self.ws
        for issues in ws._issues.values():
            for issue in issues:
                refs = issue["fields"].get(ws.sprint_field_id) or []
                if any(s["id"] == sprint["id"] for s in refs):
                    issue["fields"] = {
                        **issue["fields"],
                        ws.sprint_field_id: [
                            _sprint_ref(sprint) if s["id"] == sprint["id"] else s for s in refs
                        ],
                    }
        ws.version += 1

    def members(self, sprint_id: int) -> list[dict]:
        ws = self.ws
        return [
            issue
            for issues in ws._issues.values()
            for issue in issues
            if any(s["id"] == sprint_id for s in issue["fields"].get(ws.sprint_field_id) or [])
        ]

    def start_sprint(self, sprint_id: int) -> list[Change]:
        ws = self.ws
        with ws._lock, self._lock:
            sprint = ws.sprint(sprint_id)
            if sprint is None or sprint["state"] != "future":
                raise ValueError(f"sprint {sprint_id} is not a future sprint")
            at = self._tick()
            sprint["state"] = "active"
            sprint["startDate"] = sprint_datetime(at)
            sprint["endDate"] = sprint_datetime(at + timedelta(days=14))
            self._refresh_refs(sprint, at)
            project = ws.project(self._sprint_change("", sprint, at).project_key or "")
            committed = [i for i in self.members(sprint_id) if not i["fields"]["issuetype"].get("subtask")]
            field_id = project.story_point_field_id if project else ""
            self.scope_at_start[sprint_id] = {
                "issue_keys": sorted(i["key"] for i in committed),
                "points": float(sum(i["fields"].get(field_id) or 0 for i in committed)),
            }
            return [self._sprint_change("sprint_started", sprint, at)]

    def close_sprint(self, sprint_id: int) -> list[Change]:
        """Close an active sprint: its open issues move to the board's next future sprint (or the
        backlog), as Jira's "complete sprint" does."""
        ws = self.ws
        with ws._lock, self._lock:
            sprint = ws.sprint(sprint_id)
            if sprint is None or sprint["state"] != "active":
                raise ValueError(f"sprint {sprint_id} is not active")
            at = self._tick()
            sprint["state"] = "closed"
            sprint["completeDate"] = sprint_datetime(at)
            self._refresh_refs(sprint, at)
            later = [s for s in ws.sprints.get(sprint["originBoardId"], []) if s["state"] == "future"]
            target = min(later, key=lambda s: s["id"]) if later else None
            changes = [self._sprint_change("sprint_closed", sprint, at)]
            for issue in self.members(sprint_id):
                if issue["fields"]["status"]["statusCategory"]["key"] != "done":
                    moved = self._move(issue, target["id"] if target else None, at)
                    if moved:
                        changes.append(moved)
            return changes
