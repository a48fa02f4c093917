"""Which AWS API calls each function makes, recorded while the local stack runs its handlers.

moto checks no IAM: a function whose policy lacks a grant passes every local test and is denied in
AWS. So, when recording is on (`IAM_CALLS_DIR`, set by `make test-integration`), every botocore
call made while a Lambda handler runs (or an event source mapping polls for it: that is the
function's role too) is recorded as (function logical id, IAM action, resource ARN), and
tests/infrastructure/test_iam_grants.py checks them against the template's policies.

The hook is a botocore `provide-client-params` handler on every client any botocore session creates
(the layer's per-thread session, PynamoDB's connections, boto3's default session), so nothing
depends on which session a call goes through. The function is a context variable set by
`LocalStack.invoke` (and by each SQS poller); the pools a handler starts inherit it (`install`
makes ThreadPoolExecutor.submit carry the submitter's context). Off, nothing is installed.

Resources are recorded in a canonical form: a template resource's physical name is replaced by its
logical id (`arn:aws:dynamodb:us-east-1:123456789012:table/JiraUsersTable`), so recordings of many
stacks (random KMS key ids) agree, and the check resolves the template's `!Ref`s to the same names
(`canonical_resolver`). Names that are not template resources (secrets) are kept as they are.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import json
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_harness.stack import _Resolver
    from local_harness.template import TemplateModel

ENV_VAR = "IAM_CALLS_DIR"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

# A template resource's ARN with `{n}` its name: the canonical form of the recorded resources.
ARN_FORMATS = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::SQS::Queue": "arn:aws:sqs:{r}:{a}:{n}",
    "AWS::KMS::Key": "arn:aws:kms:{r}:{a}:key/{n}",
    "AWS::Serverless::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::Serverless::StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "AWS::IAM::Role": "arn:aws:iam::{a}:role/{n}",
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::{a}:policy/{n}",
    "AWS::Scheduler::ScheduleGroup": "arn:aws:scheduler:{r}:{a}:schedule-group/{n}",
}
# IAM authorizes these operations as another action (the batch forms of SQS's operations).
_IAM_ACTION = {
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}
# TransactWriteItems / TransactGetItems are authorized per item as these actions, per table.
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
MOTO_KEY_ID_BYTES = 36  # moto's ciphertext blob starts with the key id (a UUID)

current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_function", default=None)


def arn(kind: str, name: str) -> str:
    return ARN_FORMATS[kind].format(r=REGION, a=ACCOUNT_ID, n=name)


def canonical_resolver(model: TemplateModel, parameters: dict[str, Any]) -> _Resolver:
    """The harness's resolver with every template resource named by its logical id."""
    from local_harness.stack import _Resolver

    resolver = _Resolver(model, parameters)
    for logical_id, resource in model.resources.items():
        kind = resource["Type"]
        resolver.physical[logical_id] = logical_id
        if kind == "AWS::SQS::Queue":
            resolver.physical[logical_id] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{logical_id}"
            resolver.queue_names[logical_id] = logical_id
        if kind in ARN_FORMATS:
            resolver.arns[logical_id] = arn(kind, logical_id)
    return resolver


class Recorder:
    """The calls of one process (one pytest worker), counted, written to one JSON lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}  # a live stack's physical names and ARNs -> logical id
        self._kinds: dict[str, str] = {}  # logical id -> resource type

    def attach(self, resolver: _Resolver) -> None:
        """The running stack's names, so its calls are recorded by logical id."""
        names: dict[str, str] = {}
        for table in (resolver.physical, resolver.arns, resolver.queue_names):
            names.update({str(value): logical for logical, value in table.items()})
        self._names = names
        self._kinds = {logical: r["Type"] for logical, r in resolver.model.resources.items()}

    def logical(self, physical: str) -> str:
        return self._names.get(physical, physical)

    def canonical(self, kind: str, physical: str) -> str:
        """The canonical ARN of a template resource named `physical` (its name, URL, id or ARN)."""
        logical = self.logical(physical)
        if self._kinds.get(logical) == kind:
            return arn(kind, logical)
        if physical.startswith("arn:"):
            return physical
        return arn(kind, physical.rsplit("/", 1)[-1])

    def record(self, function: str, action: str, resource: str) -> None:
        with self._lock:
            self.counts[(function, action, resource)] += 1

    def flush(self) -> None:
        with self._lock:
            rows = sorted(self.counts.items())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", encoding="utf-8") as handle:
            for (function, action, resource), count in rows:
                row = {"function": function, "action": action, "resource": resource, "count": count}
                handle.write(json.dumps(row) + "\n")


_active: list[Recorder] = []  # this process's recorder, once installed


def recorder() -> Recorder | None:
    return _active[0] if _active else None


def enabled_path() -> Path | None:
    """Where this process records, when `IAM_CALLS_DIR` is set: one file per pytest worker."""
    directory = os.environ.get(ENV_VAR, "").strip()
    if not directory:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return Path(directory) / f"{worker}.jsonl"


def install(path: Path) -> Recorder:
    """Start recording to `path` (once per process)."""
    if not _active:
        _active.append(Recorder(path))
        _hook_clients()
        _propagate_context_to_pools()
        _caches_per_function()
    return _active[0]


