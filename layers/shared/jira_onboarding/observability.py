"""The one home of the Powertools logger, tracer and metrics used by every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="jira-onboarding")
tracer = Tracer(service="jira-onboarding")
metrics = Metrics(namespace="JiraOnboarding", service="jira-onboarding")

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
