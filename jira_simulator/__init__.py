"""Local Jira Cloud simulator (dev only): REST v3 and Agile 1.0 over a seeded workspace.

Supported endpoints, JQL subset and fault kinds are listed in ``server.py`` and ``faults.py``.
"""

from .faults import Fault, FaultPlan, Match, SimRequest, SimulatedTimeout
from .server import ApiError, JiraSimulator, RequestRecord, parse_jql
from .workspace import ProjectSpec, SimProject, Workspace, WorkspaceSize, build_workspace

__all__ = [
    "ApiError",
    "Fault",
    "FaultPlan",
    "JiraSimulator",
    "Match",
    "ProjectSpec",
    "RequestRecord",
    "SimProject",
    "SimRequest",
    "SimulatedTimeout",
    "Workspace",
    "WorkspaceSize",
    "build_workspace",
    "parse_jql",
]
