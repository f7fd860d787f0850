"""DynamoDB tables for tests that build their own on moto, keyed as the template's KB and conversations tables."""

from __future__ import annotations

from typing import Any


def create_pk_sk_table(dynamodb: Any, name: str) -> Any:
    """An on-demand table with a string `pk` hash key and a string `sk` range key (a boto3 resource's Table)."""
    return dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
