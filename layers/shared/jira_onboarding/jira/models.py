"""Pydantic models of the Jira payloads we read. Unknown fields are ignored; shapes follow the
official OpenAPI specs and the recorded responses in shared/jira-fixtures."""

from collections import Counter
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jira_onboarding.jira.readers import (
    MAX_NAME,
    MAX_TEXT,
    FieldReader,
    account_id,
    obj,
    parse_jira_datetime,
    points,
    text,
)
from jira_onboarding.jira.structure import STRUCTURE_FIELDS, IssueStructure, read_structure

__all__ = ["parse_issue", "parse_jira_datetime"]

SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
STORY_POINTS_FIELD_TYPE = "com.pyxis.greenhopper.jira:jsw-story-points"
FLOAT_FIELD_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:float"
EPIC_LINK_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"


M = TypeVar("M", bound="JiraModel")


class JiraModel(BaseModel):
    # Schemas built on first use, not at import: a function validates a few of these at most.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)

    @classmethod
    def from_payload(cls: type[M], value: Any) -> M | None:
        """The model, or None when Jira sent something that is not one (counted by the caller)."""
        if not isinstance(value, dict):
            return None
        try:
            return cls.model_validate(value)
        except (ValidationError, ValueError, TypeError, OverflowError):
            return None


class JiraUser(JiraModel):
    account_id: str = Field(alias="accountId", min_length=1, max_length=MAX_NAME)
    account_type: str = Field(default="atlassian", alias="accountType")
    display_name: str = Field(default="", alias="displayName")
    email_address: str | None = Field(default=None, alias="emailAddress")
    active: bool = True

    @field_validator("email_address", mode="before")
    @classmethod
    def _hidden_email_is_none(cls, value: Any) -> str | None:
        # Privacy settings hide the email as null, "" or a missing key: one meaning, one value.
        if not isinstance(value, str) or not value.strip() or len(value) > 320:
            return None
        return value.strip()

    @field_validator("display_name", mode="before")
    @classmethod
    def _none_name_is_empty(cls, value: Any) -> str:
        return value[:MAX_NAME] if isinstance(value, str) else ""


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
        try:
            return parse_jira_datetime(value)
        except ValueError:
            return None  # a sprint with an odd date is still a sprint

    @field_validator("name", "state", mode="before")
    @classmethod
    def _names(cls, value: Any) -> str:
        return value[:MAX_NAME] if isinstance(value, str) else ""

    @field_validator("goal", mode="before")
    @classmethod
    def _goal(cls, value: Any) -> str | None:
        return text(value, MAX_TEXT)

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
    def from_payload(cls, value: Any) -> "JiraBoard | None":
        if not isinstance(value, dict):
            return None
        location = value.get("location")
        project_key = location.get("projectKey") if isinstance(location, dict) else None
        return super().from_payload(
            {
                "id": value.get("id"),
                "name": text(value.get("name"), MAX_NAME) or "",
                "type": text(value.get("type"), 40) or "scrum",
                "project_key": text(project_key, MAX_NAME),
            }
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
        parts = (part.strip() for part in (raw or "").split(","))
        return frozenset(int(part) for part in parts if part.isdigit() and len(part) <= 18)

    @field_validator("from_value", "to_value", mode="before")
    @classmethod
    def _short(cls, value: Any) -> str | None:
        return text(value, MAX_NAME)

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

    @classmethod
    def from_payload(cls, value: Any) -> "SearchPage":  # type: ignore[override]
        """Read leniently: entries that are not objects are dropped, a token that is not a string
        is no token, an `isLast` that is not a boolean is read as Jira's default."""
        body = obj(value)
        issues = body.get("issues")
        token = body.get("nextPageToken")
        is_last = body.get("isLast")
        return cls(
            issues=[issue for issue in issues if isinstance(issue, dict)] if isinstance(issues, list) else [],
            is_last=is_last if isinstance(is_last, bool) else True,
            next_page_token=token if isinstance(token, str) and token else None,
        )


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


def parse_issue(
    payload: dict[str, Any],
    field_map: FieldMap,
    estimation_field: str | None = None,
    problems: Counter[str] | None = None,
) -> JiraIssue:
    """Read one search result through the field map. `estimation_field` is the board's own
    estimation field, preferred over the site-wide candidates. Never raises on odd values: a field
    of the wrong shape is stored as null and counted in `problems`; a key that is not a string is
    read as "" (the batcher drops issues whose key is not a key of the project)."""
    read = FieldReader(obj(payload.get("fields")), problems)
    fields = read.fields
    status = obj(fields.get("status"))
    issue_type = obj(fields.get("issuetype"))
    key = text(payload.get("key"), MAX_NAME) or ""
    story_points = None
    candidates = ((estimation_field,) if estimation_field else ()) + field_map.story_point_fields
    for field_id in candidates:
        story_points = points(fields.get(field_id))
        if story_points is not None:
            break
    parent_key = obj(fields.get("parent")).get("key") or (
        fields.get(field_map.epic_link_field) if field_map.epic_link_field else None
    )
    raw_id = payload.get("id")
    issue_id = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else ""
    if raw_id is not None and not (issue_id.isdigit() and len(issue_id) <= 20):
        read.bad("id")
        issue_id = ""
    summary = fields.get("summary")
    if isinstance(summary, str) and len(summary) > MAX_TEXT:
        read.bad("summary")  # cut, not lost: counted so the warning says how many were cut
    return JiraIssue(
        # Trimmed payloads (jira-cli's recorded search) carry only the key; the key is the identity.
        id=issue_id,
        key=key,
        project_key=text(obj(fields.get("project")).get("key"), MAX_NAME) or key.rsplit("-", 1)[0],
        summary=text(summary, MAX_TEXT) or "",
        status_name=text(status.get("name"), MAX_NAME),
        status_category=text(obj(status.get("statusCategory")).get("key"), MAX_NAME),
        issue_type=text(issue_type.get("name"), MAX_NAME),
        is_subtask=issue_type.get("subtask") is True,
        priority=read.name_of("priority"),
        assignee_account_id=account_id(fields.get("assignee")),
        reporter_account_id=account_id(fields.get("reporter")),
        created=read.date("created"),
        updated=read.date("updated"),
        resolved=read.date("resolutiondate"),
        labels=read.labels(),
        parent_key=text(parent_key, MAX_NAME),
        sprint_ids=read.sprint_ids(field_map.sprint_field),
        story_points=story_points,
        structure=read_structure(fields),
    )
