"""Local AWS: moto in-process, built from `template.yaml`, running the real state machine definition.

moto's Step Functions interpreter executes `statemachine/*.asl.json` (Map, Retry, Catch, Wait and
all) and calls Lambda through moto's docker-free Lambda backend; its `invoke` is the seam where each
task is dispatched in-process to the real handler the template names. Nothing here interprets ASL.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from local_harness import iam_calls
from local_harness.dynamodb_process import DynamoDBProcess
from local_harness.event_sources import SqsPoller, create_queues
from local_harness.template import REPO_ROOT, FunctionSpec, TemplateModel, template_model

REGION = "us-east-1"
EXECUTION_ENVIRONMENT_SWITCH_INTERVAL_S = 0.001  # see LocalStack.start
ACCOUNT_ID = "123456789012"


@dataclass
class LambdaContext:
    """The parts of the Lambda context the handlers and Powertools read."""

    function_name: str
    timeout_s: int
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function: str
    event: dict[str, Any]
    error: str | None
    seconds: float
    ended_at: float = 0.0  # time.monotonic() when it returned


class _Resolver:
    """Resolves the intrinsic functions the template uses into local physical names and ARNs."""

    def __init__(self, model: TemplateModel, parameters: dict[str, Any]) -> None:
        self.model = model
        self.parameters = parameters
        self.stage = str(parameters.get("Stage", "dev"))
        self.physical: dict[str, str] = {}  # for a queue: its URL (what Ref gives)
        self.arns: dict[str, str] = {}
        self.queue_names: dict[str, str] = {}

    def physical_name(self, logical_id: str) -> str:
        return self.physical[logical_id]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((kind, arg),) = value.items()
            if kind == "Ref":
                if arg in self.parameters:
                    return str(self.parameters[arg])
                if arg in self.arns and self.model.resources[arg]["Type"] == "AWS::Serverless::StateMachine":
                    return self.arns[arg]
                return self.physical[arg]
            if kind == "Fn::GetAtt":
                logical_id, attribute = arg
                if attribute == "Arn":
                    return self.arns[logical_id]
                if attribute == "Name":
                    return self.physical[logical_id]
                if attribute == "QueueName":
                    return self.queue_names[logical_id]
                raise ValueError(f"unsupported GetAtt {logical_id}.{attribute}")
            if kind == "Fn::Sub":
                template = arg if isinstance(arg, str) else arg[0]
                return self.substitute(template)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def substitute(self, template: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in pseudo:
                return pseudo[name]
            if name in self.parameters:
                return str(self.parameters[name])
            return str(self.resolve({"Ref": name}))

        return re.sub(r"\$\{([^}!]+)\}", repl, template)


def _patch_moto_state_machine_copy() -> None:
    """moto 5.2 deep-copies the state machine, executions included, on every start_execution; a
    running execution holds a lock, so the second execution fails to copy. Copy the definition only."""
    from moto.stepfunctions.models import StateMachine

    if getattr(StateMachine, "_local_harness_patched", False):
        return

    def _deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            setattr(clone, name, [] if name == "executions" else copy.deepcopy(value, memo))
        return clone

    StateMachine.__deepcopy__ = _deepcopy  # type: ignore[attr-defined]
    StateMachine._local_harness_patched = True  # type: ignore[attr-defined]


def _patch_moto_atomic_writes() -> None:
    """DynamoDB applies a conditional write atomically; moto checks the condition and writes in
    two steps, so two threads can both pass a condition. The pipeline relies on that atomicity
    (cursor commits, the OAuth refresh lease): give moto's writes the same guarantee. Reads take
    the lock too: moto's query and scan iterate a table's dict, which a concurrent put grows
    ("dictionary changed size during iteration" in a project step counting its issues)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_local_harness_atomic", False):
        return
    lock = threading.RLock()
    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "query",
        "scan",
        "get_item",
    ):
        original = getattr(DynamoDBBackend, name)

        def atomic(
            self: Any,
            *args: Any,
            __original: Any = original,
            __copy: bool = name == "update_item",
            **kwargs: Any,
        ) -> Any:
            with lock:
                result = __original(self, *args, **kwargs)
                # moto renders ReturnValues=ALL_NEW from the live item after the lock is gone, so a
                # concurrent update could show through; DynamoDB returns the item as this write left it.
                return copy.deepcopy(result) if __copy else result

        setattr(DynamoDBBackend, name, atomic)
    # moto's UpdateItem response copies the stored item (for ReturnValues) before it calls the
    # backend, outside the backend's lock: a concurrent update of the same item made the copy fail
    # ("dictionary changed size during iteration", five Lambdas booking one site's budget). The
    # whole request holds the lock.
    from moto.dynamodb.responses import DynamoHandler

    handler_update = DynamoHandler.update_item

    def update_item_request(self: Any) -> Any:
        with lock:
            return handler_update(self)

    DynamoHandler.update_item = update_item_request  # type: ignore[method-assign]
    DynamoDBBackend._local_harness_atomic = True  # type: ignore[attr-defined]


