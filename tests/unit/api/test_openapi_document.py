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
    assert {"post", "get"} <= set(paths["/jira/onboarding"])
    assert "get" in paths["/jira/onboarding/{run_id}"]
    assert "post" in paths["/jira/webhooks/{connection_id}"]


def test_openapi_document_lists_the_error_answers_the_api_sends() -> None:
    document = json.loads(render())
    operations = [(p, m, op) for p, item in document["paths"].items() for m, op in item.items()]
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, method, op in operations:
        assert "422" not in op["responses"], f"{method} {path} documents a 422 the API never sends"
        for code, answer in op["responses"].items():
            if int(code) >= 400:
                assert answer["content"]["application/json"]["schema"] == error_ref, (method, path, code)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    public = {(p, m) for p, m, op in operations if op.get("security") is not None}
    assert public == {("/jira/oauth/callback", "get"), ("/jira/webhooks/{connection_id}", "post")}
    assert document["security"] == [{"teamJwt": []}]
    jwt_routes = [op for p, m, op in operations if (p, m) not in public]
    assert all({"401", "403"} <= set(op["responses"]) for op in jwt_routes)
