"""DynamoDB tables for tests that build their own on moto, keyed as the template's KB and conversations tables."""

from __future__ import annotations

from typing import Any

import boto3


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


def plain_client(table: Any) -> Any:
    """A plain DynamoDB client for a resource `Table`'s endpoint and region (what `ConversationStore` takes).

    Not `table.meta.client`: boto3 hooks the resource layer's serialisation into that one. Credentials come
    from the environment, as the tests' own tables do.
    """
    meta = table.meta.client.meta
    return boto3.client("dynamodb", endpoint_url=meta.endpoint_url, region_name=meta.region_name, config=meta.config)
