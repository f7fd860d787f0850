"""Secrets (webhook secrets, bot tokens, CRM tokens) by name, never by value in config.

A name like `/faqbot/prod/demo/webhook-secret` is an SSM SecureString parameter; a name
prefixed `secretsmanager:` is a Secrets Manager secret. Reads are cached (Powertools).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters

from faqbot import aws

SECRETS_MANAGER_PREFIX = "secretsmanager:"
CACHE_SECONDS = 300


class SecretNotFound(LookupError):
    """The named secret does not exist or cannot be read."""


class SecretStore:
    """Reads and writes named secrets; the providers take the boto3 clients they use."""

    def __init__(self, ssm_client: Any = None, secrets_client: Any = None) -> None:
        self._ssm_client = ssm_client or aws.client("ssm")
        self._ssm = parameters.SSMProvider(boto3_client=self._ssm_client)
        self._sm = parameters.SecretsProvider(boto3_client=secrets_client or aws.client("secretsmanager"))

    def get(self, name: str, *, max_age: int = CACHE_SECONDS) -> str:
        try:
            if name.startswith(SECRETS_MANAGER_PREFIX):
                value = self._sm.get(name.removeprefix(SECRETS_MANAGER_PREFIX), max_age=max_age)
            else:
                value = self._ssm.get(name, decrypt=True, max_age=max_age)
        except parameters.exceptions.GetParameterError as exc:
            raise SecretNotFound(name) from exc
        if not isinstance(value, str) or not value:
            raise SecretNotFound(name)
        return value

    def put(self, name: str, value: str) -> None:
        """Store an SSM SecureString (the CLI uses this when it creates a bot)."""
        self._ssm_client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