def _patch_moto_item_size_check() -> None:
    """moto checks DynamoDB's item size limit as it builds an item, re-summing every attribute so
    far on each attribute it adds: O(n²) per item, a tenth of the local stack's CPU when it stores
    issues. Check the same limit once per item built; the sizes are positive, so the sum at the end
    exceeds the limit exactly when moto's check at some attribute would have. Updates of stored
    items keep moto's own check."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item, "_local_harness_size_check", False):
        return

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:  # noqa: N807
        self.hash_key = hash_key
        self.range_key = range_key
        built = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(built)
        size = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            size += bytesize(key) + typed.size()
            dict.__setitem__(built, key, typed)
        if size > 405000:  # moto's limit (DynamoDB's 400 KB, measured between 409 and 410 KB)
            raise ItemSizeTooLarge
        self.attrs = built

    Item.__init__ = __init__  # type: ignore[method-assign]
    Item._local_harness_size_check = True  # type: ignore[attr-defined]


def _patch_moto_batch_write_keys() -> None:
    """DynamoDB refuses a BatchWriteItem that names one item key twice. moto instead compares
    whole items, each serialized to JSON and searched for in a list: quadratic in the batch, a
    fifth of its CPU when the pipeline stores issues, and it lets through two different items with
    the same key, which DynamoDB refuses. Check keys, as DynamoDB does, then let moto write."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler, validate_put_has_empty_keys

    if getattr(DynamoHandler, "_local_harness_keys", False):
        return

    def batch_write_item(self: Any) -> Any:
        batches = self.body["RequestItems"]
        backend = self.dynamodb_backend
        seen: set[tuple[str, str]] = set()
        writes: list[tuple[str, str, dict[str, Any]]] = []
        for table_name, requests in batches.items():
            table = backend.get_table(table_name)
            key_names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
            for request in requests:
                ((kind, body),) = request.items()
                attributes = body["Item"] if kind == "PutRequest" else body["Key"]
                if kind == "PutRequest":
                    validate_put_has_empty_keys(
                        attributes,
                        table,
                        custom_error_msg="One or more parameter values are not valid. The AttributeValue "
                        "for a key attribute cannot contain an empty string value. Key: {}",
                    )
                key = (table_name, json.dumps([attributes.get(name) for name in key_names], sort_keys=True))
                if key in seen:
                    raise MockValidationException("Provided list of item keys contains duplicates")
                seen.add(key)
                writes.append((kind, table_name, attributes))
        for kind, table_name, attributes in writes:  # puts, then deletes, as moto orders them
            if kind == "PutRequest":
                backend.put_item(table_name, attributes)
        for kind, table_name, attributes in writes:
            if kind == "DeleteRequest":
                backend.delete_item(table_name, attributes)
        capacity = [
            {"TableName": name, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}} for name in batches
        ]
        return ActionResult(
            {"ConsumedCapacity": capacity, "ItemCollectionMetrics": {}, "UnprocessedItems": {}}
        )

    DynamoHandler.batch_write_item = batch_write_item  # type: ignore[method-assign]
    DynamoHandler._local_harness_keys = True  # type: ignore[attr-defined]


_PLAIN_ATTRIBUTE_VALUES = frozenset({"S", "N", "BOOL", "NULL"})


