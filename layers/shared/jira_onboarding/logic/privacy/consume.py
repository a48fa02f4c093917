"""The personal data reports queue's consumer: one team's report per message (or the
dispatcher's continuation), each record succeeding or failing alone (partial batch failures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jira_onboarding.logic.privacy.dispatch import dispatch_reports
from jira_onboarding.logic.privacy.queue import PrivacyMessage, parse_message, send
from jira_onboarding.logic.privacy.report import TeamReport, report_team
from jira_onboarding.observability import MetricUnit, logger, metrics


def _time_left(context: Any) -> Callable[[], float]:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return lambda: float("inf")
    return lambda: context.get_remaining_time_in_millis() / 1000.0


def handle_message(message: PrivacyMessage, time_left_s: Callable[[], float]) -> str:
    """Do what one message asks; a team left unfinished is queued again (after Retry-After when
    throttled), so the record itself succeeds."""
    if message.kind == "dispatch":
        dispatch_reports(message.cursor, time_left_s=time_left_s)
        return "dispatched"
    assert message.team_id is not None  # parse_message holds it
    report: TeamReport = report_team(message.team_id, time_left_s=time_left_s)
    if report.outcome == "throttled":
        send(message, delay_s=report.retry_after or 0.0)
    elif report.outcome == "continued":
        send(message)
    metrics.add_metric(name="PersonalDataAccountsReported", unit=MetricUnit.Count, value=report.reported)
    metrics.add_metric(name="PersonalDataAccountsErased", unit=MetricUnit.Count, value=report.erased)
    metrics.add_metric(name="PersonalDataAccountsRefreshed", unit=MetricUnit.Count, value=report.refreshed)
    logger.info(
        "Personal data report",
        extra={
            "team_id": message.team_id,
            "outcome": report.outcome,
            "reported": report.reported,
            "erased": report.erased,
            "refreshed": report.refreshed,
            "retry_after": report.retry_after,
        },
    )
    return report.outcome


def report_personal_data(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The SQS event source mapping's batch: `{"batchItemFailures": [...]}` for SQS to redeliver."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    time_left_s = _time_left(context)

    def handle(record: SQSRecord) -> str:
        return handle_message(parse_message(record.body), time_left_s)

    answer: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return answer
