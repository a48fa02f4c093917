"""A team's Jira connection: register, disconnect, migrate, and the site's projects."""
