"""Pydantic models of the Jira payloads we read. Unknown fields are ignored; shapes follow the
official OpenAPI specs and the recorded responses in shared/jira-fixtures."""

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jira_onboarding.jira.structure import STRUCTURE_FIELDS, IssueStructure, read_structure

SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
STORY_POINTS_FIELD_TYPE = "com.pyxis.greenhopper.jira:jsw-story-points"
FLOAT_FIELD_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:float"
EPIC_LINK_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"


class JiraModel(BaseModel):
    # Schemas built on first use, not at import: a function validates a few of these at most.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


def parse_jira_datetime(value: Any) -> datetime | None:
    """Jira writes `2021-05-08T07:04:25.376+0100` on issues and `...000Z` on sprints;
    Python 3.11's fromisoformat reads both. Naive values are rejected: they would be ambiguous."""
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"Jira date without a timezone: {value!r}")
    return parsed


class JiraUser(JiraModel):
    account_id: str = Field(alias="accountId")
    account_type: str = Field(default="atlassian", alias="accountType")
    display_name: str = Field(default="", alias="displayName")
    email_address: str | None = Field(default=None, alias="emailAddress")
    active: bool = True

    @field_validator("email_address", mode="before")
    @classmethod
    def _hidden_email_is_none(cls, value: Any) -> str | None:
        # Privacy settings hide the email as null, "" or a missing key: one meaning, one value.
        if value is None or not str(value).strip():
            return None
        return str(value).strip()

    @field_validator("display_name", mode="before")
    @classmethod
    def _none_name_is_empty(cls, value: Any) -> str:
        return "" if value is None else str(value)


class JiraFieldSchema(JiraModel):
    type: str | None = None
    custom: str | None = None
    custom_id: int | None = Field(default=None, alias="customId")


class JiraField(JiraModel):
    id: str
    name: str = ""
    custom: bool = False
    field_schema: JiraFieldSchema | None = Field(default=None, alias="schema")


class JiraSprint(JiraModel):
    id: int
    name: str = ""
    state: str = ""
    board_id: int | None = Field(default=None, alias="originBoardId")
    goal: str | None = None
    start_date: datetime | None = Field(default=None, alias="startDate")
    end_date: datetime | None = Field(default=None, alias="endDate")
    complete_date: datetime | None = Field(default=None, alias="completeDate")

    @field_validator("start_date", "end_date", "complete_date", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> datetime | None:
        return parse_jira_datetime(value)

    @classmethod
    def from_issue_value(cls, value: dict[str, Any]) -> "JiraSprint":
        """The sprint field on an issue calls the board `boardId`; the Agile API says `originBoardId`."""
        data = dict(value)
        if "originBoardId" not in data and "boardId" in data:
            data["originBoardId"] = data["boardId"]
        return cls.model_validate(data)


class JiraBoard(JiraModel):
    id: int
    name: str = ""
    type: str = "scrum"
    project_key: str | None = None

    @classmethod
    def from_payload(cls, value: dict[str, Any]) -> "JiraBoard":
        location = value.get("location") or {}
        return cls(
            id=value["id"],
            name=value.get("name", ""),
            type=value.get("type", "scrum"),
            project_key=location.get("projectKey"),
        )


class FieldChange(JiraModel):
    """One change of one field from an issue's changelog, compact: when, from what, to what.

    Sprint changes keep the sprint ids as Jira writes them (`"12, 13"`: every sprint the field held);
    status changes keep the status names (`fromString`/`toString`), which a reader recognises."""

    at: datetime
    from_value: str | None = Field(default=None, alias="from")
    to_value: str | None = Field(default=None, alias="to")

    def sprint_ids(self, side: str) -> frozenset[int]:
        """The sprint ids on one side ("from" or "to") of a Sprint change."""
        raw = self.from_value if side == "from" else self.to_value
        return frozenset(int(part) for part in (raw or "").split(",") if part.strip().isdigit())

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: Any) -> datetime | None:
        return parse_jira_datetime(value)


class JiraIssue(JiraModel):
    """An issue reduced to what the product stores, read through the team's field map."""

    id: str
    key: str
    project_key: str
    summary: str = ""
    status_name: str | None = None
    status_category: str | None = None
    issue_type: str | None = None
    is_subtask: bool = False
    priority: str | None = None
    assignee_account_id: str | None = None
    reporter_account_id: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    resolved: datetime | None = None
    labels: tuple[str, ...] = ()
    parent_key: str | None = None
    sprint_ids: tuple[int, ...] = ()
    story_points: float | None = None
    # From the bulk changelog, oldest first; empty when the changelog was not fetched.
    sprint_changes: tuple[FieldChange, ...] = ()
    status_changes: tuple[FieldChange, ...] = ()
    structure: IssueStructure = IssueStructure()  # releases and structure (jira/structure.py)