def _patch_moto_attribute_value_parse() -> None:
    """moto parses every request against the service model, member by member: for DynamoDB an item
    is a map of AttributeValue structures, each walked through its ten possible members, a third
    of moto's CPU when the pipeline stores issues. An AttributeValue with one member that the
    parser would return unchanged (S, N, BOOL, NULL; SS and NS as a list of the same strings;
    M and L holding such values) is built directly; anything else (B, BS, a null member, more
    than one member) still goes through moto's parser. The result is the same either way:
    tests/infrastructure/test_local_harness_dynamodb.py compares the two."""
    from moto.core.parse import BaseJSONParser

    if getattr(BaseJSONParser, "_local_harness_attribute_values", False):
        return
    parse_structure = BaseJSONParser._parse_structure

    def fast(value: Any) -> Any:
        if type(value) is dict and len(value) == 1:
            ((kind, inner),) = value.items()
            if kind in _PLAIN_ATTRIBUTE_VALUES and inner is not None:
                return {kind: inner}
            if kind in ("SS", "NS") and type(inner) is list:
                return {kind: list(inner)}
            if kind == "M" and type(inner) is dict:
                members = {name: fast(member) for name, member in inner.items()}
                if _NOT_PLAIN not in members.values():
                    return {"M": members}
            elif kind == "L" and type(inner) is list:
                items = [fast(member) for member in inner]
                if _NOT_PLAIN not in items:
                    return {"L": items}
        return _NOT_PLAIN

    def _parse_structure(self: Any, shape: Any, value: Any) -> Any:
        if shape.name == "AttributeValue":
            parsed = fast(value)
            if parsed is not _NOT_PLAIN:
                return parsed
        return parse_structure(self, shape, value)

    _parse_structure.__wrapped__ = parse_structure  # type: ignore[attr-defined] # moto's own, for the tests
    BaseJSONParser._parse_structure = _parse_structure  # type: ignore[method-assign]
    BaseJSONParser._local_harness_attribute_values = True  # type: ignore[attr-defined]


_NOT_PLAIN = object()  # an AttributeValue the fast path leaves to moto's parser


def patch_moto_dynamodb() -> None:
    """Every patch of moto's DynamoDB, in-process or in its own process (dynamodb_process.py)."""
    _patch_moto_atomic_writes()
    _patch_moto_item_size_check()
    _patch_moto_batch_write_keys()
    _patch_moto_attribute_value_parse()


# How long `stop` waits for running handlers before it leaves local AWS up (see `stop`).
STOP_GRACE_S = 5.0
# The base URL the API's handlers see for themselves here (local_harness/api_events.py's domain).
LOCAL_API_BASE = "https://localhost"


