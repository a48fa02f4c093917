"""The local stack: moto's DynamoDB with the harness's patches (in-process or in its own process), and
the interpreter setting it changes while it runs."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from jira_onboarding.dal.team import TeamStores

from local_harness.stack import LocalStack

LIMIT = 405_000  # moto's item size limit


def _item(key: str, payload: int) -> dict:
    # the size moto counts: each attribute name plus its value
    rest = LIMIT - payload - sum(len(n) for n in ("team_id", "issue_key", "a", "b")) - len("t") - len(key)
    return {
        "team_id": {"S": "t"},
        "issue_key": {"S": key},
        "a": {"S": "x" * payload},
        "b": {"S": "y" * rest},
    }


@pytest.mark.parametrize("dynamodb_process", [False, True], ids=["in-process", "own process"])
def test_the_item_size_limit_is_moto_s_own_and_items_round_trip(dynamodb_process: bool):
    with LocalStack(dynamodb_process=dynamodb_process) as stack:
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = stack.resolver.physical["JiraIssuesTable"]

        # An item exactly at the limit is stored; one byte more is refused, as moto refuses it
        client.put_item(TableName=table, Item=_item("A-1", 1000))
        too_big = _item("A-2", 1000)
        too_big["b"]["S"] += "y"
        with pytest.raises(ClientError, match="Item size has exceeded"):
            client.put_item(TableName=table, Item=too_big)

        # and the pipeline's writes and reads go where the tables are
        TeamStores("team-a").runs.record("run-1", ["ALPHA"])
        assert TeamStores("team-a").runs.get("run-1").project_keys == ["ALPHA"]
        stored = client.get_item(TableName=table, Key={"team_id": {"S": "t"}, "issue_key": {"S": "A-1"}})
        assert len(stored["Item"]["b"]["S"]) == len(_item("A-1", 1000)["b"]["S"])
        assert "Item" not in client.get_item(
            TableName=table, Key={"team_id": {"S": "t"}, "issue_key": {"S": "A-2"}}
        )


def test_a_batch_naming_one_key_twice_is_refused_as_dynamodb_refuses_it(stack: LocalStack):
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = stack.resolver.physical["JiraIssuesTable"]

    def put(key: str, summary: str) -> dict:
        item = {"team_id": {"S": "t"}, "issue_key": {"S": key}, "summary": {"S": summary}}
        return {"PutRequest": {"Item": item}}

    # Two different items with one key: refused, nothing written (moto alone accepted this)
    with pytest.raises(ClientError, match="Provided list of item keys contains duplicates"):
        client.batch_write_item(RequestItems={table: [put("A-1", "one"), put("A-1", "two")]})
    assert client.scan(TableName=table)["Count"] == 0

    # Distinct keys are written, and a delete of another key in the same batch applies
    client.batch_write_item(RequestItems={table: [put("A-1", "one"), put("A-2", "two")]})
    client.batch_write_item(
        RequestItems={
            table: [
                put("A-3", "three"),
                {"DeleteRequest": {"Key": {"team_id": {"S": "t"}, "issue_key": {"S": "A-1"}}}},
            ]
        }
    )
    stored = client.scan(TableName=table)["Items"]
    assert sorted(i["issue_key"]["S"] for i in stored) == ["A-2", "A-3"]


def test_put_items_keeps_the_last_item_of_a_key(stack: LocalStack):
    from jira_onboarding.dal.tables import (
        JiraIssueItem,
        TrackedProjectItem,
        bind_tables,
        put_items,
        serialize_values,
    )

    bind_tables()
    put_items(
        [
            JiraIssueItem("t", "A-1", issue_id="1", project_key="A", summary="old"),
            serialize_values(
                JiraIssueItem,
                {"team_id": "t", "issue_key": "A-1", "issue_id": "1", "project_key": "A", "summary": "new"},
            ),
            JiraIssueItem("t", "A-2", issue_id="2", project_key="A", summary="other"),
            TrackedProjectItem("t", "A-1", sync_status="PENDING"),  # the same key in another table
        ]
    )
    assert JiraIssueItem.get("t", "A-1").summary == "new"
    assert JiraIssueItem.get("t", "A-2").summary == "other"
    assert TrackedProjectItem.get("t", "A-1").sync_status == "PENDING"


def test_attribute_values_are_parsed_as_moto_parses_them():
    """The harness's fast path for AttributeValues (local_harness/stack.py) gives what moto's own
    parser gives, for every kind of value, nested or not, including those it leaves to moto."""
    import base64
    import json

    import botocore.session
    from moto.core.parse import BaseJSONParser, JSONParser

    from local_harness.stack import _patch_moto_attribute_value_parse

    _patch_moto_attribute_value_parse()
    blob = base64.b64encode(b"\x00\x01").decode()
    item = {
        "team_id": {"S": "t"},
        "issue_key": {"S": "A-1"},
        "n": {"N": "1.5"},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "nothing": {"NULL": True},
        "strings": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2"]},
        "list": {"L": [{"S": "x"}, {"N": "2"}, {"M": {"deep": {"L": [{"BOOL": True}]}}}]},
        "map": {"M": {"a": {"S": "x"}, "b": {"NULL": True}}},
        "empty_list": {"L": []},
        "empty_map": {"M": {}},
        "blob": {"B": blob},
        "blobs": {"BS": [blob]},
        "map_with_blob": {"M": {"a": {"S": "x"}, "b": {"B": blob}}},
        "list_with_blob": {"L": [{"S": "x"}, {"B": blob}]},
        "null_member": {"S": None, "N": "3"},
        "two_members": {"S": "x", "N": "3"},
    }
    operation = botocore.session.get_session().get_service_model("dynamodb").operation_model("BatchWriteItem")
    request = {"body": json.dumps({"RequestItems": {"table": [{"PutRequest": {"Item": item}}]}}).encode()}

    class MotoParser(JSONParser):
        _parse_structure = BaseJSONParser._parse_structure.__wrapped__  # type: ignore[attr-defined]

    fast = JSONParser(operation).parse(request)
    moto = MotoParser(operation).parse(request)
    assert fast == moto
    parsed = fast["RequestItems"]["table"][0]["PutRequest"]["Item"]
    assert parsed["blob"] == {"B": b"\x00\x01"} and parsed["map_with_blob"]["M"]["b"] == {"B": b"\x00\x01"}
    assert parsed["null_member"] == {"N": "3"}


def test_the_stack_switches_threads_as_often_as_it_says_and_restores_the_interpreter():
    import sys

    from local_harness.stack import EXECUTION_ENVIRONMENT_SWITCH_INTERVAL_S

    before = sys.getswitchinterval()
    with LocalStack():
        assert sys.getswitchinterval() == EXECUTION_ENVIRONMENT_SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == before
