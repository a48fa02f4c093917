"""SQS queues from `template.yaml`, and their event source mappings run the way Lambda runs them.

moto 5.2.1 does deliver an SQS event source mapping on its own, but not as Lambda does: it invokes
the function inside `SendMessage`, in the sender's thread, with one message per invocation, and the
message is gone whatever the function answered (checked by hand: a SendMessage returned only after
the patched invoke ran, and the queue was empty after an answer with no batchItemFailures). That
would make the webhook receiver wait for the consumer, and there would be no batches, no partial
batch failures and no redrive. So the mapping is not created in moto; a poller per mapping (the
template's `Events: Type: SQS`: batch size, batching window, maximum concurrency, response types)
receives batches, invokes the function the template names through the stack's one dispatch seam,
deletes what succeeded and lets the failures come back. moto's SQS itself keeps the receive counts
and moves a message to the dead-letter queue after the redrive policy's `maxReceiveCount`.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_harness.stack import LocalStack, _Resolver
    from local_harness.template import TemplateModel

# A failed message comes back after the queue's visibility timeout (360 s in the template); locally
# it comes back after this, so a test sees the redelivery and the dead-lettering in seconds.
LOCAL_RETRY_VISIBILITY_S = 1
POLL_INTERVAL_S = 0.02
# An idle poller backs off to this (Lambda long-polls an empty queue): five pollers at 20 ms kept
# ~250 moto receives a second going, a third of a core, in every stack and in `serve` all day. The
# cost is at most this much more delay for the first message after a quiet spell. An idle poll
# looks at moto's queue first and calls ReceiveMessage only when it holds a visible message: the
# same cadence, without the empty receives (a tenth of the local stack's CPU in bench_sync, py-spy).
IDLE_POLL_MAX_S = 0.2
SQS_RECEIVE_MAX = 10


def patch_moto_sqs_threads() -> None:
    """SQS takes concurrent requests; moto's SQS backend is not safe under threads (a receive
    copies a queue's message groups while a send adds one: "Set changed size during iteration",
    seen with the mapping's five pollers and the receiver). One lock around its message operations."""
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend, "_local_harness_locked", False):
        return
    lock = threading.RLock()
    for name in (
        "send_message",
        "send_message_batch",
        "receive_message",
        "delete_message",
        "delete_message_batch",
        "change_message_visibility",
        "change_message_visibility_batch",
        "get_queue_attributes",
        "purge_queue",
    ):
        original = getattr(SQSBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        setattr(SQSBackend, name, locked)
    SQSBackend._local_harness_locked = True  # type: ignore[attr-defined]


def create_queues(model: TemplateModel, resolver: _Resolver, region: str) -> dict[str, tuple[str, str, str]]:
    """Create every AWS::SQS::Queue, dead-letter queues first; returns logical id -> (name, url, arn)."""
    import boto3

    patch_moto_sqs_threads()
    client = boto3.client("sqs", region_name=region)
    queues = model.of_type("AWS::SQS::Queue")
    created: dict[str, tuple[str, str, str]] = {}
    # A queue whose RedrivePolicy names another is created after it.
    order = sorted(queues, key=lambda logical_id: "RedrivePolicy" in queues[logical_id].get("Properties", {}))
    for logical_id in order:
        props = queues[logical_id].get("Properties", {})
        name = f"jira-onboarding-{resolver.stage}-{logical_id}"
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if key in props:
                attributes[key] = str(props[key])
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[logical_id] = (name, url, arn)
        resolver.arns[logical_id] = arn
        if "RedrivePolicy" in props:
            policy = resolver.resolve(props["RedrivePolicy"])
            client.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
    return created


class SqsPoller:
    """One SQS event source mapping: up to MaximumConcurrency batches at once."""

    def __init__(
        self, stack: LocalStack, function_name: str, properties: dict[str, Any], queue_arn: str
    ) -> None:
        self.stack = stack
        self.function_name = function_name
        self.batch_size = int(properties.get("BatchSize", 10))
        self.window_s = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        self.concurrency = int((properties.get("ScalingConfig") or {}).get("MaximumConcurrency", 2))
        self.partial = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.queue_arn = queue_arn
        self.queue_url = next(
            url
            for logical_id, url in stack.resolver.physical.items()
            if stack.resolver.arns.get(logical_id) == queue_arn
        )
        self.batches: list[tuple[int, int]] = []  # (records, failed) per invocation
        self._busy = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start polling (again, after `stop`: the pause of a benchmark)."""
        self._stop.clear()
        for n in range(self.concurrency):
            thread = threading.Thread(target=self._run, daemon=True, name=f"sqs-{self.function_name}-{n}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def _receive(self, client: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.window_s
        # As in Lambda: a batch of more than 10 needs a batching window of at least 1 s; without
        # one, a batch is what one receive returns.
        limit = self.batch_size if self.window_s >= 1 else min(self.batch_size, SQS_RECEIVE_MAX)
        while len(messages) < limit and not self._stop.is_set():
            got = client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, limit - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(got)
            if self.window_s < 1 and messages:
                break
            if not got:
                if not messages or time.monotonic() >= deadline:
                    break
                time.sleep(POLL_INTERVAL_S)
        return messages

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.queue_arn.split(":")[3],
        }

    def _run(self) -> None:
        import boto3

        from local_harness import iam_calls

        if iam_calls.recorder() is not None:  # a mapping polls with its function's role
            iam_calls.current_function.set(self.stack.functions[self.function_name].logical_id)
        client: Any = None
        empty_polls = 0
        while not self._stop.is_set():
            try:
                # Made in the loop: a failed start (botocore reads os.environ, which a test may be
                # changing) is retried as a failed poll, as Lambda's poller keeps polling.
                if client is None:
                    client = boto3.client("sqs", region_name=self.queue_arn.split(":")[3])
                messages = self._receive(client) if self._has_visible() else []
            except Exception:
                traceback.print_exc()
                self._stop.wait(POLL_INTERVAL_S)
                continue
            if not messages:
                empty_polls = min(empty_polls + 1, 8)
                self._stop.wait(min(IDLE_POLL_MAX_S, POLL_INTERVAL_S * 2 ** (empty_polls - 1)))
                continue
            empty_polls = 0
            with self._lock:
                self._busy += 1
            try:
                self._handle(client, messages)
            finally:
                with self._lock:
                    self._busy -= 1

    def _has_visible(self) -> bool:
        """Whether moto's queue holds a message a receive could return (visible, not delayed);
        True when the queue cannot be looked at, so the receive decides."""
        from moto.sqs.models import sqs_backends

        _, _, _, region, account, name = self.queue_arn.split(":")
        try:
            return bool(sqs_backends[account][region].get_queue(name).messages)
        except Exception:
            return True

    def _handle(self, client: Any, messages: list[dict[str, Any]]) -> None:
        from local_harness import iam_calls

        result, error = self.stack.invoke(
            self.function_name, {"Records": [self._record(m) for m in messages]}
        )
        by_id = {m["MessageId"]: m for m in messages}
        if error or not self.partial:
            failed = set(by_id) if error else set()
        else:
            failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or []}
            if failed - set(by_id):  # an unknown id: Lambda treats the whole batch as failed
                failed = set(by_id)
        self.batches.append((len(messages), len(failed)))
        done = [m for mid, m in by_id.items() if mid not in failed]
        for start in range(0, len(done), SQS_RECEIVE_MAX):
            client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[start : start + SQS_RECEIVE_MAX])
                ],
            )
        # Lambda's mapping lets a failed message's visibility timeout run out; here it is cut short
        # (LOCAL_RETRY_VISIBILITY_S), a call the function's role never makes: not recorded.
        with iam_calls.acting_as(None):
            for mid in failed:
                client.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=by_id[mid]["ReceiptHandle"],
                    VisibilityTimeout=LOCAL_RETRY_VISIBILITY_S,
                )

    def drain(self, timeout_s: float, *, delayed: bool = False) -> bool:
        import boto3

        client = boto3.client("sqs", region_name=self.queue_arn.split(":")[3])
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        if delayed:
            names.append("ApproximateNumberOfMessagesDelayed")
        deadline = time.monotonic() + max(0.0, timeout_s)
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            attributes = client.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)[
                "Attributes"
            ]
            empty = all(int(attributes.get(n, 0)) == 0 for n in names)
            with self._lock:
                idle = empty and self._busy == 0
            if idle:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3 * POLL_INTERVAL_S:
                    return True
            else:
                quiet_since = None
            time.sleep(POLL_INTERVAL_S)
        return False
