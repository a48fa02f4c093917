"""Site data fetched once per site, not once per team: the field list (the sprint and story-point
fields are a fact of the site, the same for every team on it).

The user list stays per team on purpose: what `users/search` answers depends on the credentials'
"Browse users and groups" permission, the matching to members is the team's own, and every user
item is keyed by its team, so no team ever reads users another team's credentials fetched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jira_onboarding.budget.site import site_key
from jira_onboarding.dal.site_budget import SiteBudgetStore
from jira_onboarding.settings import get_settings

# How long one team's field detection serves the others on its site: long enough for teams of one
# company onboarding together, short enough that a field added in Jira shows up the same day.
SHARED_FIELDS_MAX_AGE_S = 3600.0


def site_fields(
    site_url: str, detect: Callable[[], dict[str, Any]], *, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """The site's field map: another team's recent detection, or `detect()` (one Jira call) shared."""
    table = get_settings().tables.jira_site_budgets
    if not table:
        return detect()
    store = SiteBudgetStore(table)
    site = site_key(site_url)
    now = clock()
    shared = store.shared_fields(site, newer_than=now - SHARED_FIELDS_MAX_AGE_S)
    if shared is not None:
        return shared
    field_map = detect()
    store.share_fields(site, field_map, now)
    return field_map
