"""A test-only SQS consumer: records whose body says `"fail": true` fail (reported per item), others succeed.

With `"crash": true` in any record the whole invocation raises, as a handler bug would.
"""

from __future__ import annotations

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("crash"):
            raise RuntimeError("consumer crashed")
        if body.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
