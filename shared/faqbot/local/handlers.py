"""Run the real Lambda handlers in this process, the way the Lambda runtime would.

Each `functions/<name>/app.py` is loaded by file path (handlers never import each other, so
they are not a package) under the module name `faqbot_fn_<name>`, with the function's own
environment variables applied around the import and every invocation.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from faqbot import aws, settings

LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_REGION = "eu-central-1"

Handler = Callable[[Any, Any], Any]

# The process has one os.environ but every function has its own environment: invocations that
# change it take turns (a local stack serves one developer, not production traffic).
_ENV_LOCK = threading.RLock()


@dataclass
class FakeLambdaContext:
    """The attributes and method of the Lambda context object that handlers and Powertools use."""

    function_name: str = "LocalFunction"
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 30
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def module_name(function_dir: Path) -> str:
    """`functions/kb_ingest/` → `faqbot_fn_kb_ingest`."""
    return f"faqbot_fn_{function_dir.resolve().name}"


def load_handler(function_dir: Path, handler: str = "app.lambda_handler") -> Handler:
    """Import `<function_dir>/<module>.py` by path and return its handler callable.

    A fresh module object every call, registered in `sys.modules` (pydantic resolves postponed
    annotations through it), so two stacks or tests never share a warm container's state.
    """
    module_file, _, attr = handler.rpartition(".")
    path = function_dir / f"{module_file.replace('.', '/')}.py"
    if not path.is_file():
        raise FileNotFoundError(f"handler module not found: {path}")
    name = module_name(function_dir)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        _restore_module(name, previous)
        raise
    return _handler_attr(module, attr, path)


def _restore_module(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _handler_attr(module: ModuleType, attr: str, path: Path) -> Handler:
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise AttributeError(f"{path} has no callable {attr!r}")
    return fn


@contextmanager
def function_environment(env: Mapping[str, str], *, restore: bool = True) -> Iterator[None]:
    """Apply a function's environment for the duration of a call.

    The cached boto3 clients and settings in `faqbot` are keyed on the environment, so they are
    forgotten whenever it actually changes. `restore=False` leaves the environment in place
    (the `faqbot run` process exists only to serve the functions; keeping it saves re-creating
    clients on every call).
    """
    with _ENV_LOCK:
        previous = {key: os.environ.get(key) for key in env}
        changed = any(previous[key] != value for key, value in env.items())
        if changed:
            os.environ.update(env)
            _forget_cached_environment()
        try:
            yield
        finally:
            if restore and changed:
                for key, value in previous.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                _forget_cached_environment()


def _forget_cached_environment() -> None:
    aws.reset()
    settings.reset()


class FunctionInvoker:
    """One function's warm container: its handler, loaded once, called with its environment."""

    def __init__(
        self,
        name: str,
        function_dir: Path,
        env: Mapping[str, str],
        *,
        handler: str = "app.lambda_handler",
        memory_mb: int = 512,
        timeout_seconds: int = 30,
        restore_env: bool = True,
    ) -> None:
        self.name = name
        self.function_dir = function_dir
        self.env = dict(env)
        self._handler_path = handler
        self._memory_mb = memory_mb
        self._timeout_seconds = timeout_seconds
        self._restore_env = restore_env
        self._handler: Handler | None = None
        self._load_lock = threading.Lock()

    def context(self) -> FakeLambdaContext:
        return FakeLambdaContext(
            function_name=self.name, memory_limit_in_mb=self._memory_mb, timeout_seconds=self._timeout_seconds
        )

    def handler(self) -> Handler:
        """Load the handler on first use (a cold start), inside the function's environment."""
        with self._load_lock:
            if self._handler is None:
                with function_environment(self.env, restore=self._restore_env):
                    self._handler = load_handler(self.function_dir, self._handler_path)
            return self._handler

    def invoke(self, event: Any, context: Any = None) -> Any:
        """Call the handler on a thread of its own, as clean as the Lambda runtime's (no running event
        loop, whatever the caller's thread has: a test's browser driver, a server's loop)."""
        handler = self.handler()
        context = context if context is not None else self.context()
        with function_environment(self.env, restore=self._restore_env), ThreadPoolExecutor(1) as runtime:
            return runtime.submit(handler, event, context).result()
