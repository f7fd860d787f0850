"""The whole product on one machine: emulator, resources, HTTP API, event delivery and a demo bot.

`faqbot run` and the integration tests both use `LocalStack`; they differ only in ports and in
whether the emulator runs in-process (the CLI) or as a child process (tests, where moto's
in-process `mock_aws` in other tests would reset it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from faqbot.bots.admin import CreatedBot, create_bot
from faqbot.bots.registry import BotRegistry
from faqbot.config import Language, Platform
from faqbot.history.links import SigningKeys, load_signing_keys, playground_link
from faqbot.kb.store import ActiveKb, KnowledgeBaseStore
from faqbot.local.apigw import LocalApiGateway
from faqbot.local.delivery import S3EventPoller, SqsPoller, start_pollers, stop_pollers
from faqbot.local.emulator import Emulator, endpoint_url, free_port, local_aws_env
from faqbot.local.emulator import emulator_port as default_emulator_port
from faqbot.local.handlers import FunctionInvoker
from faqbot.local.resources import LocalFunction, LocalResources, create_resources, plan_resources
from faqbot.local.template import default_template_path, load_template
from faqbot.outbound import CONSOLE_OUTBOX, OUTBOX_ENV
from faqbot.secrets import SecretNotFound, SecretStore

Echo = Callable[[str], None]

DEMO_BOT_ID = "demo"
DEMO_TOKEN_ENV = "FAQBOT_DEMO_TOKEN"
DEMO_KB_FILE = Path(__file__).resolve().parents[1] / "demo" / "demo_kb.csv"
LOCAL_SECRETS_STAGE = "local"
KB_WAIT_SECONDS = 90.0

# What only the local stack sets on every function: no X-Ray daemon or CloudWatch here, and calls
# to Telegram / Kommo / ManyChat of bots without credentials go to the console outbox.
_LOCAL_FUNCTION_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    OUTBOX_ENV: CONSOLE_OUTBOX,
}


def local_function_env(fn: LocalFunction, endpoint: str | None) -> dict[str, str]:
    """A function's environment when run locally: Lambda's own variables, the emulator, the template's.

    Without `endpoint`, boto3 is left to the caller's setup (e.g. moto's in-process `mock_aws`).
    """
    aws_env = local_aws_env(endpoint) if endpoint else {}
    return {
        "AWS_LAMBDA_FUNCTION_NAME": fn.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        **aws_env,
        **_LOCAL_FUNCTION_ENV,
        **fn.env,
    }


@dataclass(frozen=True)
class DemoBot:
    bot_id: str
    secret: str
    webhook_url: str
    health_url: str
    kb: ActiveKb
    playground_url: str | None = None  # the owner's playground (/try/<token>), valid for a week


class LocalStack:
    """Starts and stops everything `faqbot run` serves; usable as a context manager."""

    def __init__(
        self,
        *,
        api_port: int = 3000,
        emulator_port: int | None = None,
        demo: bool = True,
        in_process_emulator: bool = True,
        template_path: Path | None = None,
        restore_env: bool = False,
        echo: Echo | None = None,
    ) -> None:
        self.template_path = template_path or default_template_path()
        port = default_emulator_port() if emulator_port is None else emulator_port
        self.emulator = Emulator(port, in_process=in_process_emulator)
        self._api_port = api_port or free_port()
        self._demo = demo
        self._restore_env = restore_env
        self._echo = echo or (lambda line: print(line, flush=True))
        self.resources: LocalResources | None = None
        self.api: LocalApiGateway | None = None
        self.demo_bot: DemoBot | None = None
        self._invokers: dict[str, FunctionInvoker] = {}
        self._pollers: list[SqsPoller | S3EventPoller] = []

    @property
    def api_url(self) -> str:
        return endpoint_url(self._api_port)

    # ------------------------------------------------------------------------------ lifecycle

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.emulator.start()
        template = load_template(self.template_path)
        # Links in notifications (PUBLIC_BASE_URL) point at this machine's API.
        overrides = {"PublicBaseUrl": self.api_url} if "PublicBaseUrl" in (template.get("Parameters") or {}) else {}
        self.resources = plan_resources(
            template,
            template_dir=self.template_path.parent,
            endpoint_url=self.emulator.url,
            parameter_overrides=overrides,
        )
        create_resources(
            template,
            self.resources,
            dynamodb_client=self.emulator.client("dynamodb"),
            sqs_client=self.emulator.client("sqs"),
            s3_client=self.emulator.client("s3"),
        )
        self._create_link_signing_keys()
        self._invokers = {
            fn.logical_id: FunctionInvoker(
                fn.logical_id,
                fn.code_dir,
                self.function_env(fn.logical_id),
                handler=fn.handler,
                memory_mb=fn.memory_mb,
                timeout_seconds=fn.timeout,
                restore_env=self._restore_env,
            )
            for fn in self.resources.functions.values()
            if (fn.code_dir / "app.py").is_file()
        }
        self._pollers = start_pollers(self.resources, self.emulator.client, self.invoke, echo=self._echo)
        self.api = LocalApiGateway(self.resources.routes, self.invoke, port=self._api_port, echo=self._echo).start()
        if self._demo:
            self.demo_bot = self.create_demo_bot()

    def _create_link_signing_keys(self) -> None:
        """The transcript/playground link key named by the functions' HISTORY_SIGNING_KEY_PARAM, if missing.

        A deployed stack's operator creates it once (docs/history.md); locally it is made at start.
        """
        assert self.resources is not None
        names = {fn.env.get("HISTORY_SIGNING_KEY_PARAM") for fn in self.resources.functions.values()}
        store = SecretStore(self.emulator.client("ssm"), self.emulator.client("secretsmanager"))
        for name in sorted(name for name in names if name):
            try:
                store.get(name, max_age=0)
            except SecretNotFound:
                store.put(name, SigningKeys.generate_key())

    def stop(self) -> None:
        """Stop the API, then event delivery, then the emulator; safe to call more than once."""
        if self.api is not None:
            self.api.stop()
            self.api = None
        stop_pollers(self._pollers)
        self._pollers = []
        self.emulator.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ functions

    def _function(self, name: str) -> LocalFunction:
        if self.resources is None:
            raise RuntimeError("the stack is not started")
        return self.resources.function(name)

    def function_env(self, name: str) -> dict[str, str]:
        return local_function_env(self._function(name), self.emulator.url)

    def invoker(self, name: str) -> FunctionInvoker:
        fn = self._function(name)
        if fn.logical_id not in self._invokers:
            raise LookupError(f"{fn.logical_id} has no handler yet: {fn.code_dir / 'app.py'} is missing")
        return self._invokers[fn.logical_id]

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Invoke a function (logical id or folder name) with an event, as its triggers do."""
        return self.invoker(name).invoke(event)

    # ------------------------------------------------------------------------------ bots and KBs

    def kb_table(self) -> Any:
        if self.resources is None:
            raise RuntimeError("the stack is not started")
        return self.emulator.resource("dynamodb").Table(self.resources["KbTable"].name)

    def create_bot(
        self,
        bot_id: str,
        *,
        platform: Platform = Platform.MANYCHAT,
        token: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> CreatedBot:
        """A bot made as `faqbot bots create` makes one: config in the KB table, secret in the emulator's SSM."""
        return create_bot(
            registry=BotRegistry(self.kb_table()),
            secret_store=SecretStore(self.emulator.client("ssm"), self.emulator.client("secretsmanager")),
            stage=LOCAL_SECRETS_STAGE,
            bot_id=bot_id,
            platform=platform,
            token=token,
            settings=settings,
            overwrite=True,
        )

    def upload_kb(self, bot_id: str, path: Path, *, key_name: str | None = None) -> str:
        """Put a spreadsheet under `kb/<bot_id>/` in the KB bucket: the real S3 → kb_ingest path."""
        if self.resources is None:
            raise RuntimeError("the stack is not started")
        key = f"kb/{bot_id}/{key_name or path.name}"
        for poller in self._pollers:
            if isinstance(poller, S3EventPoller):
                poller.outcomes.pop(key, None)
        self.emulator.client("s3").put_object(Bucket=self.resources["KbBucket"].name, Key=key, Body=path.read_bytes())
        return key

    def wait_for_kb(
        self, bot_id: str, *, key: str | None = None, newer_than: int = 0, timeout: float = KB_WAIT_SECONDS
    ) -> ActiveKb:
        """Wait until kb_ingest has activated a version of the bot's KB newer than `newer_than`.

        With the uploaded `key`, fail as soon as kb_ingest is done with it without activating one.
        """
        store = KnowledgeBaseStore(self.kb_table())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active = store.active(bot_id, consistent=True)
            if active is not None and active.version > newer_than:
                return active
            outcome = self._s3_outcome(key) if key else None
            if outcome is not None:
                what = f"returned {outcome.response!r}" if outcome.ok else "failed on every attempt (traceback above)"
                raise RuntimeError(f"{outcome.function} did not activate a KB for {bot_id!r} from {key}: it {what}")
            time.sleep(0.2)
        raise TimeoutError(f"no KB version of bot {bot_id!r} became active within {timeout:.0f} s")

    def _s3_outcome(self, key: str) -> Any:
        for poller in self._pollers:
            if isinstance(poller, S3EventPoller) and key in poller.outcomes:
                return poller.outcomes[key]
        return None

    def create_demo_bot(self, *, kb_file: Path = DEMO_KB_FILE, secret: str | None = None) -> DemoBot:
        """The `demo` bot: ManyChat, Ukrainian, the sample KB ingested through S3 → kb_ingest."""
        created = self.create_bot(
            DEMO_BOT_ID,
            platform=Platform.MANYCHAT,
            token=secret or os.environ.get(DEMO_TOKEN_ENV) or None,
            settings={"language": Language.UK, "display_name": "Demo"},
        )
        previous = KnowledgeBaseStore(self.kb_table()).active(DEMO_BOT_ID, consistent=True)
        key = self.upload_kb(DEMO_BOT_ID, kb_file)
        kb = self.wait_for_kb(DEMO_BOT_ID, key=key, newer_than=previous.version if previous else 0)
        return DemoBot(
            bot_id=DEMO_BOT_ID,
            secret=created.secret,
            webhook_url=f"{self.api_url}/bots/{DEMO_BOT_ID}/manychat",
            health_url=f"{self.api_url}/bots/{DEMO_BOT_ID}/health",
            kb=kb,
            playground_url=self.playground_url(DEMO_BOT_ID),
        )

    def playground_url(self, bot_id: str, ttl: timedelta = timedelta(days=7)) -> str | None:
        """A signed playground link for `bot_id` on this stack (as `faqbot playground link --local` prints)."""
        assert self.resources is not None
        fn = self.resources.functions.get("HistoryPageFunction")
        name = fn.env.get("HISTORY_SIGNING_KEY_PARAM") if fn is not None else None
        if not name:
            return None
        store = SecretStore(self.emulator.client("ssm"), self.emulator.client("secretsmanager"))
        return playground_link(self.api_url, load_signing_keys(name, store, max_age=0), bot_id, ttl)

    def queue_depths(self) -> Mapping[str, int]:
        """Messages in each template queue (visible + in flight), for tests and the curious."""
        if self.resources is None:
            return {}
        sqs = self.emulator.client("sqs")
        depths = {}
        for queue in self.resources.of_type("AWS::SQS::Queue"):
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[queue.logical_id] = sum(int(v) for v in attributes.values())
        return depths