class _PerFunction(OrderedDict[Any, Any]):
    """A cache the layer keeps per execution environment, kept here per function: in one process
    every function shares the layer's module caches, so a data key decrypted (or a secret read)
    by one function would spare the next its call to KMS, and that call would go unrecorded."""

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__((current_function.get(), key))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__((current_function.get(), key), value)

    def __contains__(self, key: object) -> bool:
        return super().__contains__((current_function.get(), key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get((current_function.get(), key), default)

    def pop(self, key: Any, *default: Any) -> Any:
        """Forgotten for every function (a secret just written is stale everywhere)."""
        mine = super().get((current_function.get(), key), *default[:1])
        for stored in [k for k in self if k[1] == key]:
            super().pop(stored)
        return mine

    def move_to_end(self, key: Any, last: bool = True) -> None:
        super().move_to_end((current_function.get(), key), last)


def _caches_per_function() -> None:
    from jira_onboarding import aws, credentials

    credentials._encrypting = _PerFunction()  # type: ignore[assignment]
    credentials._decrypted = _PerFunction()
    aws._secrets = _PerFunction()


def attach(resolver: _Resolver) -> None:
    if _active:
        _active[0].attach(resolver)


@contextmanager
def acting_as(function: str | None) -> Iterator[None]:
    """Calls made in this block (and in the pools it starts) are `function`'s (None: nobody's)."""
    token = current_function.set(function)
    try:
        yield
    finally:
        current_function.reset(token)


def _hook_clients() -> None:
    import botocore.session

    create_client = botocore.session.Session.create_client

    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("provide-client-params", _on_call)
        return client

    botocore.session.Session.create_client = hooked  # type: ignore[method-assign]


def _propagate_context_to_pools() -> None:
    """A pool a handler starts (batch writes, the plan's counts) works for the same function."""
    submit = concurrent.futures.ThreadPoolExecutor.submit

    def submit_in_context(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    concurrent.futures.ThreadPoolExecutor.submit = submit_in_context  # type: ignore[method-assign]


def _on_call(params: dict[str, Any], model: Any, **_: Any) -> None:
    function = current_function.get()
    if function is None or not _active:
        return
    service = model.service_model.signing_name
    for action, resource in calls_of(_active[0], service, model.name, params):
        _active[0].record(function, action, resource)


def calls_of(rec: Recorder, service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (IAM action, canonical resource ARN) pairs one API call needs."""
    extract = _EXTRACTORS.get(service)
    if extract is None:
        return [(f"{service}:{operation}", "*")]
    return extract(rec, operation, params)


def _dynamodb(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    table = "AWS::DynamoDB::Table"
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{operation}", rec.canonical(table, name)) for name in params["RequestItems"]]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            (f"dynamodb:{_TRANSACT_ACTIONS[kind]}", rec.canonical(table, body["TableName"]))
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    if "TableName" not in params:
        return [(f"dynamodb:{operation}", "*")]
    resource = rec.canonical(table, params["TableName"])
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return [(f"dynamodb:{operation}", resource)]


def _sqs(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    action = "sqs:" + _IAM_ACTION.get(("sqs", operation), operation)
    queue = params.get("QueueUrl") or params.get("QueueName")
    return [(action, rec.canonical("AWS::SQS::Queue", str(queue)) if queue else "*")]


def _secretsmanager(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    secret = str(params.get("SecretId") or params.get("Name") or "")
    if not secret:
        return [(f"secretsmanager:{operation}", "*")]
    if not secret.startswith("arn:"):  # a name: its ARN ends in a random suffix of 6 characters
        secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{secret}-AbCdEf"
    return [(f"secretsmanager:{operation}", secret)]


def _kms(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    key = params.get("KeyId")
    if key is None and isinstance(params.get("CiphertextBlob"), bytes):
        key = params["CiphertextBlob"][:MOTO_KEY_ID_BYTES].decode("ascii", "replace")
    return [(f"kms:{operation}", rec.canonical("AWS::KMS::Key", str(key)) if key else "*")]


def _states(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if params.get("stateMachineArn"):
        return [
            (f"states:{operation}", rec.canonical("AWS::Serverless::StateMachine", params["stateMachineArn"]))
        ]
    if params.get("executionArn"):  # arn:aws:states:<region>:<account>:execution:<machine>:<name>
        _, machine, name = str(params["executionArn"]).rsplit(":", 2)
        execution = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{rec.logical(machine)}:{name}"
        return [(f"states:{operation}", execution)]
    return [(f"states:{operation}", "*")]


def _scheduler(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if "Name" not in params:
        return [(f"scheduler:{operation}", "*")]
    group = rec.logical(str(params.get("GroupName") or "default"))
    calls = [
        (
            f"scheduler:{operation}",
            f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/{group}/{params['Name']}",
        )
    ]
    role = (params.get("Target") or {}).get("RoleArn")
    if role:  # a schedule's target role is passed to Scheduler: iam:PassRole on it
        calls.append(("iam:PassRole", rec.canonical("AWS::IAM::Role", str(role))))
    return calls


def _lambda(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    name = str(params.get("FunctionName") or "")
    resource = rec.canonical("AWS::Serverless::Function", name.rsplit(":", 1)[-1]) if name else "*"
    return [(f"lambda:{operation}", resource)]


def _bedrock(rec: Recorder, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    model = str(params.get("modelId") or "")
    resource = model if model.startswith("arn:") else f"arn:aws:bedrock:{REGION}::foundation-model/{model}"
    return [(f"bedrock:{'InvokeModel' if operation == 'Converse' else operation}", resource)]


_EXTRACTORS = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "secretsmanager": _secretsmanager,
    "kms": _kms,
    "states": _states,
    "scheduler": _scheduler,
    "lambda": _lambda,
    "bedrock": _bedrock,
}
