"""boto3 resources and clients, built once per warm container.

Endpoints follow boto3's own `AWS_ENDPOINT_URL` setting, so the same code talks to AWS in
production and to the local emulator under `faqbot run` and in tests.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Webhook calls must fail fast: a customer is waiting (ManyChat gives up after ~10 s).
_FAST = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"


@cache
def dynamodb() -> Any:
    """The DynamoDB service resource (typed as Any: boto3 resources are dynamic)."""
    return boto3.resource("dynamodb", region_name=region(), config=_FAST)


@cache
def client(service: str) -> Any:
    """A low-level boto3 client for `service` (s3, sqs, ssm, secretsmanager, ...)."""
    return boto3.client(service, region_name=region(), config=_FAST)  # type: ignore[call-overload]


def reset() -> None:
    """Forget cached clients (tests and the local stack switch endpoints)."""
    dynamodb.cache_clear()
    client.cache_clear()
