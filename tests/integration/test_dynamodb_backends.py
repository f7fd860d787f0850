"""The `dynamodb_backend` fixture: the template's tables on moto and on AWS's DynamoDB Local, behaving alike.

Data-access tests (conditional writes, transactions, TTL filtering) take this fixture to run on both.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from faqbot import aws


def test_the_templates_tables_exist_with_their_keys_and_ttl(dynamodb_backend: Any, template: dict[str, Any]) -> None:
    # given
    declared = {lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    client = dynamodb_backend.meta.client

    # when
    names = set(client.list_tables()["TableNames"])
    conversations_ttl = client.describe_time_to_live(TableName="ConversationsTable")["TimeToLiveDescription"]
    idempotency_keys = client.describe_table(TableName="IdempotencyTable")["Table"]["KeySchema"]

    # then
    assert names == declared
    assert conversations_ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert idempotency_keys == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_a_conditional_put_refuses_to_overwrite(dynamodb_backend: Any) -> None:
    # given
    table = dynamodb_backend.Table("KbTable")
    item = {"pk": "bot#demo", "sk": "config", "config": "{}"}
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    # when
    with pytest.raises(ClientError) as refused:
        table.put_item(Item={**item, "config": "changed"}, ConditionExpression="attribute_not_exists(pk)")

    # then
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert table.get_item(Key={"pk": "bot#demo", "sk": "config"})["Item"]["config"] == "{}"


def test_a_failed_condition_cancels_the_whole_transaction(dynamodb_backend: Any) -> None:
    # given
    client = dynamodb_backend.meta.client
    table = dynamodb_backend.Table("KbTable")
    table.put_item(Item={"pk": "kb#demo", "sk": "version#1", "status": "writing"})

    # when: (the resource's client takes plain Python values, as `Table` methods do)
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": "KbTable",
                        "Key": {"pk": "kb#demo", "sk": "version#1"},
                        "ConditionExpression": "#s = :ready",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":ready": "ready"},
                    }
                },
                {"Put": {"TableName": "KbTable", "Item": {"pk": "kb#demo", "sk": "active"}}},
            ]
        )

    # then
    error = cancelled.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in error["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
    assert "Item" not in table.get_item(Key={"pk": "kb#demo", "sk": "active"})


def test_expired_items_are_still_returned_so_reads_must_filter_on_the_expiry(dynamodb_backend: Any) -> None:
    # given: TTL deletion is a background process in AWS (up to days); neither local backend runs it
    table = dynamodb_backend.Table("ConversationsTable")
    expired_at = int(time.time()) - 3600
    table.put_item(Item={"pk": "contact#1", "sk": "msg#1", "expires_at": expired_at})

    # when
    item = table.get_item(Key={"pk": "contact#1", "sk": "msg#1"}).get("Item")

    # then
    assert item is not None and int(item["expires_at"]) == expired_at


def test_faqbot_aws_reaches_the_same_backend(dynamodb_backend: Any) -> None:
    dynamodb_backend.Table("KbTable").put_item(Item={"pk": "bot#x", "sk": "config"})

    assert "Item" in aws.dynamodb().Table("KbTable").get_item(Key={"pk": "bot#x", "sk": "config"})
