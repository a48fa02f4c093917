"""Jira Cloud REST v3 and Agile 1.0: the client and the models of its payloads."""
