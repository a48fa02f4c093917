"""Every AWS call a function made in the integration suite is granted by its role in template.yaml,
and every grant the template writes is used (moto checks no IAM: without this, a missing grant shows
first as an AccessDenied in AWS).

The calls are recorded by `make test-integration` (IAM_CALLS_DIR=artifacts/iam-calls: one file per
pytest worker, local_harness/iam_calls.py) and checked by `make test-iam` right after it. To
regenerate them and check again:

    make test-integration test-iam

(on its own this module skips: it needs the recordings of a whole integration run, IAM_CALLS_CHECK
names their directory). A denied call names the function, the IAM action and the resource: add the
grant to the function's Policies (a Jira-calling function: `- !Ref JiraAccessPolicy`). An unused
grant is removed, or listed in ALLOWED_UNUSED with the reason it is not reached locally.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tests.infrastructure.iam_policies import (
    Call,
    PolicyExpander,
    denied,
    load_calls,
    sam_policy_templates,
    unused,
)
from tests.infrastructure.support import missing_tool, template

# (function, or the managed policy, action) -> why no local test reaches it.
ALLOWED_UNUSED: dict[tuple[str, str], str] = {
    # The one OAuth app's client secret verifies a dynamic webhook's JWT when the connection's own
    # credentials hold none; the live tests' OAuth connections still carry one.
    ("ReceiveJiraWebhookFunction", "secretsmanager:GetSecretValue"): "the one app's secret, for JWTs",
    # Registering again before the migration deletes the connection's pre-envelope secret
    # (logic/jira_access/tokens.py); the migration's tests migrate instead.
    (
        "RegisterConnectionFunction",
        "secretsmanager:DeleteSecret",
    ): "a pre-envelope connection registered again",
}
# Recorded calls that are a test's doing, not the function's: (function, action, resource) -> why.
NOT_THE_FUNCTIONS: dict[tuple[str, str, str], str] = {
    (
        "StartOnboardingFunction",
        "states:StartExecution",
        "arn:aws:states:us-east-1:123456789012:stateMachine:jira-onboarding-local-missing",
    ): "test_start_and_status_api.py points STATE_MACHINE_ARN at a machine that does not exist",
}


def recorded_calls() -> list[Call]:
    directory = os.environ.get("IAM_CALLS_CHECK", "").strip()
    if not directory:
        pytest.skip("needs the calls of a whole integration run: make test-integration test-iam")
    calls = [
        c for c in load_calls(Path(directory)) if (c.function, c.action, c.resource) not in NOT_THE_FUNCTIONS
    ]
    if not calls:
        pytest.fail(f"no calls recorded under {directory}: run `make test-integration` (it records them)")
    return calls


def expanded_grants() -> dict:
    sam_templates = sam_policy_templates()
    if sam_templates is None:
        missing_tool("SAM's policy templates (samtranslator, in .venv-sam)")
    # The local stack's parameters (LocalStack: the defaults, Stage=local, as the recorded names have it).
    return PolicyExpander(template(), sam_templates or {}, {"Stage": "local"}).grants()


def test_every_recorded_call_is_granted() -> None:
    calls = recorded_calls()
    per_function = Counter[str]()
    for call in calls:
        per_function[call.function] += call.count
    print(f"\n{sum(per_function.values())} calls recorded ({len(calls)} distinct):")
    for function, count in sorted(per_function.items()):
        print(f"  {function}: {count}")
    problems = denied(calls, expanded_grants())
    assert not problems, "denied in AWS (regenerate: make test-integration test-iam):\n" + "\n".join(problems)


def test_every_written_grant_is_used() -> None:
    problems = unused(recorded_calls(), expanded_grants(), ALLOWED_UNUSED)
    assert not problems, "granted but never used (remove it, or say why in ALLOWED_UNUSED):\n" + "\n".join(
        problems
    )
