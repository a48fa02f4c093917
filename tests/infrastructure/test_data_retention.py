"""Customer data outlives the stack: moto checks no deletion policy, so this test does.

Every table and key of template.yaml is either retained (`DeletionPolicy` and `UpdateReplacePolicy`
both `Retain`: a `sam delete`, or a change that replaces the resource, leaves it and its data) or on
the short list below of what may go with the stack, each with why. The tables whose loss a re-sync
does not rebuild also keep point-in-time recovery."""

from __future__ import annotations

from .support import TABLE_TYPES, properties, resources_of_type

# May be deleted with the stack: nothing in them is a customer's that a deploy cannot rebuild.
DELETABLE = {
    "IdempotencyTable": "request fingerprints, expire within hours (TTL)",
    "JiraSiteBudgetsTable": "the shared rate budget per Jira site: counters and pauses, relearned at once",
    "OAuthStatesTable": "authorizations in flight, 10 minutes each (TTL): a person presses Connect again",
}
# Not rebuilt by a re-sync from Jira: the connection (its grant), the people and their manual
# matches, the runs (history, failures), the product's pull requests, live-update registrations.
POINT_IN_TIME_RECOVERY = {
    "JiraConnectionsTable",
    "TeamMembersTable",
    "OnboardingRunsTable",
    "PullRequestsTable",
    "WebhookEndpointsTable",
    "LiveUpdatesTable",
}


def test_every_table_and_key_is_retained_unless_listed_as_deletable_with_a_reason() -> None:
    stores = resources_of_type(*TABLE_TYPES, "AWS::KMS::Key")
    assert "JiraCredentialsKey" in stores, "the credentials key is customer data's too"
    problems = []
    for name, resource in stores.items():
        retained = (
            resource.get("DeletionPolicy") == "Retain" and resource.get("UpdateReplacePolicy") == "Retain"
        )
        if name in DELETABLE:
            if retained:
                problems.append(f"{name}: listed as deletable but retained (take it off the list)")
        elif not retained:
            problems.append(f"{name}: needs DeletionPolicy and UpdateReplacePolicy: Retain")
    assert not problems, "\n".join(problems)
    assert set(DELETABLE) <= set(stores), "a deletable entry names no resource"


def test_tables_a_resync_cannot_rebuild_keep_point_in_time_recovery() -> None:
    tables = resources_of_type(*TABLE_TYPES)
    missing = [
        name
        for name in sorted(POINT_IN_TIME_RECOVERY)
        if not (properties(tables[name]).get("PointInTimeRecoverySpecification") or {}).get(
            "PointInTimeRecoveryEnabled"
        )
    ]
    assert not missing, f"no point-in-time recovery: {missing}"
