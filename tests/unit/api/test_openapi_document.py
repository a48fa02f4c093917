"""The committed OpenAPI document is the one the code generates."""

from __future__ import annotations

import json

from local_harness.openapi import OPENAPI_PATH, render


def test_committed_openapi_document_matches_the_code():
    committed = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
    assert committed == render(), (
        f"{OPENAPI_PATH.relative_to(OPENAPI_PATH.parents[1])} is out of date with the API code: "
        "run `make openapi` and commit the result"
    )


def test_openapi_document_describes_the_onboarding_routes():
    paths = json.loads(render())["paths"]
    assert "post" in paths["/jira/onboarding"]
    assert "get" in paths["/jira/onboarding/{run_id}"]
