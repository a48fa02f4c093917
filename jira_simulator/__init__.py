"""Local Jira Cloud simulator (dev only): REST v3 and Agile 1.0 over a seeded workspace.

Supported endpoints, JQL subset and fault kinds are listed in ``server.py`` and ``faults.py``;
Atlassian's OAuth 2.0 (3LO) side (one app, several sites) in ``atlassian.py``, scopes in ``scopes.py``.
"""

from .atlassian import AtlassianApp, SimSite
from .atlassian_pages import follow_consent
from .faults import Fault, FaultPlan, Match, SimRequest, SimulatedTimeout
from .server import ApiError, JiraSimulator, RequestRecord, parse_jql
from .workspace import ProjectSpec, SimProject, Workspace, WorkspaceSize, build_workspace

__all__ = [
    "ApiError",
    "AtlassianApp",
    "Fault",
    "FaultPlan",
    "JiraSimulator",
    "Match",
    "ProjectSpec",
    "RequestRecord",
    "SimProject",
    "SimRequest",
    "SimSite",
    "SimulatedTimeout",
    "Workspace",
    "WorkspaceSize",
    "build_workspace",
    "follow_consent",
    "parse_jql",
]
