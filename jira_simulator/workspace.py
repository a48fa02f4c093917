"""Deterministic seeded Jira workspace that knows its own ground truth.

Everything derives from ``random.Random`` seeded with the workspace seed and a fixed base date
(:data:`BASE_DATE`), never the wall clock, so the same seed always yields the same workspace.
Issues of a project are generated lazily on first access (the "large" size has 50,000 of them).
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from random import Random
from typing import Any

SITE = "https://acme-sim.atlassian.net"
BASE_DATE = datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)
SPRINT_DAYS = 14

SPRINT_FIELD_ID = "customfield_10021"
FLOAT_SP_FIELD_ID = "customfield_10036"
JSW_SP_FIELD_ID = "customfield_10016"
RANK_FIELD_ID = "customfield_10019"
# customfield_10020 is the Sprint field on many sites; here it is a plain date field so that a
# client hard-coding the id (instead of detecting gh-sprint by schema.custom) gets caught.
START_DATE_FIELD_ID = "customfield_10020"
LEGACY_SPRINT_TEXT_FIELD_ID = "customfield_10040"

TZ_OFFSETS = {
    "Etc/UTC": 0,
    "Europe/London": 60,
    "Europe/Madrid": 120,
    "America/Los_Angeles": -420,
    "America/New_York": -240,
    "Asia/Kolkata": 330,
    "Australia/Sydney": 660,
}


# --------------------------------------------------------------------------- formatting helpers


def jira_datetime(dt: datetime, offset_minutes: int = 0) -> str:
    """Format like Jira issue dates: ``2026-10-08T07:04:25.376+0100`` (no colon in the offset)."""
    # gmtime + %-formatting: strftime is the bottleneck when generating 50,000 issues.
    t = time.gmtime(int(dt.timestamp()) + offset_minutes * 60)
    sign = "+" if offset_minutes >= 0 else "-"
    hh, mm = divmod(abs(offset_minutes), 60)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s%02d%02d" % (  # noqa: UP031
        t.tm_year,
        t.tm_mon,
        t.tm_mday,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
        dt.microsecond // 1000,
        sign,
        hh,
        mm,
    )


def sprint_datetime(dt: datetime) -> str:
    """Format like Agile sprint dates: ``2026-10-01T09:00:00.000Z``."""
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def parse_jira_datetime(value: str) -> datetime:
    """Parse both Jira issue dates and sprint dates (Python 3.11 fromisoformat handles both)."""
    return datetime.fromisoformat(value)


def _avatar_urls(seed_text: str) -> dict[str, str]:
    digest = hashlib.md5(seed_text.encode(), usedforsecurity=False).hexdigest()
    base = (
        f"https://secure.gravatar.com/avatar/{digest}?d=https%3A%2F%2Favatar-management.example%2Fdefault.png"
    )
    return {size: f"{base}&s={size.split('x')[0]}" for size in ("48x48", "24x24", "16x16", "32x32")}


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class ProjectSpec:
    """How to generate one project."""

    key: str
    name: str
    style: str  # "classic" | "next-gen"
    board_type: str  # "scrum" | "kanban"
    issues: int


@dataclass(frozen=True)
class WorkspaceSize:
    """Custom counts; see :meth:`demo` and :meth:`large` for the presets."""

    projects: tuple[ProjectSpec, ...]
    users: int = 25  # total, including the hand-written demo users (minimum 25)

    @classmethod
    def demo(cls) -> WorkspaceSize:
        return cls(
            projects=(
                ProjectSpec("ALPHA", "Alpha Platform", "classic", "scrum", 120),
                ProjectSpec("BETA", "Beta Mobile", "classic", "scrum", 80),
                ProjectSpec("GAMMA", "Gamma Team", "next-gen", "scrum", 60),
                ProjectSpec("OPS", "Operations", "classic", "kanban", 40),
            ),
            users=25,
        )

    @classmethod
    def large(cls) -> WorkspaceSize:
        specs = [
            ("CORE", "Core Platform", "classic", "scrum", 30000),
            ("WEB", "Web Frontend", "classic", "scrum", 4000),
            ("MOB", "Mobile Apps", "next-gen", "scrum", 3000),
            ("DATA", "Data Pipeline", "classic", "scrum", 3000),
            ("INFRA", "Infrastructure", "classic", "kanban", 2500),
            ("SEC", "Security", "next-gen", "scrum", 2500),
            ("QA", "Quality", "classic", "scrum", 2000),
            ("DOCS", "Documentation", "next-gen", "kanban", 1500),
            ("OPS", "Operations", "classic", "kanban", 1000),
            ("GAMMA", "Gamma Team", "next-gen", "scrum", 500),
        ]
        return cls(projects=tuple(ProjectSpec(*s) for s in specs), users=1000)


@dataclass(frozen=True)
class SimProject:
    """Ground truth about one project."""

    key: str
    name: str
    id: str
    style: str
    board_type: str
    board_id: int

    @property
    def story_point_field_id(self) -> str:
        return JSW_SP_FIELD_ID if self.style == "next-gen" else FLOAT_SP_FIELD_ID


# --------------------------------------------------------------------------- static catalogues

_STATUS_CATEGORIES = {
    "new": {
        "self": f"{SITE}/rest/api/3/statuscategory/2",
        "id": 2,
        "key": "new",
        "colorName": "blue-gray",
        "name": "To Do",
    },
    "indeterminate": {
        "self": f"{SITE}/rest/api/3/statuscategory/4",
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {
        "self": f"{SITE}/rest/api/3/statuscategory/3",
        "id": 3,
        "key": "done",
        "colorName": "green",
        "name": "Done",
    },
}


def _status(sid: str, name: str, cat: str) -> dict[str, Any]:
    return {
        "self": f"{SITE}/rest/api/3/status/{sid}",
        "description": "",
        "iconUrl": f"{SITE}/",
        "name": name,
        "id": sid,
        "statusCategory": _STATUS_CATEGORIES[cat],
    }


STATUSES = {
    "To Do": _status("10000", "To Do", "new"),
    "In Progress": _status("3", "In Progress", "indeterminate"),
    "In Review": _status("10001", "In Review", "indeterminate"),
    "Done": _status("10002", "Done", "done"),
}


def _issuetype(tid: str, name: str, level: int, desc: str) -> dict[str, Any]:
    return {
        "self": f"{SITE}/rest/api/3/issuetype/{tid}",
        "id": tid,
        "description": desc,
        "iconUrl": f"{SITE}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{tid}?size=medium",
        "name": name,
        "subtask": False,
        "avatarId": int(tid) + 300,
        "hierarchyLevel": level,
    }


ISSUE_TYPES = {
    "Epic": _issuetype("10000", "Epic", 1, "A big user story that needs to be broken down."),
    "Story": _issuetype("10001", "Story", 0, "Functionality or a feature expressed as a user goal."),
    "Task": _issuetype("10002", "Task", 0, "A small, distinct piece of work."),
    "Bug": _issuetype("10004", "Bug", 0, "A problem or error."),
}

PRIORITIES = [
    {
        "self": f"{SITE}/rest/api/3/priority/{pid}",
        "iconUrl": f"{SITE}/images/icons/priorities/{n.lower()}.svg",
        "name": n,
        "id": pid,
    }
    for pid, n in (("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest"))
]

RESOLUTION_DONE = {
    "self": f"{SITE}/rest/api/3/resolution/10000",
    "id": "10000",
    "description": "Work has been completed on this issue.",
    "name": "Done",
}

_SUMMARY_VERBS = [
    "Add",
    "Fix",
    "Refactor",
    "Document",
    "Investigate",
    "Migrate",
    "Remove",
    "Speed up",
    "Validate",
    "Log",
    "Cache",
    "Retry",
]
_SUMMARY_OBJECTS = [
    "login flow",
    "billing export",
    "search index",
    "webhook retries",
    "CSV import",
    "dark mode",
    "rate limiter",
    "audit log",
    "user settings page",
    "API pagination",
    "sprint report",
    "onboarding wizard",
    "SSO callback",
    "release notes",
    "élan dashboard",
]
_LABELS = ["backend", "frontend", "tech-debt", "customer", "security", "perf", "ux"]
_GOALS = [
    "Ship the onboarding MVP",
    "Stabilise payments",
    "Reduce p95 latency",
    "",
    "Close security findings",
    "Polish mobile release",
    "Pay down tech debt",
]


# --------------------------------------------------------------------------- users

# (display name, email form, account type, active, time zone, member spec or None)
# email form: a string, None (null), "" (empty) or _MISSING (key absent): hidden-email variants.
_MISSING = object()
_DEMO_USERS: list[tuple[str, Any, str, bool, str]] = [
    ("Sim Admin", "admin@acme.io", "atlassian", True, "Etc/UTC"),
    ("Maria Garcia", "maria.garcia@acme.io", "atlassian", True, "Europe/Madrid"),
    ("José Álvarez", None, "atlassian", True, "Europe/Madrid"),
    ("Nguyen, Minh", "minh.nguyen@acme.io", "atlassian", True, "Australia/Sydney"),
    ("Alex Kim", "", "atlassian", True, "America/Los_Angeles"),
    ("Alex Kim", _MISSING, "atlassian", True, "America/New_York"),
    ("Priya Raman", "priya.raman@acme.io", "atlassian", True, "Asia/Kolkata"),
    ("Tom O'Brien", "tom.obrien@acme.io", "atlassian", True, "Europe/London"),
    ("Zoë Lefèvre", _MISSING, "atlassian", True, "Europe/London"),
    ("Kiran Patel", "kpatel@acme.io", "atlassian", True, "Asia/Kolkata"),
    ("Liam Chen", "liam.chen@acme.io", "atlassian", True, "America/Los_Angeles"),
    ("Sofia Rossi", "sofia.rossi@acme.io", "atlassian", True, "Europe/Madrid"),
    ("Daniel Müller", "daniel.mueller@acme.io", "atlassian", True, "Europe/London"),
    ("Aisha Bello", "aisha.bello@acme.io", "atlassian", True, "Europe/London"),
    ("Ben Carter", "ben.carter@acme.io", "atlassian", False, "America/New_York"),
    ("Hannah Schmidt", "hannah.schmidt@acme.io", "atlassian", True, "Europe/Madrid"),
    ("Omar Haddad", None, "atlassian", True, "Etc/UTC"),
    ("Yuki Tanaka", "yuki.tanaka@acme.io", "atlassian", True, "Australia/Sydney"),
    ("Lucas Silva", "lucas.silva@acme.io", "atlassian", True, "America/New_York"),
    ("Emma Johansson", "", "atlassian", True, "Europe/London"),
    ("Noah Williams", "noah.williams@acme.io", "atlassian", True, "America/Los_Angeles"),
    ("Olivia Brown", "olivia.brown@acme.io", "atlassian", True, "America/New_York"),
    ("Automation for Jira", _MISSING, "app", True, ""),
    ("Slack", _MISSING, "app", True, ""),
    ("Cara Customer", "cara@customer.example", "customer", True, ""),
]

# (member_id, github_login, display_name, emails, index into _DEMO_USERS of the member's real
# account or None (not in Jira), what can find it): "signals" = email, display name or login;
# "evidence" = only their pull requests (hidden email, a name shared or written differently);
# "thin" = too few pull requests for evidence either. jira_simulator/github_side.py writes the PRs.
_DEMO_MEMBERS: list[tuple[str, str, str, list[str], int | None, str | None]] = [
    ("m01", "mgarcia", "Maria Garcia", [" Maria.Garcia@ACME.io "], 1, "signals"),  # email, case + space
    ("m02", "jalvarez", "jose alvarez", ["jose@personal.example"], 2, "signals"),  # name, accents/case
    ("m03", "minhn", "Minh Nguyen", ["MINH.NGUYEN@acme.io"], 3, "signals"),  # email ("Last, First")
    ("m04", "alexk", "Alex Kim", ["alex.kim@gmail.example"], 4, "evidence"),  # two "Alex Kim" in Jira
    ("m05", "praman", "Priya Raman", ["priya.raman@acme.io"], 6, "signals"),
    ("m06", "tobrien", "Tom O'Brien", ["Tom.OBrien@Acme.IO"], 7, "signals"),
    ("m07", "zlefevre", "Zoe Lefevre", ["zoe@lefevre.example"], 8, "signals"),  # name, accents stripped
    ("m08", "kpatel", "K. Patel", [], 9, "signals"),  # only github login == Jira email local part
    ("m09", "liamc", "Liam Chen", ["liam.chen@acme.io\t"], 10, "signals"),
    ("m10", "srossi", "Sofia Rossi", ["sofia.rossi@ACME.IO"], 11, "signals"),
    ("m11", "dmueller", "Daniel Müller", ["Daniel.Mueller@acme.io"], 12, "signals"),
    ("m12", "abello", "Aisha Bello", ["aisha@home.example", "aisha.bello@acme.io"], 13, "signals"),
    ("m13", "hschmidt", "Hannah Schmidt", ["hannah.schmidt@acme.io"], 15, "signals"),
    ("m14", "ghopperlee", "Grace Hopper-Lee", ["grace@contractor.example"], None, None),  # not in Jira
    ("m15", "rcosta", "Rafael Costa", ["rafa@contractor.example"], None, None),  # not in Jira
    ("m16", "akim-nyc", "Alex Kim", ["alex@kim.example"], 5, "evidence"),  # the other "Alex Kim"
    ("m17", "ohaddad", "Omar H.", [], 16, "evidence"),  # Jira hides his email (null)
    ("m18", "emmaj", "Emma J", ["emma@home.example"], 19, "evidence"),  # Jira's email is ""
    ("m19", "ytanaka-dev", "Y. Tanaka", [], 17, "thin"),  # three pull requests only
]

_FIRST = [
    "Ava",
    "Ethan",
    "Mila",
    "Jonas",
    "Leah",
    "Mateo",
    "Nora",
    "Ivan",
    "Chloe",
    "Felix",
    "Ines",
    "Marco",
    "Sara",
    "Pavel",
    "Lina",
    "Oscar",
    "Ruth",
    "Hugo",
    "Anya",
    "Theo",
    "Greta",
    "Samir",
    "Elena",
    "Viktor",
    "Maya",
    "Jamal",
    "Freya",
    "Tariq",
    "Ingrid",
    "Dmitri",
    "Lea",
    "Kofi",
    "Astrid",
    "Ramon",
    "Selin",
    "Arjun",
    "Bianca",
    "Cyrus",
    "Dalia",
    "Emil",
]
_LAST = [
    "Novak",
    "Berg",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Kowalski",
    "Sato",
    "Ferreira",
    "Dubois",
    "Horvat",
    "Jensen",
    "Kaplan",
    "Larsen",
    "Mendes",
    "Nakamura",
    "Ortiz",
    "Petrov",
    "Quinn",
    "Romero",
    "Stein",
    "Toure",
    "Ueda",
    "Vargas",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zeller",
    "Abbott",
    "Brandt",
    "Costa",
    "Dahl",
    "Eriksen",
    "Fischer",
    "Gallo",
    "Hale",
    "Ivanova",
    "Jovanovic",
    "Keller",
    "Lund",
    "Mori",
]


def _account_id(rng: Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _make_user(rng: Random, name: str, email: Any, account_type: str, active: bool, tz: str) -> dict:
    if account_type == "app":
        account_id = f"557058:{uuid.UUID(int=rng.getrandbits(128))}"
    elif account_type == "customer":
        account_id = f"qm:{uuid.UUID(int=rng.getrandbits(128))}:{uuid.UUID(int=rng.getrandbits(128))}"
    else:
        account_id = _account_id(rng)
    user: dict[str, Any] = {
        "self": f"{SITE}/rest/api/3/user?accountId={account_id}",
        "accountId": account_id,
        "accountType": account_type,
    }
    if email is not _MISSING:
        user["emailAddress"] = email
    user["avatarUrls"] = _avatar_urls(account_id)
    user["displayName"] = name
    user["active"] = active
    if tz:
        user["timeZone"] = tz
        user["locale"] = "en_US"
    return user


def _ascii_fold(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# --------------------------------------------------------------------------- issues


class _LazyIssues(Mapping[str, list[dict]]):
    """``project key -> issues`` that generates a project's issues on first access."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def __getitem__(self, key: str) -> list[dict]:
        return self._ws._issues_of(key)

    def __iter__(self) -> Iterator[str]:
        return iter([p.key for p in self._ws.projects])

    def __len__(self) -> int:
        return len(self._ws.projects)


