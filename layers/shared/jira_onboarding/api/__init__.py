"""The HTTP API: one Powertools `Router` per API function, and what they share.

Each HTTP function (functions/<name>/app.py) builds its resolver from its own router only
(`resolver.build_resolver(<name>.router)`), so it serves exactly the routes template.yaml gives it
(tests/infrastructure/test_api_routes.py holds that). `resolver.build_openapi()` includes every
router, and the webhook receiver's (`jira_webhooks`, which no function includes): the OpenAPI
document describes the whole API, with the answers each route declares (`answers.contract`).

Each route imports its logic when called, so a function pays at cold start only for its own route
(the start function never imports httpx, metrics or insights).
"""
