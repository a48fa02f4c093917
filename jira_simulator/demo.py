"""The simulator's demo sign-in: one place for the fake credential every local tool and test uses."""

DEMO_EMAIL = "demo@example.com"
DEMO_API_TOKEN = "demo-token"  # noqa: S105 - the local simulator's fake credential, never a real one
# The simulated OAuth 2.0 (3LO) app (atlassian.py): its client secret also signs the dynamic-webhook
# JWTs (webhooks.py), as Atlassian signs them with the app's secret.
DEMO_CLIENT_ID = "demo-oauth-client-id"
DEMO_CLIENT_SECRET = "demo-oauth-client-secret"  # noqa: S105 - a fake local credential
