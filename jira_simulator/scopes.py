"""The OAuth 2.0 (3LO) scope each simulated Jira route requires of an app's access token.

Read from the official specs in ``../shared/jira-openapi/`` (a test holds the two equal):

- platform routes: the operation's ``x-atlassian-oauth2-scopes`` entry in state ``Current`` (the
  classic scopes: ``read:jira-work``, ``read:jira-user``, ``manage:jira-webhook``). The v2 paths are
  not in the v3 spec: they take their v3 twin's scopes, as Jira documents both alike.
- Agile routes: the ``:jira-software`` scopes of the operation's ``security`` entry (the 2022 Agile
  spec also names granular platform scopes such as ``read:issue-details:jira``, which a classic
  ``read:jira-work`` grant covers). ``GET /rest/agile/1.0/board`` names none in that spec copy; Atlassian's
  current page asks ``read:board-scope:jira-software`` for it.

A token holding every scope of its route passes; otherwise Jira's gateway answers 401
``{"code":401,"message":"Unauthorized; scope does not match"}``. Routes that are not Jira's (the
simulator's ``/_sim/`` control API) need no scope.
"""

from __future__ import annotations

WORK = "read:jira-work"
USER = "read:jira-user"
WEBHOOK = "manage:jira-webhook"
BOARD = "read:board-scope:jira-software"
BOARD_ADMIN = "read:board-scope.admin:jira-software"
SPRINT = "read:sprint:jira-software"
OFFLINE = "offline_access"
# The personal data reporting API (POST /app/report-accounts/): an app scope, not a route's.
PERSONAL_DATA = "report:personal-data"

_W, _U, _H = frozenset({WORK}), frozenset({USER}), frozenset({WORK, WEBHOOK})

REQUIRED_SCOPES: dict[str, frozenset[str]] = {
    "GET /rest/api/3/myself": _U,
    "GET /rest/api/3/serverInfo": frozenset(),  # the spec asks no scope
    "GET /rest/api/3/field": _W,
    "GET /rest/api/3/users/search": _U,
    "GET /rest/api/3/user/bulk": _U,
    "GET /rest/api/3/user/search": _U,
    "GET /rest/api/3/user": _U,
    # Atlassian's personal data reporting API (privacy.py; not in Jira's specs): an app scope.
    "POST /app/report-accounts": frozenset({PERSONAL_DATA}),
    "GET /rest/api/3/project": _W,
    "GET /rest/api/3/project/search": _W,
    "GET /rest/api/3/project/{projectIdOrKey}": _W,
    "GET /rest/api/3/project/{projectIdOrKey}/versions": _W,
    "GET /rest/api/3/search/jql": _W,
    "POST /rest/api/3/search/jql": _W,
    "POST /rest/api/3/search/approximate-count": _W,
    "GET /rest/api/3/search": _W,
    "POST /rest/api/3/search": _W,
    "GET /rest/api/3/issue/{issueIdOrKey}": _W,
    "POST /rest/api/3/changelog/bulkfetch": _W,
    "GET /rest/api/2/field": _W,
    "GET /rest/api/2/users/search": _U,
    "GET /rest/api/2/project": _W,
    "GET /rest/api/2/project/search": _W,
    "GET /rest/api/2/search": _W,
    "POST /rest/api/2/search": _W,
    "POST /rest/api/3/webhook": _H,
    "GET /rest/api/3/webhook": _H,
    "DELETE /rest/api/3/webhook": _H,
    "PUT /rest/api/3/webhook/refresh": _H,
    "GET /rest/agile/1.0/board": frozenset({BOARD}),
    "GET /rest/agile/1.0/board/{boardId}": frozenset({BOARD}),
    "GET /rest/agile/1.0/board/{boardId}/configuration": frozenset({BOARD_ADMIN}),
    "GET /rest/agile/1.0/board/{boardId}/sprint": frozenset({SPRINT}),
    "GET /rest/agile/1.0/sprint/{sprintId}": frozenset({SPRINT}),
}

# The routes the product (layers/shared/jira_onboarding) calls; a test scans the library's source
# and holds this list equal to the routes its literal paths name.
PRODUCT_ENDPOINTS: tuple[str, ...] = (
    "GET /rest/api/3/myself",
    "GET /rest/api/3/users/search",
    "GET /rest/api/3/user",
    "GET /rest/api/3/field",
    "GET /rest/api/3/project/search",
    "GET /rest/api/3/project/{projectIdOrKey}/versions",
    "POST /rest/api/3/search/jql",
    "POST /rest/api/3/search/approximate-count",
    "POST /rest/api/3/changelog/bulkfetch",
    "POST /rest/api/3/webhook",
    "GET /rest/api/3/webhook",
    "DELETE /rest/api/3/webhook",
    "PUT /rest/api/3/webhook/refresh",
    "GET /rest/agile/1.0/board",
    "GET /rest/agile/1.0/board/{boardId}/configuration",
    "GET /rest/agile/1.0/board/{boardId}/sprint",
    "GET /rest/agile/1.0/sprint/{sprintId}",
)

# The minimal grant our pipeline needs: its calls' scopes, and offline_access for a refresh token.
NEEDED_SCOPES: tuple[str, ...] = tuple(
    sorted({OFFLINE, PERSONAL_DATA}.union(*(REQUIRED_SCOPES[e] for e in PRODUCT_ENDPOINTS)))
)

# What the simulated app may grant by default: the needed scopes and everything a route asks.
GRANTABLE_SCOPES: tuple[str, ...] = tuple(sorted({OFFLINE, PERSONAL_DATA}.union(*REQUIRED_SCOPES.values())))


def missing_scopes(endpoint: str, granted: frozenset[str] | set[str]) -> frozenset[str]:
    """The scopes of ``endpoint`` (``"METHOD /template"``) that ``granted`` lacks (none for a route
    that is not Jira's)."""
    return REQUIRED_SCOPES.get(endpoint, frozenset()) - frozenset(granted)
