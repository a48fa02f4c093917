"""The one home of the Powertools logger, tracer and metrics used by every function."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

SERVICE = "jira-onboarding"


class _NoTraceSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class _NoTraceProvider(BaseProvider):
    """The tracer's provider where tracing is off (locally, in tests, POWERTOOLS_TRACE_DISABLED).

    Powertools' default provider is the X-Ray SDK's recorder even when tracing is disabled, and
    importing it costs ~250 ms of a cold start: it builds a botocore X-Ray client for centralized
    sampling at import. Where tracing is on (Lambda with active tracing) the X-Ray SDK is used.
    """

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NoTraceSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _NoTraceSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def _tracer() -> Tracer:
    # Same rule as Powertools' own (env var, outside Lambda, SAM local), decided before the
    # provider is built so a disabled tracer never imports the X-Ray SDK.
    if Tracer._is_tracer_disabled():
        return Tracer(service=SERVICE, disabled=True, provider=_NoTraceProvider())
    # Powertools patches every library the X-Ray SDK knows by default: that imported httpx and
    # sqlite3 into functions that use neither (~45 ms of the start function's cold start), and gave
    # each DynamoDB call three subsegments (the SDK's botocore, PynamoDB and http.client patches).
    # botocore is what every function calls AWS with; httpx is patched by the modules that make
    # HTTP calls (trace_httpx).
    return Tracer(service=SERVICE, patch_modules=["botocore"])


def trace_httpx() -> None:
    """X-Ray subsegments for the httpx clients built after this call (Jira, Atlassian's token
    endpoint). Called at import by the modules that make HTTP calls; patching twice is a no-op."""
    tracer.patch(["httpx"])


logger = Logger(service=SERVICE)
tracer = _tracer()
metrics = Metrics(namespace="JiraOnboarding", service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics", "trace_httpx", "tracer"]
