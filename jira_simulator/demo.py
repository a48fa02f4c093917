"""The simulator's demo sign-in: one place for the fake credential every local tool and test uses."""

DEMO_EMAIL = "demo@example.com"
DEMO_API_TOKEN = "demo-token"  # noqa: S105 - the local simulator's fake credential, never a real one
