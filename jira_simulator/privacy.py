"""Atlassian's personal data reporting API, as the user privacy guide for app developers says,
and the one user read it leads to.

`POST /app/report-accounts/` (on api.atlassian.com, not the site): an app's OAuth bearer token, a
body `{"accounts": [{"accountId", "updatedAt"}]}` of 1 to 90 accounts. The answer is 204 when
none of them needs anything, else 200 `{"accounts": [{"accountId", "status"}]}` listing those
closed or updated (set on demand: `close_account`, `update_account`). `throttle_next(seconds)`
answers the next report 429 with that Retry-After.

Closing an account also changes the workspace as Atlassian does: the account shows as
"Former user", without an email address, inactive, so a later users sync brings no name back.
`GET /rest/api/3/user?accountId=` answers one account as the site shows it now.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import JiraSimulator, _Ctx

MAX_ACCOUNTS = 90
FORMER_USER = "Former user"


class PrivacyReports:
    """The reporting API's state: which accounts are closed or updated, and what was reported."""

    def __init__(self, sim: JiraSimulator) -> None:
        self.sim = sim
        self.closed: set[str] = set()
        self.updated: set[str] = set()
        self.reports: list[list[dict[str, str]]] = []  # every accepted body's accounts, in order
        self._throttle: list[int] = []
        self._lock = threading.Lock()

    # ---- control ---------------------------------------------------------------------------
    def close_account(self, account_id: str) -> None:
        """Close the account: reported `closed` from now on, and its profile is a former user's."""
        with self._lock:
            self.closed.add(account_id)
            self.updated.discard(account_id)
        user = self.sim.ws.user(account_id)
        if user is not None:
            user["displayName"] = FORMER_USER
            user.pop("emailAddress", None)
            user["active"] = False

    def update_account(self, account_id: str, **profile: Any) -> None:
        """The account's profile changed (e.g. `displayName="New Name"`): reported `updated`."""
        user = self.sim.ws.user(account_id)
        if user is not None:
            user.update(profile)
        with self._lock:
            self.updated.add(account_id)

    def throttle_next(self, retry_after_s: int) -> None:
        with self._lock:
            self._throttle.append(retry_after_s)

    def reported_ids(self) -> list[str]:
        with self._lock:
            return [a["accountId"] for body in self.reports for a in body]

    # ---- endpoints -------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Callable[[_Ctx], Any]]]:
        return [
            ("POST", "/app/report-accounts", self._report),
            ("GET", "/rest/api/3/user", self._user),
        ]

    def _report(self, ctx: _Ctx) -> Any:
        from .server import ApiError

        if not (ctx.headers or {}).get("authorization", "").lower().startswith("bearer "):
            raise ApiError(401, "The personal data reporting API takes an OAuth 2.0 app's token.")
        accounts = _valid_accounts(ctx.body)
        with self._lock:
            if self._throttle:
                raise ApiError(
                    429, "Rate limit exceeded.", headers={"Retry-After": str(self._throttle.pop(0))}
                )
            self.reports.append(accounts)
            answer = [
                {
                    "accountId": a["accountId"],
                    "status": "closed" if a["accountId"] in self.closed else "updated",
                }
                for a in accounts
                if a["accountId"] in self.closed or a["accountId"] in self.updated
            ]
            # An updated account is answered once: reported again with its new updatedAt, it is current.
            self.updated -= {a["accountId"] for a in answer}
        if not answer:
            return 204, b""
        return 200, {"accounts": answer}

    def _user(self, ctx: _Ctx) -> Any:
        from .server import ApiError

        account_id = ctx.q("accountId")
        if not account_id:
            raise ApiError(400, "The accountId query parameter is required.")
        user = self.sim.ws.user(account_id)
        if user is None:
            raise ApiError(404, f"The user with account ID '{account_id}' does not exist.")
        return dict(user)


def _valid_accounts(body: Any) -> list[dict[str, str]]:
    from .server import ApiError

    accounts = body.get("accounts") if isinstance(body, dict) else None
    if not isinstance(accounts, list) or not 1 <= len(accounts) <= MAX_ACCOUNTS:
        raise ApiError(400, f"The body needs 1 to {MAX_ACCOUNTS} accounts.")
    for account in accounts:
        if not isinstance(account, dict) or set(account) != {"accountId", "updatedAt"}:
            raise ApiError(400, "Each account needs exactly accountId and updatedAt.")
        if not isinstance(account["accountId"], str) or not account["accountId"]:
            raise ApiError(400, "An accountId must be a non-empty string.")
        try:
            datetime.fromisoformat(str(account["updatedAt"]).replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "An updatedAt must be an ISO 8601 date-time.") from None
    return accounts