class SearchPage(JiraModel):
    """One page of `POST /rest/api/3/search/jql` (SearchAndReconcileResults)."""

    issues: list[dict[str, Any]] = Field(default_factory=list)
    is_last: bool = Field(default=True, alias="isLast")
    next_page_token: str | None = Field(default=None, alias="nextPageToken")


class FieldMap(JiraModel):
    """Which custom fields hold sprints and story points on this site, detected by schema type."""

    sprint_field: str | None = None
    story_point_fields: tuple[str, ...] = ()
    epic_link_field: str | None = None

    @classmethod
    def detect(cls, fields: list[JiraField]) -> "FieldMap":
        sprint = None
        jsw_points: list[str] = []
        float_points: list[str] = []
        epic = None
        for field in fields:
            custom = field.field_schema.custom if field.field_schema else None
            if custom == SPRINT_FIELD_TYPE and sprint is None:
                sprint = field.id
            elif custom == STORY_POINTS_FIELD_TYPE:
                jsw_points.append(field.id)
            elif custom == EPIC_LINK_FIELD_TYPE:
                epic = field.id
            elif custom == FLOAT_FIELD_TYPE and field.name.strip().casefold() == "story points":
                # The company-managed "Story Points" is a plain number field: its type alone cannot
                # tell it from any other number, so this fallback is the one place a name counts.
                # A board's own estimation field (board configuration) takes precedence over it.
                float_points.append(field.id)
        return cls(
            sprint_field=sprint, story_point_fields=tuple(jsw_points + float_points), epic_link_field=epic
        )

    def issue_fields(self, extra: tuple[str, ...] = ()) -> list[str]:
        """The field list to request on search: only what we store."""
        names = [
            "summary",
            "status",
            "issuetype",
            "priority",
            "assignee",
            "reporter",
            "created",
            "updated",
            "resolutiondate",
            "labels",
            "parent",
            "project",
            *STRUCTURE_FIELDS,
        ]
        for name in (self.sprint_field, self.epic_link_field, *self.story_point_fields, *extra):
            if name and name not in names:
                names.append(name)
        return names


_SERVER_SPRINT_ID = re.compile(r"\[id=(\d+)[,\]]")


def _account_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("accountId") or value.get("name") or value.get("key")
    return None


def _points(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_issue(
    payload: dict[str, Any], field_map: FieldMap, estimation_field: str | None = None
) -> JiraIssue:
    """Read one search result through the field map. `estimation_field` is the board's own
    estimation field, preferred over the site-wide candidates."""
    fields = payload.get("fields") or {}
    status = fields.get("status") or {}
    category = status.get("statusCategory") or {}
    issue_type = fields.get("issuetype") or {}
    project = fields.get("project") or {}
    key = payload["key"]
    sprints = fields.get(field_map.sprint_field) if field_map.sprint_field else None
    sprint_ids: list[int] = []
    if isinstance(sprints, dict):
        sprints = [sprints]  # recorded payloads hold `{}` (no sprint) or a single object here
    for sprint in sprints or []:
        if isinstance(sprint, dict) and "id" in sprint:
            sprint_ids.append(int(sprint["id"]))
        elif isinstance(sprint, str) and (found := _SERVER_SPRINT_ID.search(sprint)):
            # Jira Server and old Cloud render a sprint as "...Sprint@1a2b[id=12,rapidViewId=3,...]".
            sprint_ids.append(int(found.group(1)))
    points = None
    candidates = ((estimation_field,) if estimation_field else ()) + field_map.story_point_fields
    for field_id in candidates:
        points = _points(fields.get(field_id))
        if points is not None:
            break
    parent = fields.get("parent") or {}
    parent_key = parent.get("key") or (
        fields.get(field_map.epic_link_field) if field_map.epic_link_field else None
    )
    return JiraIssue(
        # Trimmed payloads (jira-cli's recorded search) carry only the key; the key is the identity.
        id=str(payload.get("id") or ""),
        key=key,
        project_key=project.get("key") or key.rsplit("-", 1)[0],
        summary=fields.get("summary") or "",
        status_name=status.get("name"),
        status_category=category.get("key"),
        issue_type=issue_type.get("name"),
        is_subtask=bool(issue_type.get("subtask", False)),
        priority=(fields.get("priority") or {}).get("name"),
        assignee_account_id=_account_id(fields.get("assignee")),
        reporter_account_id=_account_id(fields.get("reporter")),
        created=parse_jira_datetime(fields.get("created")),
        updated=parse_jira_datetime(fields.get("updated")),
        resolved=parse_jira_datetime(fields.get("resolutiondate")),
        labels=tuple(fields.get("labels") or ()),
        parent_key=parent_key if isinstance(parent_key, str) else None,
        sprint_ids=tuple(sorted(set(sprint_ids))),
        story_points=points,
        structure=read_structure(fields),
    )
