"""The Jira budget of each site: one item per site in JiraSiteBudgetsTable, shared by every team,
run and Lambda that calls that site (see `jira_onboarding.budget`).

The item is a GCRA token bucket: `tat`, the time (epoch seconds) at which the site's next request
slot is free. Taking a block of n slots is one conditional UpdateItem and no read: `tat + n/rate`
when the site is busy (`tat >= now`), `now + n/rate` when it is idle. Pauses the site's answers
ordered (a tenant quota until its reset, an endpoint's burst limit, NearLimit's slower rate) are
attributes of the same item, so every reservation also reads them.

Unlike every other table, the key is the site, not the team: the item holds no team data, only
the site's shared counters, and teams on one Jira site share its limits by definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from jira_onboarding import aws
from jira_onboarding.settings import get_settings

_IDLE = "attribute_not_exists(tat) OR tat < :now"
PAUSE_PREFIX = "pause#"  # `pause#<METHOD path template>`: an endpoint's burst pause, epoch seconds


@dataclass(frozen=True)
class SiteState:
    """What a reservation learns about its site besides its slots."""

    paused_until: float = 0.0
    pause_reason: str | None = None
    slow_rate: float | None = None  # requests/s while NearLimit asks for less
    slow_until: float = 0.0
    endpoint_pauses: dict[str, float] = field(default_factory=dict)
    booked_until: float = 0.0  # the site's next free slot (its GCRA `tat`)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SiteState:
        def num(name: str) -> float:
            value = item.get(name)
            return float(value["N"]) if value and "N" in value else 0.0

        reason = item.get("pause_reason", {}).get("S")
        return cls(
            paused_until=num("paused_until"),
            pause_reason=reason,
            slow_rate=num("slow_rate") or None,
            slow_until=num("slow_until"),
            booked_until=num("tat"),
            endpoint_pauses={
                name[len(PAUSE_PREFIX) :]: float(value["N"])
                for name, value in item.items()
                if name.startswith(PAUSE_PREFIX) and "N" in value
            },
        )


@dataclass(frozen=True)
class Reservation:
    """A block of request slots: `first` (epoch seconds), one every `interval` seconds."""

    first: float
    count: int
    interval: float
    state: SiteState


class SiteBudgetStore:
    """Typed access to the site budget items."""

    def __init__(self, table_name: str | None = None) -> None:
        settings = get_settings()
        self._table = table_name or settings.tables.jira_site_budgets
        self._db = aws.client("dynamodb", settings.region)
        self._last_idle = True

    def reserve(
        self, site: str, count: int, interval: float, now: float, *, max_backlog: float | None = None
    ) -> Reservation | None:
        """Take `count` slots `interval` seconds apart, from `tat` (busy) or from `now` (idle).
        With `max_backlog`, only if the site is booked no further ahead than that: None otherwise."""
        span = count * interval
        busy = "tat >= :now" + (" AND tat <= :latest" if max_backlog is not None else "")
        busy_values = {":span": {"N": repr(span)}, ":now": {"N": repr(now)}}
        if max_backlog is not None:
            busy_values[":latest"] = {"N": repr(now + max_backlog)}
        idle_values = {":end": {"N": repr(now + span)}, ":now": {"N": repr(now)}}
        # Two conditional writes cover both cases; the one that worked last time is tried first,
        # so a caller slower than the site's rate (often idle) or faster (often busy) pays one.
        attempts = [("SET tat = :end", _IDLE, idle_values), ("SET tat = tat + :span", busy, busy_values)]
        if not self._last_idle:
            attempts.reverse()
        for _ in range(4):  # each round that fails means other Lambdas' writes landed in between
            for expression, condition, values in attempts:
                item = self._conditional_update(site, expression, condition, values)
                if item is None:
                    continue
                self._last_idle = expression == "SET tat = :end"
                first = now if self._last_idle else float(item["tat"]["N"]) - span
                return Reservation(
                    first=first, count=count, interval=interval, state=SiteState.from_item(item)
                )
            # Both conditions can fail by a race, not a backlog: the site was idle for the busy
            # write, then another Lambda booked it before the idle write. Busy only if it is
            # booked further ahead than the backlog allows; otherwise the next round books it.
            if max_backlog is not None and self.state(site).booked_until > now + max_backlog:
                return None
        if max_backlog is not None:
            return None  # four rounds lost to other Lambdas' writes: as busy, the caller waits
        raise RuntimeError(f"could not reserve Jira slots on {site} after 4 rounds")

    def give_back(self, site: str, reservation_end: float, unused: int, interval: float) -> None:
        """Return unused slots, if nobody reserved after them (otherwise they are spent)."""
        if unused <= 0:
            return
        values = {":end": {"N": repr(reservation_end)}, ":back": {"N": repr(unused * interval)}}
        self._conditional_update(site, "SET tat = tat - :back", "tat = :end", values)

    def state(self, site: str) -> SiteState:
        item = self._db.get_item(TableName=self._table, Key=self._key(site), ConsistentRead=True).get("Item")
        return SiteState.from_item(item or {})

    def pause_site(self, site: str, until: float, reason: str) -> None:
        """The whole site (or, for the app key, all of the app's traffic) waits until `until`."""
        values = {":until": {"N": repr(until)}, ":reason": {"S": reason}}
        # A failed condition means the site is already paused at least that long. A new pause frees
        # the probe of the last one: its reset gets a probe of its own.
        self._conditional_update(
            site,
            "SET paused_until = :until, pause_reason = :reason REMOVE probe_at",
            "attribute_not_exists(paused_until) OR paused_until < :until",
            values,
        )

    def claim_probe(self, site: str, ended: float, now: float, *, stale_before: float) -> bool:
        """Claim the first call after the pause that ended at `ended`: True for one caller only
        (or again once the claim is older than `stale_before`, its probe lost)."""
        values = {":ended": {"N": repr(ended)}, ":now": {"N": repr(now)}, ":stale": {"N": repr(stale_before)}}
        condition = "paused_until = :ended AND (attribute_not_exists(probe_at) OR probe_at < :stale)"
        return self._conditional_update(site, "SET probe_at = :now", condition, values) is not None

    def release_probe(self, site: str, ended: float) -> None:
        """The claimed probe was not sent: the next caller may claim it at once."""
        values = {":ended": {"N": repr(ended)}}
        self._conditional_update(site, "REMOVE probe_at", "paused_until = :ended", values)

    def end_pause(self, site: str, ended: float) -> None:
        """The probe was answered: the pause that ended at `ended` is over (unless a newer one
        was recorded meanwhile, which stands)."""
        values = {":ended": {"N": repr(ended)}}
        self._conditional_update(
            site, "REMOVE paused_until, pause_reason, probe_at", "paused_until = :ended", values
        )

    def pause_endpoint(self, site: str, endpoint: str, until: float) -> None:
        self._update(
            site,
            "SET #pause = :until",
            None,
            {":until": {"N": repr(until)}},
            {"#pause": PAUSE_PREFIX + endpoint},
        )

    def slow_down(self, site: str, rate: float, until: float) -> None:
        """NearLimit: the site runs at `rate` requests/s until `until` (the quota's reset)."""
        values = {":rate": {"N": repr(rate)}, ":until": {"N": repr(until)}}
        self._update(site, "SET slow_rate = :rate, slow_until = :until", None, values)

    def add_spent(self, site: str, calls: int, points: int) -> None:
        """What the site's calls cost, for the status and the benchmarks."""
        values = {":c": {"N": str(calls)}, ":p": {"N": str(points)}}
        self._update(site, "ADD calls_made :c, points_spent :p", None, values)

    def spent(self, site: str) -> tuple[int, int]:
        item = self._db.get_item(TableName=self._table, Key=self._key(site), ConsistentRead=True).get("Item")
        item = item or {}
        return int(item.get("calls_made", {}).get("N", 0)), int(item.get("points_spent", {}).get("N", 0))

    # ---- site data: fetched once per site, not once per team -------------------------------
    def shared_fields(self, site: str, *, newer_than: float) -> dict[str, Any] | None:
        """The field map some team on this site detected after `newer_than`, if any."""
        item = self._db.get_item(TableName=self._table, Key=self._key(f"fields#{site}")).get("Item")
        if not item or float(item["detected_at"]["N"]) < newer_than:
            return None
        return dict(json.loads(item["field_map"]["S"]))

    def share_fields(self, site: str, field_map: dict[str, Any], detected_at: float) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                **self._key(f"fields#{site}"),
                "field_map": {"S": json.dumps(field_map, sort_keys=True)},
                "detected_at": {"N": repr(detected_at)},
            },
        )

    # ---- plumbing ----------------------------------------------------------------------------
    @staticmethod
    def _key(site: str) -> dict[str, Any]:
        return {"site_key": {"S": site}}

    def _conditional_update(
        self, site: str, expression: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The item after the write, or None if its condition failed. Matched on the error code:
        botocore builds a client's exception classes lazily, and two threads sharing the client
        can each build their own, so `except client.exceptions.X` may miss the one raised."""
        try:
            return self._update(site, expression, condition, values)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise

    def _update(
        self,
        site: str,
        expression: str,
        condition: str | None,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._key(site),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        return self._db.update_item(**kwargs).get("Attributes", {})