@dataclass
class Workspace:
    """A seeded Jira site plus the answers a correct sync should reach."""

    seed: int
    size: WorkspaceSize
    site_url: str
    projects: list[SimProject]
    users: list[dict]
    team_members: list[dict]
    # What matching by email, display name and login alone should reach (None: not by those).
    expected_matches: dict[str, str | None]
    fields: list[dict]
    boards: list[dict]
    sprints: dict[int, list[dict]]
    sprint_field_id: str = SPRINT_FIELD_ID
    story_point_field_ids: dict[str, str] = field(
        default_factory=lambda: {"float": FLOAT_SP_FIELD_ID, "jsw-story-points": JSW_SP_FIELD_ID}
    )
    pull_requests: list[dict] = field(default_factory=list)
    admin_user: dict = field(default_factory=dict)
    # The truth: which account each member really is (None: not in Jira), and what can find it.
    member_accounts: dict[str, str | None] = field(default_factory=dict)
    member_found_by: dict[str, str | None] = field(default_factory=dict)
    # Members whose pull requests carry decisive evidence of their account (github_side.py).
    evidence_members: set[str] = field(default_factory=set)
    # Per project, set when its issues are generated (structure.py): use project_versions().
    versions: dict[str, list[dict]] = field(default_factory=dict)
    components: dict[str, list[dict]] = field(default_factory=dict)
    # Mutation counter: caches in the simulator key on it.
    version: int = 0
    _issues: dict[str, list[dict]] = field(default_factory=dict, repr=False)
    _index: dict[str, dict] = field(default_factory=dict, repr=False)
    _deleted: set[str] = field(default_factory=set, repr=False)
    _changelogs: dict[str, list[dict]] = field(default_factory=dict, repr=False)
    # Issues created through the control API (jira_simulator/control.py): id -> key.
    _created_ids: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _clock: datetime = BASE_DATE

    def __post_init__(self) -> None:
        self.issues_by_project: Mapping[str, list[dict]] = _LazyIssues(self)
        self._specs = {p.key: p for p in self.size.projects}
        self._sprint_by_id = {s["id"]: s for ss in self.sprints.values() for s in ss}

    @property
    def expected_matches_with_prs(self) -> dict[str, str | None]:
        """What matching should reach once the pull requests are stored too: every member the
        identity signals find, and those whose pull requests carry decisive evidence."""
        return {
            m: a if self.member_found_by.get(m) == "signals" or m in self.evidence_members else None
            for m, a in self.member_accounts.items()
        }

    # ----- lookups
    def project(self, key_or_id: str) -> SimProject | None:
        for p in self.projects:
            if key_or_id in (p.key, p.id) or key_or_id.upper() == p.key:
                return p
        return None

    def board(self, board_id: int) -> dict | None:
        return next((b for b in self.boards if b["id"] == board_id), None)

    def sprint(self, sprint_id: int) -> dict | None:
        return self._sprint_by_id.get(sprint_id)

    def user(self, account_id: str) -> dict | None:
        return next((u for u in self.users if u["accountId"] == account_id), None)

    def issue_count(self, project_key: str) -> int:
        """Ground truth number of issues (deleted ones excluded) without generating them."""
        spec = self._specs[project_key]
        with self._lock:
            if project_key in self._issues:
                return len(self._issues[project_key])
            return spec.issues - sum(1 for k in self._deleted if k.split("-")[0] == project_key)

    def total_issue_count(self) -> int:
        return sum(self.issue_count(p.key) for p in self.projects)

    def get_issue(self, key_or_id: str) -> dict | None:
        """An issue by key (case-insensitive) or numeric id; None if unknown or deleted."""
        with self._lock:
            if key_or_id in self._created_ids:
                return self._index.get(self._created_ids[key_or_id])
            if key_or_id.isdigit():
                n = int(key_or_id) - 10000
                for p in self.size.projects:
                    if 0 <= n < p.issues:
                        self._issues_of(p.key)
                        return self._index.get(f"{p.key}-{n + 1}")
                    n -= p.issues
                return None
            key = key_or_id.upper()
            project_key = key.rsplit("-", 1)[0]
            if project_key not in self._specs:
                return None
            self._issues_of(project_key)
            return self._index.get(key)

    # ----- mutation for tests
    def delete_issue(self, key: str) -> None:
        """Delete an issue: it stops appearing in searches and counts."""
        with self._lock:
            project_key = key.split("-", maxsplit=1)[0]
            issues = self._issues_of(project_key)
            issue = self._index.pop(key, None)
            if issue is None:
                raise KeyError(key)
            self._issues[project_key] = [i for i in issues if i["key"] != key]
            self._deleted.add(key)
            self.version += 1

    def update_issue(self, key: str, **fields: Any) -> dict:
        """Set fields on an issue and bump its ``updated`` past every earlier timestamp."""
        with self._lock:
            self._issues_of(key.split("-", maxsplit=1)[0])
            issue = self._index[key]
            # Later than every earlier timestamp and than the wall clock, so a sync that asks for
            # "updated in the last N minutes" sees the change.
            self._clock = max(self._clock + timedelta(minutes=1), datetime.now(UTC).replace(microsecond=0))
            new_fields = dict(issue["fields"])
            new_fields.update(fields)
            new_fields["updated"] = jira_datetime(self._clock, 0)
            issue["fields"] = new_fields
            self.version += 1
            return issue

    # ----- generation
    def _issues_of(self, project_key: str) -> list[dict]:
        with self._lock:
            if project_key not in self._issues:
                if project_key not in self._specs:
                    raise KeyError(project_key)
                # Tens of thousands of new dicts trigger repeated full GC passes: pause the GC.
                was_enabled = gc.isenabled()
                gc.disable()
                try:
                    issues, changelogs = _generate_issues(self, self._specs[project_key])
                finally:
                    if was_enabled:
                        gc.enable()
                self._issues[project_key] = issues
                self._changelogs.update(changelogs)
                for issue in issues:
                    self._index[issue["key"]] = issue
            return self._issues[project_key]

    def project_versions(self, project_key: str) -> list[dict]:
        """The project's versions (its fix versions' release dates), oldest first."""
        with self._lock:
            self._issues_of(project_key)
            return self.versions[project_key]

    def project_components(self, project_key: str) -> list[dict]:
        with self._lock:
            self._issues_of(project_key)
            return self.components[project_key]

    def changelog(self, key: str) -> list[dict]:
        """Change histories of an issue, oldest first (status and Sprint changes)."""
        with self._lock:
            self._issues_of(key.split("-", maxsplit=1)[0])
            return self._changelogs.get(key, [])


