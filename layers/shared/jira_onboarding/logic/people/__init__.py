"""Jira users and the team's members: the users step, matching, PR evidence, manual matches."""
