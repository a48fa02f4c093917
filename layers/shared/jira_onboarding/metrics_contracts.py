"""GET /jira/metrics: the snapshot's figures typed as the metrics step computes them (its own module:
the sprint metrics models are imported only by the functions that serve or compute them)."""

from jira_onboarding.contracts import BoundaryModel
from jira_onboarding.sprint_metrics.linkage import LinkageReport
from jira_onboarding.sprint_metrics.releases import ReleaseReport
from jira_onboarding.sprint_metrics.report import SprintMetricsReport


class MetricsResponse(BoundaryModel):
    """GET /jira/metrics: the latest snapshot, every figure with its basis."""

    snapshot_id: str
    run_id: str | None = None
    computed_at: str
    sprint_metrics: SprintMetricsReport | None = None
    linkage: LinkageReport | None = None
    releases: ReleaseReport | None = None  # issues done per fix version, lead time to release
