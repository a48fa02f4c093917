"""The one way to Jira: credentials, site check, budget and client (gateway.py), OAuth tokens,
the bulk changelog, and how a throttle becomes the state machine's wait."""
