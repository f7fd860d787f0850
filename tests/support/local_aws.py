"""The emulator with the template's resources, as a test sees it (the `emulator` fixture's value)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faqbot.local.emulator import Emulator
from faqbot.local.resources import LocalResources
from faqbot.local.stack import local_function_env


@dataclass(frozen=True)
class LocalAws:
    """The emulator with the template's resources, as a test sees it."""

    server: Emulator
    resources: LocalResources

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, service: str) -> Any:
        return self.server.client(service)

    def resource(self, service: str) -> Any:
        return self.server.resource(service)

    def table(self, logical_id: str) -> Any:
        """A DynamoDB Table of the template, e.g. `table("KbTable")`."""
        return self.server.resource("dynamodb").Table(self.resources[logical_id].name)

    def name(self, logical_id: str) -> str:
        return self.resources[logical_id].name

    def queue_url(self, logical_id: str) -> str:
        url = self.resources[logical_id].url
        assert url, f"{logical_id} is not a queue"
        return url

    def function_env(self, function: str) -> dict[str, str]:
        """The environment `function` (logical id or folder name) gets under the local stack."""
        return local_function_env(self.resources.function(function), self.url)
