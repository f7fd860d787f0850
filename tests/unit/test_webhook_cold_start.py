"""The webhook's cold start stays light: importing its handler must not import pandas (nor phonenumbers,
loaded on the first message that has a phone)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

WEBHOOK_APP = Path(__file__).resolve().parents[2] / "functions" / "webhook" / "app.py"

_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("faqbot_fn_webhook", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
print(json.dumps({"handler": callable(getattr(module, "lambda_handler", None)),
                  "heavy": sorted(m for m in ("pandas", "openpyxl", "numpy", "phonenumbers") if m in sys.modules)}))
"""


def test_importing_the_webhook_handler_does_not_import_pandas() -> None:
    # given: a fresh interpreter, as a cold Lambda container
    assert WEBHOOK_APP.is_file()

    # when
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(WEBHOOK_APP)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-central-1", "POWERTOOLS_TRACE_DISABLED": "true"},
    )

    # then
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result == {"handler": True, "heavy": []}
