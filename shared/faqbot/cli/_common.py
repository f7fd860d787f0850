"""Where CLI commands find AWS: the local emulator (`--local`), a deployed stack (`--stack`), or the environment.

Every command that touches AWS takes the `@aws_target` decorator, which adds two options:

- `--local`: the local emulator (moto server, as the local stack runs it). Sets
  `AWS_ENDPOINT_URL=http://127.0.0.1:${FAQBOT_EMULATOR_PORT:-4566}`, dummy credentials and region
  eu-central-1, and the resource names to the template's logical ids (`KbTable`, `KbBucket`, ...),
  which is how the emulator names them.
- `--stack NAME`: a deployed CloudFormation stack. Each resource's physical name is read from the
  stack (`ListStackResources`, logical id → physical id; queue URLs for queues), with the usual AWS
  credentials and region (profile or environment).
- neither: the names come from the environment variables `faqbot.settings` reads (`KB_TABLE_NAME`,
  `KB_BUCKET_NAME`, `CONVERSATIONS_TABLE_NAME`, ...), defaulting to the logical ids.

Either option only sets environment variables of this process and forgets cached clients and
settings, so commands then use `faqbot.aws` and `faqbot.settings` exactly as the Lambdas do.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

LOCAL_REGION = "eu-central-1"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account: queue URLs carry it
DEFAULT_EMULATOR_PORT = 4566

# Logical id in infra/template.yaml -> the environment variable faqbot.settings reads its name from.
RESOURCE_ENV: dict[str, str] = {
    "KbTable": "KB_TABLE_NAME",
    "ConversationsTable": "CONVERSATIONS_TABLE_NAME",
    "IdempotencyTable": "IDEMPOTENCY_TABLE_NAME",
    "KbBucket": "KB_BUCKET_NAME",
    "EscalationsQueue": "ESCALATIONS_QUEUE_URL",
    "CrmQueue": "CRM_QUEUE_URL",
}
_QUEUES = {"EscalationsQueue", "CrmQueue"}

F = TypeVar("F", bound=Callable[..., Any])


def emulator_endpoint() -> str:
    """The local emulator's URL (`FAQBOT_EMULATOR_PORT` picks the port, 4566 by default)."""
    port = os.environ.get("FAQBOT_EMULATOR_PORT") or str(DEFAULT_EMULATOR_PORT)
    return f"http://127.0.0.1:{port}"


def use_local_emulator() -> dict[str, str]:
    """Point boto3 and the settings at the local emulator; returns the variables set."""
    endpoint = emulator_endpoint()
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
    }
    for logical_id, variable in RESOURCE_ENV.items():
        env[variable] = f"{endpoint}/{LOCAL_ACCOUNT_ID}/{logical_id}" if logical_id in _QUEUES else logical_id
    _apply(env)
    return env


def use_stack(stack_name: str) -> dict[str, str]:
    """Read the deployed stack's resource names into the environment; returns the variables set."""
    from faqbot import aws

    cloudformation = aws.client("cloudformation")
    env: dict[str, str] = {}
    kwargs: dict[str, Any] = {"StackName": stack_name}
    while True:
        page = cloudformation.list_stack_resources(**kwargs)
        for resource in page.get("StackResourceSummaries", []):
            variable = RESOURCE_ENV.get(resource["LogicalResourceId"])
            if variable and resource.get("PhysicalResourceId"):
                env[variable] = resource["PhysicalResourceId"]  # a queue's physical id is its URL
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if "KB_TABLE_NAME" not in env:
        raise click.ClickException(f"stack {stack_name} has no KbTable resource")
    _apply(env)
    return env


def configure_aws(*, local: bool = False, stack: str | None = None) -> None:
    """Apply `--local` / `--stack`; with neither, the environment stays as it is."""
    if local and stack:
        raise click.UsageError("use either --local or --stack, not both")
    if local:
        use_local_emulator()
    elif stack:
        use_stack(stack)


def aws_target(command: F) -> F:
    """Click decorator: adds `--local` and `--stack NAME` and applies them before the command runs."""

    @click.option("--stack", metavar="NAME", default=None, help="Deployed CloudFormation stack to use.")
    @click.option("--local", is_flag=True, help="Use the local emulator (127.0.0.1:$FAQBOT_EMULATOR_PORT).")
    @functools.wraps(command)
    def wrapper(*args: Any, local: bool, stack: str | None, **kwargs: Any) -> Any:
        configure_aws(local=local, stack=stack)
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _apply(env: dict[str, str]) -> None:
    from faqbot import aws, settings

    os.environ.update(env)
    aws.reset()
    settings.reset()