def _issue_id_base(size: WorkspaceSize, key: str) -> int:
    base = 10000
    for p in size.projects:
        if p.key == key:
            return base
        base += p.issues
    raise KeyError(key)


def _user_ref(user: dict) -> dict:
    """The user object embedded in issue fields (UserDetails)."""
    ref = {"self": user["self"], "accountId": user["accountId"]}
    if "emailAddress" in user:
        ref["emailAddress"] = user["emailAddress"]
    ref.update(avatarUrls=user["avatarUrls"], displayName=user["displayName"], active=user["active"])
    if "timeZone" in user:
        ref["timeZone"] = user["timeZone"]
    ref["accountType"] = user["accountType"]
    return ref


def _sprint_ref(s: dict) -> dict:
    """The sprint object as the Sprint custom field shows it (``boardId``, not ``originBoardId``)."""
    ref = {
        "id": s["id"],
        "name": s["name"],
        "state": s["state"],
        "boardId": s["originBoardId"],
        "goal": s.get("goal", ""),
    }
    for k in ("startDate", "endDate", "completeDate"):
        if k in s:
            ref[k] = s[k]
    return ref


def _adf(text: str) -> dict:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def _generate_issues(ws: Workspace, spec: ProjectSpec) -> tuple[list[dict], dict[str, list[dict]]]:
    rng = Random(f"{ws.seed}:issues:{spec.key}")
    project = ws.project(spec.key)
    assert project is not None
    project_ref = {
        "self": f"{SITE}/rest/api/3/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "simplified": project.style == "next-gen",
        "avatarUrls": _avatar_urls(project.key),
    }
    people = [u for u in ws.users if u["accountType"] == "atlassian" and u is not ws.admin_user]
    active_people = [u for u in people if u["active"]]
    inactive = [u for u in people if not u["active"]]
    apps = [u for u in ws.users if u["accountType"] == "app"]
    refs = {u["accountId"]: _user_ref(u) for u in people + apps}
    # A stable core team per project: most work goes to a handful of people.
    core = rng.sample(active_people[:20], k=min(8, len(active_people[:20])))
    sprints = sorted(ws.sprints.get(project.board_id, []), key=lambda s: s["id"])
    sp_field = project.story_point_field_id
    other_sp_field = FLOAT_SP_FIELD_ID if sp_field == JSW_SP_FIELD_ID else JSW_SP_FIELD_ID
    id_base = _issue_id_base(ws.size, spec.key)

    n = spec.issues
    window_days = _window_days(spec)
    start = BASE_DATE - timedelta(days=window_days)
    span = (BASE_DATE - timedelta(hours=2) - start).total_seconds()
    # Keys are assigned in creation order, so created timestamps increase with the key number.
    created_times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(n))
    far_future = BASE_DATE + timedelta(days=36500)
    sprint_end_ts = [(_sprint_dt(s, "endDate") or far_future).timestamp() for s in sprints]

    issues: list[dict] = []
    changelogs: dict[str, list[dict]] = {}
    epics: list[dict] = []
    history_id = id_base * 10
    for i in range(n):
        key = f"{spec.key}-{i + 1}"
        issue_id = str(id_base + i)
        created = created_times[i] + timedelta(milliseconds=rng.randrange(1000))
        is_epic = rng.random() < 0.06 or i == 0
        itype = "Epic" if is_epic else rng.choices(["Story", "Task", "Bug"], [5, 3, 2])[0]
        reporter = (
            refs[rng.choice(core)["accountId"]] if rng.random() < 0.9 else refs[rng.choice(apps)["accountId"]]
        )
        if rng.random() < 0.15:
            assignee = None
        elif rng.random() < 0.04 and inactive:
            assignee = refs[rng.choice(inactive)["accountId"]]
        elif rng.random() < 0.8:
            assignee = refs[rng.choice(core)["accountId"]]
        else:
            assignee = refs[rng.choice(people)["accountId"]]
        offset = TZ_OFFSETS.get((reporter.get("timeZone") or "Etc/UTC"), 0)

        sprint_list: list[dict] = []
        if not is_epic and sprints and rng.random() > 0.12:
            # First sprint: the one running when the issue was created, or a later one.
            first = min(bisect.bisect_right(sprint_end_ts, created.timestamp()), len(sprints) - 1)
            first = min(first + (1 if rng.random() < 0.25 else 0), len(sprints) - 1)
            chain = [first]
            while (
                sprints[chain[-1]]["state"] == "closed"
                and chain[-1] + 1 < len(sprints)
                and rng.random() < 0.22
            ):
                chain.append(chain[-1] + 1)  # not finished: carried over to the next sprint
            sprint_list = [sprints[j] for j in chain]
        final = sprint_list[-1] if sprint_list else None

        now_limit = BASE_DATE - timedelta(minutes=5)
        if final is not None and final["state"] == "closed":
            status = "Done"
            s_start = max(_sprint_dt(final, "startDate"), created)
            s_end = _sprint_dt(final, "completeDate")
            resolved = s_start + (s_end - s_start) * rng.uniform(0.1, 0.99)
        elif final is not None and final["state"] == "future":
            status, resolved = "To Do", None
        else:
            age_days = (BASE_DATE - created).days
            if final is None and not is_epic and sprints:
                weights = [6, 1, 0, 1 if age_days > 20 else 0]  # backlog
            elif is_epic:
                weights = [2, 3, 0, 2 if age_days > 20 else 0]
            else:
                weights = [3, 3, 2, 3]  # active sprint or kanban
            status = rng.choices(["To Do", "In Progress", "In Review", "Done"], weights)[0]
            resolved = None
            if status == "Done":
                lo = max(created, _sprint_dt(final, "startDate")) if final is not None else created
                resolved = lo + (now_limit - lo) * rng.uniform(0.05, 0.95)
        in_progress_at = None
        if status != "To Do":
            stop = resolved or now_limit
            in_progress_at = created + (stop - created) * rng.uniform(0.05, 0.6)
        updated = max(t for t in (created, in_progress_at, resolved) if t is not None)
        updated += timedelta(minutes=rng.randrange(0, 600))
        updated = min(updated, now_limit)

        points = None
        if not is_epic and rng.random() > 0.2:
            points = float(rng.choice([1, 2, 3, 5, 8, 13]))
            if rng.random() < 0.05:
                points = 0.5
        labels = sorted(set(rng.sample(_LABELS, k=rng.choice([0, 0, 1, 1, 2]))))
        summary = f"{rng.choice(_SUMMARY_VERBS)} {rng.choice(_SUMMARY_OBJECTS)}"
        if is_epic:
            summary = f"Epic: {rng.choice(_SUMMARY_OBJECTS)} overhaul"
        fields: dict[str, Any] = {
            "statuscategorychangedate": jira_datetime(in_progress_at or created, offset)
            if status != "Done"
            else jira_datetime(resolved, offset),  # type: ignore[arg-type]
            "issuetype": ISSUE_TYPES[itype],
            "parent": None,
            "project": project_ref,
            "fixVersions": [],
            "resolution": RESOLUTION_DONE if status == "Done" else None,
            "resolutiondate": jira_datetime(resolved, offset) if resolved else None,
            "created": jira_datetime(created, offset),
            "priority": PRIORITIES[rng.choices(range(5), [1, 3, 8, 3, 1])[0]],
            "labels": labels,
            "assignee": assignee,
            "updated": jira_datetime(updated, offset),
            "status": STATUSES[status],
            "components": [],
            "description": _adf(f"{summary}. Acceptance criteria to be refined.")
            if rng.random() < 0.7
            else None,
            "summary": summary,
            "creator": reporter,
            "subtasks": [],
            "reporter": reporter,
            "issuelinks": [],
            "duedate": None,
            RANK_FIELD_ID: f"0|i{i:05x}:",
            START_DATE_FIELD_ID: None,
            sp_field: points,
            other_sp_field: None,
        }
        if sprints:
            fields[SPRINT_FIELD_ID] = [_sprint_ref(s) for s in sprint_list] or None
        if not is_epic and epics and rng.random() < 0.5:
            epic = rng.choice(epics[-4:])
            fields["parent"] = {
                "id": epic["id"],
                "key": epic["key"],
                "self": epic["self"],
                "fields": {k: epic["fields"][k] for k in ("summary", "status", "priority", "issuetype")},
            }
        issue = {
            "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": issue_id,
            "self": f"{SITE}/rest/api/3/issue/{issue_id}",
            "key": key,
            "fields": fields,
        }
        issues.append(issue)
        if is_epic:
            epics.append(issue)

        # Changelog, oldest first: Sprint moves and status transitions.
        histories: list[dict] = []
        actor = reporter

        def add(
            when: datetime, items: list[dict], who: dict = actor, off: int = offset, out: list = histories
        ) -> None:
            nonlocal history_id
            history_id += 1
            out.append(
                {
                    "id": str(history_id),
                    "author": who,
                    "created": jira_datetime(when, off),
                    "items": items,
                    "_at": when,
                }
            )

        prev: dict | None = None
        for j, s in enumerate(sprint_list):
            s_start = _sprint_dt(s, "startDate")
            if j == 0:
                # Added at creation, or (for a sprint already running) at some point during it.
                when = created + timedelta(minutes=rng.randrange(1, 90))
                if s_start is not None and created < s_start and rng.random() < 0.85:
                    when = min(when, s_start - timedelta(minutes=rng.randrange(5, 600)))
                    when = max(when, created + timedelta(seconds=1))
            else:
                # Carried over when the previous sprint was completed.
                when = _sprint_dt(prev, "completeDate") + timedelta(seconds=1)  # type: ignore[arg-type,operator]
            # Jira reports an empty "from" as null, not "".
            from_ids = ", ".join(str(x["id"]) for x in sprint_list[:j]) or None
            from_names = ", ".join(x["name"] for x in sprint_list[:j]) or None
            to_ids = ", ".join(str(x["id"]) for x in sprint_list[: j + 1])
            to_names = ", ".join(x["name"] for x in sprint_list[: j + 1])
            add(
                when,
                [
                    {
                        "field": "Sprint",
                        "fieldtype": "custom",
                        "fieldId": SPRINT_FIELD_ID,
                        "from": from_ids,
                        "fromString": from_names,
                        "to": to_ids,
                        "toString": to_names,
                    }
                ],
            )
            prev = s
        if in_progress_at is not None:
            who = refs[assignee["accountId"]] if assignee else actor
            add(in_progress_at, [_status_item("To Do", "In Progress")], who)
            if status == "In Review" or (status == "Done" and rng.random() < 0.6):
                review_at = in_progress_at + ((resolved or now_limit) - in_progress_at) * 0.7
                add(review_at, [_status_item("In Progress", "In Review")], who)
                last = "In Review"
            else:
                last = "In Progress"
            if status == "Done":
                add(
                    resolved,
                    [
                        _status_item(last, "Done"),  # type: ignore[arg-type]
                        {
                            "field": "resolution",
                            "fieldtype": "jira",
                            "fieldId": "resolution",
                            "from": None,
                            "fromString": None,
                            "to": "10000",
                            "toString": "Done",
                        },
                    ],
                    who,
                )
        histories.sort(key=lambda h: h["_at"])
        for h in histories:
            del h["_at"]
        changelogs[key] = histories
    from .structure import add_structure  # it reads this module's helpers

    add_structure(ws, spec, issues, window_days)
    return issues, changelogs


