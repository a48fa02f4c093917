"""Powertools feature flags. In AWS the flags live in AppConfig; where no AppConfig is configured
(locally, in tests) the same schema is read from the FEATURE_FLAGS environment variable."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.feature_flags import AppConfigStore, FeatureFlags
from aws_lambda_powertools.utilities.feature_flags.base import StoreProvider

PIPELINE_FLAG = "jira_onboarding_pipeline"
DEFAULT_FLAGS = {PIPELINE_FLAG: {"default": True}}


class EnvironmentStore(StoreProvider):
    """Feature flag configuration from an environment variable, in Powertools' own schema."""

    def __init__(self, variable: str = "FEATURE_FLAGS") -> None:
        self.variable = variable

    @property
    def get_raw_configuration(self) -> dict[str, Any]:
        raw = os.environ.get(self.variable)
        return json.loads(raw) if raw else dict(DEFAULT_FLAGS)

    def get_configuration(self) -> dict[str, Any]:
        return self.get_raw_configuration


@lru_cache(maxsize=4)
def _appconfig_flags(application: str, environment: str, profile: str) -> FeatureFlags:
    # One store per execution environment: it holds the boto3 client and the fetched configuration
    # for `max_age` seconds. A store per call built a new boto3 session and client (~100 ms) and
    # called AppConfig on every request, so the documented 60 s cache never applied.
    store = AppConfigStore(environment=environment, application=application, name=profile, max_age=60)
    return FeatureFlags(store=store)


def feature_flags() -> FeatureFlags:
    application = os.environ.get("APPCONFIG_APPLICATION")
    if application:
        return _appconfig_flags(
            application,
            os.environ.get("APPCONFIG_ENVIRONMENT", "default"),
            os.environ.get("APPCONFIG_PROFILE", "feature-flags"),
        )
    return FeatureFlags(store=EnvironmentStore())


def pipeline_enabled(team_id: str) -> bool:
    """Whether selecting projects starts the pipeline now (on) or leaves them for the nightly job (off)."""
    return bool(feature_flags().evaluate(name=PIPELINE_FLAG, context={"team_id": team_id}, default=True))
