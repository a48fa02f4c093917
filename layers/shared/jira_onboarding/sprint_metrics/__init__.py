"""Jira metrics: sprint metrics per board and the PR <-> Jira linkage."""
