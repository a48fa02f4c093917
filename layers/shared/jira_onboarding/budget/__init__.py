"""One Jira budget per site, shared by every team, run and Lambda calling it: pace instead of
colliding (issue 16). `site.py` names sites, endpoints and what a call costs; `pacer.py` paces a
client from the site's bucket in DynamoDB (`dal/site_budget.py`) and adapts to Jira's headers;
`probe.py` lets one call go first when a quota pause ends."""

from jira_onboarding.budget.pacer import Priority, SitePacer, site_pacer
from jira_onboarding.budget.site import app_key, endpoint_of, points_cost, site_key

__all__ = ["Priority", "SitePacer", "app_key", "endpoint_of", "points_cost", "site_key", "site_pacer"]
