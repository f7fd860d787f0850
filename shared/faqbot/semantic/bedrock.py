"""Amazon Bedrock calls the semantic tier makes, each under a hard timeout, every failure one exception type.

The boto3 `bedrock-runtime` client is passed in (tests hand in a fake speaking the same shapes):
- embeddings through `InvokeModel`: Titan Text Embeddings V2 (`{"inputText", "dimensions", "normalize"}`
  → `{"embedding", "inputTextTokenCount"}`) or Cohere Embed Multilingual v3 (`{"texts", "input_type"}`
  → `{"embeddings": [[...]]}`);
- the judge through `Converse` (`messages`, `system`, `inferenceConfig` → `output.message.content[].text`,
  `usage`).

A call that is throttled, refused, fails or does not return within its timeout raises
`BedrockUnavailable` with a short `reason` (the metric's dimension); the caller falls back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Purpose = Literal["document", "query"]

_THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException"})
_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"})
_TIMEOUT = frozenset({"ModelTimeoutException", "RequestTimeout", "RequestTimeoutException"})
_TOKEN_HEADER = "x-amzn-bedrock-input-token-count"


class FailureReason(StrEnum):
    TIMEOUT = "timeout"
    THROTTLED = "throttled"
    DENIED = "denied"
    ERROR = "error"


class BedrockUnavailable(Exception):
    """A Bedrock call did not give a usable result; `reason` says why in one word."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Embedding:
    vector: tuple[float, ...]
    input_tokens: int


@dataclass(frozen=True)
class ConverseReply:
    text: str  # the concatenated text blocks of the assistant's message
    input_tokens: int
    output_tokens: int


def bedrock_runtime_client(timeout_seconds: float) -> Any:
    """The real client: short socket timeouts and no retries (a retry would blow the webhook's time)."""
    import boto3
    from botocore.config import Config

    from faqbot import aws

    config = Config(
        connect_timeout=min(timeout_seconds, 1.0),
        read_timeout=timeout_seconds,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client("bedrock-runtime", region_name=aws.region(), config=config)


class BedrockClient:
    """Embeddings and Converse over one injected `bedrock-runtime` client."""

    def __init__(self, runtime: Any, *, max_concurrency: int = 4) -> None:
        self._runtime = runtime
        # Calls run on these threads so that a hung connection cannot hold the caller beyond its timeout.
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="faqbot-bedrock")

    def embed(
        self, text: str, *, model_id: str, dimensions: int, purpose: Purpose, timeout_seconds: float
    ) -> Embedding:
        """One text's embedding (normalised, so cosine similarity is a dot product)."""
        body: dict[str, object]
        if model_id.startswith("cohere."):
            body = {"texts": [text], "input_type": f"search_{purpose}", "truncate": "END"}
        else:
            body = {"inputText": text, "dimensions": dimensions, "normalize": True}
        response = self._call(
            lambda: self._runtime.invoke_model(
                modelId=model_id,
                contentType="application/json",
                accept="application/json",
                body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            ),
            what=f"embedding with {model_id}",
            timeout_seconds=timeout_seconds,
        )
        try:
            payload = json.loads(response["body"].read())
            raw = payload["embeddings"][0] if "embeddings" in payload else payload["embedding"]
            vector = tuple(float(value) for value in raw)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BedrockUnavailable(FailureReason.ERROR, f"unexpected {model_id} response: {exc!r}") from exc
        if not vector:
            raise BedrockUnavailable(FailureReason.ERROR, f"{model_id} returned an empty embedding")
        tokens = payload.get("inputTextTokenCount")
        if tokens is None:
            headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
            tokens = headers.get(_TOKEN_HEADER, 0)
        return Embedding(vector=_normalized(vector), input_tokens=int(tokens or 0))

    def converse(
        self, *, model_id: str, system: str, user_text: str, max_tokens: int, timeout_seconds: float
    ) -> ConverseReply:
        """One deterministic (temperature 0) turn of a chat model through the Converse API."""
        response = self._call(
            lambda: self._runtime.converse(
                modelId=model_id,
                system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": user_text}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": 0.0},
            ),
            what=f"Converse with {model_id}",
            timeout_seconds=timeout_seconds,
        )
        try:
            content = response["output"]["message"]["content"]
            text = "".join(block.get("text", "") for block in content if isinstance(block, dict))
            usage = response.get("usage") or {}
        except (KeyError, TypeError, AttributeError) as exc:
            raise BedrockUnavailable(FailureReason.ERROR, f"unexpected Converse response: {exc!r}") from exc
        return ConverseReply(
            text=text, input_tokens=int(usage.get("inputTokens", 0)), output_tokens=int(usage.get("outputTokens", 0))
        )

    def _call(self, call: Callable[[], T], *, what: str, timeout_seconds: float) -> T:
        future = self._pool.submit(call)
        try:
            return future.result(timeout=timeout_seconds)
        except FutureTimeout as exc:
            future.cancel()
            raise BedrockUnavailable(FailureReason.TIMEOUT, f"{what}: no reply within {timeout_seconds:g} s") from exc
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise BedrockUnavailable(FailureReason.TIMEOUT, f"{what}: {exc}") from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise BedrockUnavailable(_reason_of(code), f"{what}: {exc}") from exc
        except BotoCoreError as exc:  # no credentials, endpoint unreachable, ...
            raise BedrockUnavailable(FailureReason.ERROR, f"{what}: {exc}") from exc


def _reason_of(code: str) -> FailureReason:
    if code in _THROTTLED:
        return FailureReason.THROTTLED
    if code in _DENIED:
        return FailureReason.DENIED
    if code in _TIMEOUT:
        return FailureReason.TIMEOUT
    return FailureReason.ERROR


def _normalized(vector: tuple[float, ...]) -> tuple[float, ...]:
    norm = sum(value * value for value in vector) ** 0.5
    if norm == 0 or abs(norm - 1.0) < 1e-6:
        return vector
    return tuple(value / norm for value in vector)
