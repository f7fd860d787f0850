"""A deterministic in-process `bedrock-runtime` client speaking the real request and response shapes.

- `invoke_model` (Titan Text Embeddings V2): body `{"inputText", "dimensions", "normalize"}` →
  `{"embedding": [...], "inputTextTokenCount": n}` in a streaming `body`; Cohere Embed v3:
  `{"texts", "input_type"}` → `{"embeddings": [[...]], "id", "texts", "response_type"}`.
- `converse`: `modelId`, `messages`, `system`, `inferenceConfig` → `output.message.content[].text`,
  `stopReason`, `usage`, `metrics`.
Requests of any other shape fail as Bedrock fails them (`ValidationException`).

Meaning is simulated: `meanings` maps a word stem to a concept; a text's vector is the normalised
sum of its concepts' pseudo-random vectors (seeded by the concept's name), so paraphrases that share
a concept and no word are close, and unrelated texts are not. Faults are injected per operation:
`fail["embed"] = "throttle" | "timeout" | "slow" | "denied"` (and the same for `"judge"`).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.response import StreamingBody

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TITAN_KEYS = {"inputText", "dimensions", "normalize", "embeddingTypes"}
_INFERENCE_KEYS = {"maxTokens", "temperature", "topP", "stopSequences"}


def _client_error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


class FakeBedrockRuntime:
    def __init__(
        self,
        *,
        meanings: Mapping[str, str] | None = None,
        judge: str | Callable[[str, str], str] = '{"choice": "none"}',
        slow_seconds: float = 1.0,
    ) -> None:
        self.meanings = {stem.lower(): concept for stem, concept in (meanings or {}).items()}
        self.judge = judge  # the reply text, or (system, user text) → reply text
        self.slow_seconds = slow_seconds
        self.fail: dict[str, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    # ---- what tests look at -------------------------------------------------------------------------

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)

    def embedded_texts(self) -> list[str]:
        texts = []
        for name, request in self.calls:
            if name == "invoke_model":
                body = json.loads(request["body"])
                texts.append(body.get("inputText") or body.get("texts", [""])[0])
        return texts

    # ---- bedrock-runtime ----------------------------------------------------------------------------

    def invoke_model(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("invoke_model", request))
        self._fault("embed", "InvokeModel")
        model_id = request.get("modelId", "")
        if set(request) - {"modelId", "body", "contentType", "accept"} or request.get("contentType") != (
            "application/json"
        ):
            raise _client_error("ValidationException", "malformed InvokeModel request", "InvokeModel")
        body = json.loads(request["body"])
        if model_id.startswith("amazon.titan-embed-text-v2"):
            text, dimensions = body.get("inputText"), body.get("dimensions", 1024)
            if set(body) - _TITAN_KEYS or not isinstance(text, str) or not text or dimensions not in (256, 512, 1024):
                raise _client_error("ValidationException", f"bad Titan body {sorted(body)}", "InvokeModel")
            vector = self.vector(text, dimensions, normalize=body.get("normalize", True))
            payload: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": self.tokens(text)}
        elif model_id.startswith("cohere.embed"):
            texts = body.get("texts")
            if not isinstance(texts, list) or body.get("input_type") not in ("search_document", "search_query"):
                raise _client_error("ValidationException", "bad Cohere body", "InvokeModel")
            payload = {
                "embeddings": [self.vector(text, 1024, normalize=False) for text in texts],
                "id": "fake",
                "texts": texts,
                "response_type": "embeddings_floats",
            }
        else:
            raise _client_error("ResourceNotFoundException", f"unknown model {model_id}", "InvokeModel", 404)
        raw = json.dumps(payload).encode()
        return {
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {"x-amzn-bedrock-input-token-count": "7"}},
            "contentType": "application/json",
            "body": StreamingBody(io.BytesIO(raw), len(raw)),
        }

    def converse(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("converse", request))
        self._fault("judge", "Converse")
        messages, system, config = (
            request.get("messages"),
            request.get("system", []),
            request.get("inferenceConfig", {}),
        )
        if (
            set(request) - {"modelId", "messages", "system", "inferenceConfig"}
            or not isinstance(messages, list)
            or not messages
            or any(m.get("role") not in ("user", "assistant") or not m.get("content") for m in messages)
            or any(set(block) != {"text"} for m in messages for block in m["content"])
            or any(set(block) != {"text"} for block in system)
            or set(config) - _INFERENCE_KEYS
        ):
            raise _client_error("ValidationException", "malformed Converse request", "Converse")
        system_text = "\n".join(block["text"] for block in system)
        user_text = "\n".join(block["text"] for block in messages[-1]["content"])
        reply = self.judge(system_text, user_text) if callable(self.judge) else self.judge
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": self.tokens(system_text + user_text),
                "outputTokens": self.tokens(reply),
                "totalTokens": self.tokens(system_text + user_text) + self.tokens(reply),
            },
            "metrics": {"latencyMs": 42},
        }

    # ---- the simulated model ------------------------------------------------------------------------

    def concepts(self, text: str) -> list[str]:
        found = []
        for word in _WORD.findall(text.lower().replace("ё", "е")):
            concept = next((c for stem, c in self.meanings.items() if word.startswith(stem)), None)
            found.append(concept or f"word:{word}")
        return found

    def vector(self, text: str, dimensions: int, *, normalize: bool) -> list[float]:
        total = [0.0] * dimensions
        for concept in self.concepts(text):
            # A known concept weighs more than an incidental word, as meaning outweighs wording.
            weight = 3.0 if not concept.startswith("word:") else 0.5
            seed = int.from_bytes(hashlib.sha256(concept.encode()).digest()[:8], "big")
            rng = random.Random(seed)
            for i in range(dimensions):
                total[i] += weight * rng.gauss(0.0, 1.0)
        norm = math.sqrt(sum(v * v for v in total)) or 1.0
        return [v / norm for v in total] if normalize else [v * 0.5 / norm for v in total]

    @staticmethod
    def tokens(text: str) -> int:
        return max(1, len(text) // 3)

    def _fault(self, kind: str, operation: str) -> None:
        mode = self.fail.get(kind)
        if mode == "throttle":
            raise _client_error("ThrottlingException", "Too many requests, please wait.", operation, 429)
        if mode == "denied":
            raise _client_error("AccessDeniedException", "not authorized to invoke this model", operation, 403)
        if mode == "timeout":
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.eu-central-1.amazonaws.com")
        if mode == "slow":
            time.sleep(self.slow_seconds)