class LocalStack:
    """The whole application on moto: tables, functions and the state machine from the template."""

    def __init__(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        log_stream: io.TextIOBase | None = None,
        dynamodb_process: bool = False,
        dynamodb_setup: str | None = None,
        execute_executions: bool = True,
    ) -> None:
        """`dynamodb_process`: DynamoDB in a process of its own (see local_harness/dynamodb_process.py),
        with `dynamodb_setup` (module:function) run in it first. `execute_executions=False`: Step
        Functions records executions (names, inputs, refused repeats) without running them, for
        tests of what starts them at fleet scale."""
        self.model = template_model()
        self.parameters = {**self.model.parameter_defaults(), "Stage": "local", **(parameters or {})}
        self.resolver = _Resolver(self.model, self.parameters)
        self.functions: dict[str, FunctionSpec] = {}
        self.state_machine_arn = ""
        self.invocations: list[Invocation] = []
        self.execute_executions = execute_executions
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        # Warm execution environments per function, each with its own thread (see `invoke`).
        self._idle_environments: dict[str, list[ThreadPoolExecutor]] = {}
        self._environments: list[ThreadPoolExecutor] = []
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._switch_interval = sys.getswitchinterval()
        self._log_stream = log_stream
        self.dynamodb: DynamoDBProcess | None = DynamoDBProcess(dynamodb_setup) if dynamodb_process else None
        self.pollers: dict[str, SqsPoller] = {}  # function logical id -> its event source mapping
        # Tests can wrap a function's dispatch (e.g. to kill it between pages): name -> wrapper.
        self.dispatch_hooks: dict[
            str, Callable[[Callable[[dict, LambdaContext], Any], dict, LambdaContext], Any]
        ] = {}

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from moto import mock_aws

        self._set_env(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines would drown the terminal
                "POWERTOOLS_DEV": "false",
                # The Jira simulator listens on loopback; deployed, only Jira Cloud is reachable
                # (jira_onboarding/jira_sites.py) and template.yaml never sets this.
                "ALLOW_LOCAL_JIRA": "true",
            }
        )
        if self.dynamodb is not None:
            self._set_env({"AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.start()})
        # Every execution environment here is a thread of this one interpreter; in Lambda each has
        # an interpreter of its own. By default a thread holds the GIL for up to 5 ms before it must
        # let another run, so a segment whose Jira answer has arrived waits behind another
        # function's batch serialization, which in Lambda runs elsewhere. 1 ms brings the threads
        # closer to separate processes (in the full benchmark the gain was within the noise).
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(EXECUTION_ENVIRONMENT_SWITCH_INTERVAL_S)
        self._mock = mock_aws(
            config={
                "stepfunctions": {"execute_state_machine": self.execute_executions},
                "lambda": {"use_docker": False},
            }
        )
        self._mock.start()
        _patch_moto_state_machine_copy()
        patch_moto_dynamodb()
        self._install_dispatch()
        self._create_tables()
        self._create_roles_keys_and_schedule_groups()
        self._create_queues()
        self._create_functions()
        self._create_state_machine()
        iam_calls.attach(self.resolver)  # when recording (IAM_CALLS_DIR): calls by logical id
        self._export_environment()
        self._create_oauth_app_secret()
        self._reset_library_caches()
        self._start_event_sources()
        if self._log_stream is not None:
            self._redirect_logs(self._log_stream)

    def stop(self) -> None:
        if self.execute_executions:
            self.wait_for_executions(timeout_s=30)
        for poller in self.pollers.values():
            poller.stop()
        self.pollers.clear()
        for environment in self._environments:
            environment.shutdown(wait=False)
        self._environments.clear()
        self._idle_environments.clear()
        running = self._running_handlers(STOP_GRACE_S)
        if running:
            # A handler still runs (Ctrl-C mid-sync, a hung Jira call): stopping moto and putting the
            # person's own AWS environment back now would send its next call to a real account. So
            # local AWS stays up until it ends or the process exits; calling stop again finishes.
            print(
                f"local AWS stays up while {len(running)} function(s) finish: none reaches a real account",
                file=sys.stderr,
            )
            return
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self.dynamodb is not None:
            self.dynamodb.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        self._reset_library_caches()
        sys.setswitchinterval(self._switch_interval)

    @staticmethod
    def _running_handlers(grace_s: float) -> list[threading.Thread]:
        """The execution environments' threads still running after up to `grace_s` seconds."""
        deadline = time.monotonic() + grace_s
        while True:
            running = [t for t in threading.enumerate() if t.name.startswith("lambda-") and t.is_alive()]
            if not running or time.monotonic() >= deadline:
                return running
            time.sleep(0.05)

    def _create_oauth_app_secret(self, client_id: str = "", client_secret: str = "") -> None:
        """The deployment's OAuth app secret (template parameter OAuthAppSecretName), as a
        deployment always has one: by default the simulator's demo app."""
        import json

        import boto3
        from jira_onboarding import aws

        from jira_simulator.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

        name = str(self.resolver.resolve({"Fn::Sub": "jira-onboarding/${Stage}/${OAuthAppSecretName}"}))
        value = json.dumps(
            {"client_id": client_id or DEMO_CLIENT_ID, "client_secret": client_secret or DEMO_CLIENT_SECRET}
        )
        client = boto3.client("secretsmanager", region_name=REGION)
        try:
            client.create_secret(Name=name, SecretString=value)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=name, SecretString=value)
        aws.forget_secret(name)

    def use_atlassian(self, url: str, app: Any, *, public_base_url: str = LOCAL_API_BASE) -> None:
        """Atlassian's side of the one OAuth app played by the simulator at `url` with its `app`
        (jira_simulator.AtlassianApp; its authorization server and API gateway share the
        simulator's origin): the app's client id and secret in local Secrets Manager, as a
        deployment keeps them, the two Atlassian URLs pointed at `url`, and the API's callback
        registered with the app, as in Atlassian's developer console."""
        from jira_onboarding.settings import get_settings

        self._create_oauth_app_secret(app.client_id, app.client_secret)
        callback = f"{public_base_url.rstrip('/')}/jira/oauth/callback"
        if callback not in app.redirect_uris:
            app.redirect_uris.append(callback)
        env = {"ATLASSIAN_AUTH_URL": url, "ATLASSIAN_API_URL": url}
        if public_base_url != LOCAL_API_BASE:
            env["WEBHOOK_BASE_URL"] = public_base_url  # the API's public base: webhooks, the callback
        self._set_env(env)
        get_settings.cache_clear()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    @staticmethod
    def _reset_library_caches() -> None:
        from jira_onboarding.settings import get_settings

        get_settings.cache_clear()
        from jira_onboarding import aws
        from jira_onboarding.dal import tables

        aws.clear_caches()
        tables.forget_table_bindings()
        from jira_onboarding import credentials

        credentials.clear_caches()

    def _redirect_logs(self, stream: io.TextIOBase) -> None:
        from jira_onboarding.observability import logger

        logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]

    # ---- resources from the template -------------------------------------------------------
    def _create_tables(self) -> None:
        import boto3

        client = boto3.client("dynamodb", region_name=REGION)
        for logical_id, resource in self.model.of_type("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            name = f"jira-onboarding-{self.resolver.stage}-{logical_id}"
            kwargs: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            client.create_table(**kwargs)
            self.resolver.physical[logical_id] = name
            self.resolver.arns[logical_id] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"

    def _create_roles_keys_and_schedule_groups(self) -> None:
        import boto3

        iam = boto3.client("iam", region_name=REGION)
        for logical_id in self.model.of_type("AWS::IAM::Role"):
            name = f"jira-onboarding-{self.resolver.stage}-{logical_id}"
            role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]
            self.resolver.physical[logical_id] = name
            self.resolver.arns[logical_id] = role["Arn"]
        kms = boto3.client("kms", region_name=REGION)
        for logical_id, resource in self.model.of_type("AWS::KMS::Key").items():
            key = kms.create_key(Description=resource["Properties"].get("Description", logical_id))[
                "KeyMetadata"
            ]
            self.resolver.physical[logical_id] = key["KeyId"]
            self.resolver.arns[logical_id] = key["Arn"]
        scheduler = boto3.client("scheduler", region_name=REGION)
        for logical_id, resource in self.model.of_type("AWS::Scheduler::ScheduleGroup").items():
            name = self.resolver.resolve(resource["Properties"]["Name"])
            arn = scheduler.create_schedule_group(Name=name)["ScheduleGroupArn"]
            self.resolver.physical[logical_id] = name
            self.resolver.arns[logical_id] = arn

    def _create_queues(self) -> None:
        for logical_id, (name, url, arn) in create_queues(self.model, self.resolver, REGION).items():
            self.resolver.physical[logical_id] = url
            self.resolver.queue_names[logical_id] = name
            self.resolver.arns[logical_id] = arn

    def _start_event_sources(self) -> None:
        """The SQS event source mappings the template declares, run by a poller each (see
        local_harness/event_sources.py for why not moto's own)."""
        for spec in self.model.functions():
            for properties in spec.sqs_events:
                poller = SqsPoller(
                    self,
                    self.resolver.physical[spec.logical_id],
                    properties,
                    self.resolver.resolve(properties["Queue"]),
                )
                self.pollers[spec.logical_id] = poller
                poller.start()

    def queue_url(self, logical_id: str) -> str:
        return self.resolver.physical[logical_id]

    def drain(self, timeout_s: float = 60.0, *, delayed: bool = False) -> bool:
        """Wait until every event source's queue is empty and no batch is being handled (with
        `delayed`, delayed messages too); False on timeout."""
        deadline = time.monotonic() + timeout_s
        return all(p.drain(deadline - time.monotonic(), delayed=delayed) for p in self.pollers.values())

    def _create_functions(self) -> None:
        import boto3

        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="jira-onboarding-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name=REGION)
        for spec in self.model.functions():
            name = f"jira-onboarding-{self.resolver.stage}-{spec.logical_id}"
            arn = client.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role,
                Handler=spec.handler,
                Code={"ZipFile": b"dispatched in-process by local_harness"},
                Timeout=spec.timeout_s,
            )["FunctionArn"]
            self.resolver.physical[spec.logical_id] = name
            self.resolver.arns[spec.logical_id] = arn
            self.functions[name] = spec

    def _create_state_machine(self) -> None:
        import boto3

        logical_id, resource = self.model.state_machine()
        props = resource["Properties"]
        name = self.resolver.resolve(props.get("Name", {"Fn::Sub": "jira-onboarding-${Stage}"}))
        self.resolver.physical[logical_id] = name
        self.resolver.arns[logical_id] = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"
        definition = (REPO_ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
        substitutions = self.resolver.resolve(props.get("DefinitionSubstitutions", {}))
        for key, value in substitutions.items():
            definition = definition.replace("${" + key + "}", str(value))
        unresolved = re.findall(r"\$\{[^}]+\}", definition)
        if unresolved:
            raise ValueError(f"unresolved DefinitionSubstitutions in the ASL: {unresolved}")
        client = boto3.client("stepfunctions", region_name=REGION)
        self.state_machine_arn = client.create_state_machine(
            name=name, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/jira-onboarding-local"
        )["stateMachineArn"]

    def _export_environment(self) -> None:
        """Lambda environment variables are per function; in one process they are the union
        (they never disagree: per-function variables only add names)."""
        merged: dict[str, str] = {}
        for spec in self.functions.values():
            for key, value in spec.environment.items():
                merged[key] = str(self.resolver.resolve(value))
        self._set_env(merged)

    # ---- in-process dispatch ---------------------------------------------------------------
    def _handler_for(self, spec: FunctionSpec) -> Callable[[dict, Any], Any]:
        module_file, _, function = spec.handler.rpartition(".")
        key = f"{spec.code_dir.name}.{module_file}"
        with self._lock:
            module = self._modules.get(key)
            if module is None:
                path = spec.code_dir / f"{module_file}.py"
                module_spec = importlib.util.spec_from_file_location(f"lambda_functions.{key}", path)
                assert module_spec and module_spec.loader
                module = importlib.util.module_from_spec(module_spec)
                sys.modules[module_spec.name] = module
                module_spec.loader.exec_module(module)
                self._modules[key] = module
        return getattr(module, function)

    def invoke(self, function_name: str, event: dict[str, Any]) -> tuple[dict[str, Any] | Any, str | None]:
        """Run a function's real handler; returns (payload, error type or None) as Lambda would."""
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        spec = self.functions.get(name) or self.functions[self.resolver.physical[name]]
        handler = self._handler_for(spec)
        context = LambdaContext(function_name=name, timeout_s=spec.timeout_s)
        started = time.monotonic()
        hook = self.dispatch_hooks.get(spec.logical_id)

        def run() -> tuple[Any, str | None]:
            if iam_calls.recorder() is not None:  # the AWS calls it makes are this function's
                iam_calls.current_function.set(spec.logical_id)
            try:
                return (hook(handler, event, context) if hook else handler(event, context)), None
            except Exception as exc:
                # As Lambda's runtime logs an unhandled error with its traceback (CloudWatch): a
                # state machine that catches it keeps only the type and message.
                print(
                    f"[ERROR] {spec.logical_id} raised {exc.__class__.__name__}:\n"
                    + "".join(traceback.format_exception(exc)),
                    file=sys.stderr,
                    flush=True,
                )
                failure = {
                    "errorType": exc.__class__.__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-5:],
                }
                return failure, exc.__class__.__name__

        # Like Lambda, one invocation at a time per execution environment, and a warm environment
        # keeps its thread: what a handler keeps per thread (pynamodb's botocore session and
        # clients) is reused by the next invocation instead of being rebuilt on every call.
        environment = self._take_environment(spec.logical_id)
        try:
            result, error = environment.submit(run).result()
        finally:
            with self._lock:
                self._idle_environments.setdefault(spec.logical_id, []).append(environment)
        ended = time.monotonic()
        self.invocations.append(Invocation(spec.logical_id, event, error, ended - started, ended))
        return result, error

    def _take_environment(self, function: str) -> ThreadPoolExecutor:
        with self._lock:
            idle = self._idle_environments.setdefault(function, [])
            if idle:
                return idle.pop()
            environment = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"lambda-{function}")
            self._environments.append(environment)
            return environment

    def _install_dispatch(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        stack = self

        def invoke(
            self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            event = json.loads(body) if body else {}
            result, error = stack.invoke(function_name, event)
            if error:
                response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(result, default=str).encode()

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    # ---- EventBridge Scheduler ------------------------------------------------------------
    def fire_schedules(self, scheduled_time: str, *, workers: int = 4) -> list[tuple[str, Any, str | None]]:
        """Fire every schedule once, as EventBridge Scheduler would at `scheduled_time` (ISO 8601,
        its nominal time): moto stores schedules but never fires them, so the harness plays the
        clock. Each schedule's target function gets the schedule's own Input, with Scheduler's
        `<aws.scheduler.scheduled-time>` filled in; a failed invocation is retried up to the
        schedule's RetryPolicy.MaximumRetryAttempts. Returns (schedule, payload, error) per schedule."""
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[ACCOUNT_ID][REGION]
        targets = [
            (schedule.name, schedule.target)
            for group in backend.schedule_groups.values()
            for schedule in list(group.schedules.values())
            if schedule.state == "ENABLED"
        ]

        def fire(name: str, target: dict[str, Any]) -> tuple[str, Any, str | None]:
            event = json.loads(target["Input"].replace("<aws.scheduler.scheduled-time>", scheduled_time))
            attempts = 1 + int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 0))
            for _ in range(attempts):
                result, error = self.invoke(target["Arn"], event)
                if error is None:
                    break
            return name, result, error

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scheduler") as pool:
            return list(pool.map(lambda pair: fire(*pair), targets))

    # ---- HTTP API --------------------------------------------------------------------------
    def http(
        self,
        method: str,
        path: str,
        *,
        team_id: str | None,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """Send an API Gateway HTTP API (payload 2.0) event to the function whose route matches,
        with the team claim the JWT authorizer would have verified."""
        from local_harness.api_events import http_api_event, match_route

        spec, route, path_params = match_route(self.functions.values(), method, path)
        if spec is None:
            return 404, {}, {"message": "Not Found"}
        text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        claims = {self.parameters.get("TeamClaim", "team_id"): team_id} if team_id else {}
        event = http_api_event(
            method, path, route, path_params, body=text, query=query, headers=headers, claims=claims
        )
        name = self.resolver.physical[spec.logical_id]
        result, error = self.invoke(name, event)
        from local_harness.openapi_contract import record_answer  # (only with OPENAPI_RECORD_DIR set)

        if error:
            # API Gateway turns an unhandled function error into a bare 500.
            record_answer(method, path, 500, {"message": "Internal Server Error"})
            return 500, {}, {"message": "Internal Server Error"}
        response_body = result.get("body")
        if result.get("isBase64Encoded"):
            import base64

            response_body = base64.b64decode(response_body or "").decode()
        try:
            parsed = json.loads(response_body) if response_body else None
        except ValueError:
            parsed = response_body
        status = int(result.get("statusCode", 200))
        record_answer(method, path, status, parsed)
        return status, dict(result.get("headers") or {}), parsed

    # ---- executions ------------------------------------------------------------------------
    def list_executions(self) -> list[dict[str, Any]]:
        import boto3

        client = boto3.client("stepfunctions", region_name=REGION)
        if not self.state_machine_arn:
            return []
        return [dict(e) for e in client.list_executions(stateMachineArn=self.state_machine_arn)["executions"]]

    def describe_execution(self, execution_arn: str) -> dict[str, Any]:
        import boto3

        client = boto3.client("stepfunctions", region_name=REGION)
        return dict(client.describe_execution(executionArn=execution_arn))

    def wait_for_executions(self, timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """Block until no execution is RUNNING; returns their descriptions."""
        if self._mock is None:
            return []
        deadline = time.monotonic() + timeout_s
        while True:
            executions = self.list_executions()
            if all(e["status"] != "RUNNING" for e in executions) or time.monotonic() > deadline:
                return [self.describe_execution(e["executionArn"]) for e in executions]
            time.sleep(0.05)

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        import boto3

        client = boto3.client("stepfunctions", region_name=REGION)
        return [
            dict(e)
            for e in client.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        ]


@contextmanager
def local_stack(**kwargs: Any) -> Iterator[LocalStack]:
    stack = LocalStack(**kwargs)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
