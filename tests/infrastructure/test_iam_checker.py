"""The IAM check itself (iam_policies.py, local_harness/iam_calls.py) on a synthetic template: a call
its policies grant passes, the same call with a policy line removed is named as denied, and an
unused grant is reported. No recording and no SAM install needed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from local_harness import iam_calls
from local_harness.stack import _Resolver
from local_harness.template import TemplateModel
from tests.infrastructure.iam_policies import Call, PolicyExpander, denied, unused

A = "arn:aws:{}:us-east-1:123456789012:{}"
TABLE = A.format("dynamodb", "table/Things")
KEY = A.format("kms", "key/Key")
QUEUE = A.format("sqs", "Jobs")

# A stand-in for SAM's DynamoDBCrudPolicy with two of its actions (the real list is SAM's own).
SAM_TEMPLATES = {
    "DynamoDBCrudPolicy": {
        "Parameters": {"TableName": {}},
        "Definition": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                    "Resource": [
                        {
                            "Fn::Sub": [
                                "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${t}",
                                {"t": {"Ref": "TableName"}},
                            ]
                        },
                        {
                            "Fn::Sub": [
                                "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${t}/index/*",
                                {"t": {"Ref": "TableName"}},
                            ]
                        },
                    ],
                }
            ]
        },
    }
}


SECRETS = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:app/${Stage}/*"
SHARED_STATEMENT = {
    "Effect": "Allow",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": {"Fn::Sub": SECRETS},
}


def synthetic_template() -> dict[str, Any]:
    return {
        "Parameters": {
            "Stage": {"Type": "String", "Default": "dev"},
            "Model": {"Type": "String", "Default": ""},
        },
        "Conditions": {"HasModel": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Model"}, ""]}]}},
        "Resources": {
            "Things": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Shared": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": [dict(SHARED_STATEMENT)]}},
            },
            "Worker": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Policies": [
                        {"DynamoDBCrudPolicy": {"TableName": {"Ref": "Things"}}},
                        {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["kms:Decrypt"],
                                    "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
                                }
                            ]
                        },
                        {"Ref": "Shared"},
                        {
                            "Fn::If": [
                                "HasModel",
                                {
                                    "Statement": [
                                        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}
                                    ]
                                },
                                {"Ref": "AWS::NoValue"},
                            ]
                        },
                    ],
                    "Events": {
                        "Jobs": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Jobs", "Arn"]}}}
                    },
                },
            },
        },
    }


CALLS = [
    Call("Worker", "dynamodb:GetItem", TABLE),
    Call("Worker", "dynamodb:PutItem", TABLE),
    Call("Worker", "kms:Decrypt", KEY),
    Call(
        "Worker", "secretsmanager:GetSecretValue", A.format("secretsmanager", "secret:app/local/oauth-AbCdEf")
    ),
    Call("Worker", "sqs:ReceiveMessage", QUEUE),  # SAM's own grant for the SQS event
]


def grants(template: dict[str, Any]) -> dict[str, Any]:
    return PolicyExpander(template, SAM_TEMPLATES, {"Stage": "local"}).grants()


def test_calls_the_policies_grant_pass_and_every_grant_is_used() -> None:
    assert denied(CALLS, grants(synthetic_template())) == []
    assert unused(CALLS, grants(synthetic_template()), {}) == []


def test_a_removed_policy_line_is_named_with_function_action_and_resource() -> None:
    template = synthetic_template()
    del template["Resources"]["Worker"]["Properties"]["Policies"][1]  # the kms:Decrypt statement
    assert denied(CALLS, grants(template)) == [f"Worker: kms:Decrypt on {KEY} is not granted (1 calls)"]


def test_a_line_removed_from_the_shared_managed_policy_is_denied() -> None:
    template = synthetic_template()
    template["Resources"]["Shared"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = (
        "secretsmanager:DescribeSecret"
    )
    assert [line.split(" on ")[0] for line in denied(CALLS, grants(template))] == [
        "Worker: secretsmanager:GetSecretValue"
    ]


def test_an_index_needs_the_index_resource_and_other_tables_are_not_covered() -> None:
    template = synthetic_template()
    template["Resources"]["Worker"]["Properties"]["Policies"][0] = {
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::GetAtt": ["Things", "Arn"]}}
        ]
    }
    calls = [
        Call("Worker", "dynamodb:Query", TABLE + "/index/ByOwner"),
        Call("Worker", "dynamodb:Query", TABLE + "s"),
    ]
    assert len(denied(calls, grants(template))) == 2


def test_a_condition_that_holds_adds_its_grant_and_unused_grants_are_reported_unless_allowed() -> None:
    template = synthetic_template()
    template["Parameters"]["Model"]["Default"] = "some-model"
    expanded = grants(template)
    assert (
        denied(
            [Call("Worker", "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/x")], expanded
        )
        == []
    )
    assert unused(CALLS, expanded, {}) == [
        "Worker Policies[3] Statement: bedrock:InvokeModel on * is never used"
    ]
    assert unused(CALLS, expanded, {("Worker", "bedrock:InvokeModel"): "only with a model"}) == []


def test_an_unknown_policies_entry_fails_loudly() -> None:
    template = copy.deepcopy(synthetic_template())
    template["Resources"]["Worker"]["Properties"]["Policies"].append("AmazonS3FullAccess")
    with pytest.raises(ValueError, match="unsupported Policies entry"):
        grants(template)


# ---- what a call is recorded as -------------------------------------------------------------
def recorder() -> iam_calls.Recorder:
    model = TemplateModel(synthetic_template())
    resolver = _Resolver(model, {"Stage": "local"})
    resolver.physical.update(
        {
            "Things": "app-local-Things",
            "Key": "1234abcd-12ab-34cd-56ef-1234567890ab",
            "Jobs": "https://sqs/q/app-Jobs",
        }
    )
    resolver.arns.update(
        {"Key": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
    )
    resolver.queue_names["Jobs"] = "app-Jobs"
    rec = iam_calls.Recorder(Path("never-flushed.jsonl"))
    rec.attach(resolver)
    return rec


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "dynamodb",
            "Query",
            {"TableName": "app-local-Things", "IndexName": "ByOwner"},
            [("dynamodb:Query", TABLE + "/index/ByOwner")],
        ),
        (
            "dynamodb",
            "BatchWriteItem",
            {"RequestItems": {"app-local-Things": [], "other": []}},
            [
                ("dynamodb:BatchWriteItem", TABLE),
                ("dynamodb:BatchWriteItem", A.format("dynamodb", "table/other")),
            ],
        ),
        (
            "dynamodb",
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "app-local-Things"}},
                    {"ConditionCheck": {"TableName": "app-local-Things"}},
                ]
            },
            [("dynamodb:PutItem", TABLE), ("dynamodb:ConditionCheckItem", TABLE)],
        ),
        (
            "kms",
            "Decrypt",
            {"CiphertextBlob": b"1234abcd-12ab-34cd-56ef-1234567890ab" + b"\x00" * 40},
            [("kms:Decrypt", KEY)],
        ),
        (
            "sqs",
            "SendMessageBatch",
            {"QueueUrl": "https://sqs/q/app-Jobs", "Entries": []},
            [("sqs:SendMessage", QUEUE)],
        ),
        (
            "secretsmanager",
            "GetSecretValue",
            {"SecretId": "app/local/oauth"},
            [("secretsmanager:GetSecretValue", A.format("secretsmanager", "secret:app/local/oauth-AbCdEf"))],
        ),
        (
            "scheduler",
            "CreateSchedule",
            {"Name": "t1", "GroupName": "g", "Target": {"RoleArn": "arn:aws:iam::123456789012:role/r"}},
            [
                ("scheduler:CreateSchedule", A.format("scheduler", "schedule/g/t1")),
                ("iam:PassRole", "arn:aws:iam::123456789012:role/r"),
            ],
        ),
    ],
)
def test_a_call_is_recorded_as_the_actions_and_resources_iam_checks(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert iam_calls.calls_of(recorder(), service, operation, params) == expected