def _status_item(old: str, new: str) -> dict:
    return {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": STATUSES[old]["id"],
        "fromString": old,
        "to": STATUSES[new]["id"],
        "toString": new,
    }


def _sprint_dt(s: dict | None, key: str) -> Any:
    if s is None or key not in s:
        return None
    return _parse_sprint_date(s[key])


@lru_cache(maxsize=4096)
def _parse_sprint_date(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _window_days(spec: ProjectSpec) -> int:
    return max(120, spec.issues // 40)


# --------------------------------------------------------------------------- fields


def _field(
    fid: str,
    name: str,
    schema: dict | None,
    *,
    custom: bool = False,
    orderable: bool = True,
    clause: list[str] | None = None,
) -> dict:
    # Real Jira adds "untranslatedName" to custom fields; the spec's FieldDetails forbids it.
    f: dict[str, Any] = {"id": fid, "key": fid, "name": name}
    f.update(custom=custom, orderable=orderable, navigable=True, searchable=True, clauseNames=clause or [fid])
    if schema is not None:
        f["schema"] = schema
    return f


def _custom(fid: str, name: str, ftype: str, custom_key: str, items: str | None = None) -> dict:
    num = int(fid.split("_")[1])
    schema: dict[str, Any] = {"type": ftype}
    if items:
        schema["items"] = items
    schema.update(custom=custom_key, customId=num)
    return _field(fid, name, schema, custom=True, clause=[f"cf[{num}]", name])


def _build_fields() -> list[dict]:
    sys_ = [
        ("summary", "Summary", {"type": "string", "system": "summary"}),
        ("status", "Status", {"type": "status", "system": "status"}),
        ("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}),
        ("priority", "Priority", {"type": "priority", "system": "priority"}),
        ("assignee", "Assignee", {"type": "user", "system": "assignee"}),
        ("reporter", "Reporter", {"type": "user", "system": "reporter"}),
        ("creator", "Creator", {"type": "user", "system": "creator"}),
        ("created", "Created", {"type": "datetime", "system": "created"}),
        ("updated", "Updated", {"type": "datetime", "system": "updated"}),
        ("resolutiondate", "Resolved", {"type": "datetime", "system": "resolutiondate"}),
        ("resolution", "Resolution", {"type": "resolution", "system": "resolution"}),
        (
            "statuscategorychangedate",
            "Status Category Changed",
            {"type": "datetime", "system": "statuscategorychangedate"},
        ),
        ("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
        ("project", "Project", {"type": "project", "system": "project"}),
        ("description", "Description", {"type": "string", "system": "description"}),
        ("duedate", "Due date", {"type": "date", "system": "duedate"}),
        ("components", "Components", {"type": "array", "items": "component", "system": "components"}),
        ("fixVersions", "Fix versions", {"type": "array", "items": "version", "system": "fixVersions"}),
        ("subtasks", "Sub-tasks", {"type": "array", "items": "issuelinks", "system": "subtasks"}),
        ("issuelinks", "Linked Issues", {"type": "array", "items": "issuelinks", "system": "issuelinks"}),
    ]
    out = [_field(fid, name, schema) for fid, name, schema in sys_]
    out.insert(0, _field("parent", "Parent", None, orderable=False))
    out.append(_field("issuekey", "Key", None, orderable=False, clause=["id", "issue", "issuekey", "key"]))
    out += [
        _custom(RANK_FIELD_ID, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
        _custom(
            START_DATE_FIELD_ID,
            "Start date",
            "date",
            "com.atlassian.jira.plugin.system.customfieldtypes:datepicker",
        ),
        _custom(SPRINT_FIELD_ID, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint", items="json"),
        _custom(
            JSW_SP_FIELD_ID, "Story point estimate", "number", "com.pyxis.greenhopper.jira:jsw-story-points"
        ),
        _custom(
            FLOAT_SP_FIELD_ID,
            "Story Points",
            "number",
            "com.atlassian.jira.plugin.system.customfieldtypes:float",
        ),
        # Named like the sprint field but a plain text field: detection must go by schema.custom.
        _custom(
            LEGACY_SPRINT_TEXT_FIELD_ID,
            "Sprint name (legacy)",
            "string",
            "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
        ),
    ]
    return out


# --------------------------------------------------------------------------- build


def _build_sprints(rng: Random, board_id: int, project: ProjectSpec, next_id: int) -> list[dict]:
    n_closed = max(6, _window_days(project) // SPRINT_DAYS - 3)
    active_start = BASE_DATE - timedelta(days=10)
    out = []
    for j in range(n_closed + 2):
        sid = next_id + j
        idx = j - n_closed  # 0 = active, 1 = future
        start = active_start + timedelta(days=SPRINT_DAYS * idx)
        sprint: dict[str, Any] = {
            "id": sid,
            "self": f"{SITE}/rest/agile/1.0/sprint/{sid}",
            "state": "closed" if idx < 0 else ("active" if idx == 0 else "future"),
            "name": f"{project.key} Sprint {j + 1}",
        }
        if idx <= 0:
            sprint["startDate"] = sprint_datetime(start)
            sprint["endDate"] = sprint_datetime(start + timedelta(days=SPRINT_DAYS))
        if idx < 0:
            late = timedelta(hours=rng.randrange(0, 30), minutes=rng.randrange(60))
            sprint["completeDate"] = sprint_datetime(start + timedelta(days=SPRINT_DAYS) + late)
        created = min(start - timedelta(days=rng.randrange(2, 9)), BASE_DATE - timedelta(days=1))
        sprint["createdDate"] = sprint_datetime(created)
        sprint["originBoardId"] = board_id
        sprint["goal"] = rng.choice(_GOALS)
        out.append(sprint)
    return out


def build_workspace(seed: int = 1, size: str | WorkspaceSize = "demo") -> Workspace:
    """Build a deterministic workspace: ``size`` is "demo", "large" or a :class:`WorkspaceSize`."""
    if isinstance(size, str):
        if size not in ("demo", "large"):
            raise ValueError(f"unknown size {size!r}: use 'demo', 'large' or a WorkspaceSize")
        size = WorkspaceSize.demo() if size == "demo" else WorkspaceSize.large()
    rng = Random(f"{seed}:workspace")

    users = [_make_user(rng, *u) for u in _DEMO_USERS]
    admin = users[0]
    taken = {u["displayName"] for u in users} | {m[2] for m in _DEMO_MEMBERS}
    combos = [f"{f} {last}" for f in _FIRST for last in _LAST]
    rng.shuffle(combos)
    extra = max(0, size.users - len(users))
    tz_names = list(TZ_OFFSETS)
    for name in combos:
        if extra <= 0:
            break
        if name in taken:
            continue
        taken.add(name)
        first, last = name.split(" ", 1)
        r = rng.random()
        email: Any = f"{_ascii_fold(first).lower()}.{_ascii_fold(last).lower()}@acme.io"
        if r < 0.05:
            email = None
        elif r < 0.08:
            email = ""
        elif r < 0.1:
            email = _MISSING
        users.append(_make_user(rng, name, email, "atlassian", rng.random() > 0.03, rng.choice(tz_names)))
        extra -= 1
    for k in range(extra):  # more users than name combinations: numbered names
        users.append(
            _make_user(
                rng, f"Staff Member {k + 1:04d}", f"staff{k + 1:04d}@acme.io", "atlassian", True, "Etc/UTC"
            )
        )

    team_members = []
    truth: dict[str, str | None] = {}
    found_by: dict[str, str | None] = {}
    for member_id, login, display, emails, idx, how in _DEMO_MEMBERS:
        team_members.append(
            {"member_id": member_id, "github_login": login, "display_name": display, "emails": list(emails)}
        )
        truth[member_id] = users[idx]["accountId"] if idx is not None else None
        found_by[member_id] = how

    projects, boards, sprints = [], [], {}
    next_sprint = 1
    for n, spec in enumerate(size.projects):
        board_id = n + 1
        pid = str(10000 + n)
        projects.append(SimProject(spec.key, spec.name, pid, spec.style, spec.board_type, board_id))
        boards.append(
            {
                "id": board_id,
                "self": f"{SITE}/rest/agile/1.0/board/{board_id}",
                "name": f"{spec.key} board",
                "type": spec.board_type,
                "location": {
                    "projectId": int(pid),
                    "displayName": f"{spec.name} ({spec.key})",
                    "projectName": spec.name,
                    "projectKey": spec.key,
                    "projectTypeKey": "software",
                    "avatarURI": f"/secure/projectavatar?size=small&s=small&pid={pid}&avatarId=10419",
                    "name": f"{spec.name} ({spec.key})",
                },
            }
        )
        if spec.board_type == "scrum":
            sprints[board_id] = _build_sprints(rng, board_id, spec, next_sprint)
            next_sprint += len(sprints[board_id])

    ws = Workspace(
        seed=seed,
        size=size,
        site_url=SITE,
        projects=projects,
        users=users,
        team_members=team_members,
        expected_matches={m: a if found_by[m] == "signals" else None for m, a in truth.items()},
        member_accounts=truth,
        member_found_by=found_by,
        fields=_build_fields(),
        boards=boards,
        sprints=sprints,
        admin_user=admin,
    )
    from .github_side import build_pull_requests  # it reads this module's catalogues

    ws.pull_requests, ws.evidence_members = build_pull_requests(ws, Random(f"{seed}:prs"))
    return ws
