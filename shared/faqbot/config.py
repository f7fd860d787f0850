"""Per-bot configuration: what a client's bot says, when it answers, where it escalates.

Stored with the bot (the KB table's `config` item); secrets are never stored here, only the
names of SSM parameters / Secrets Manager secrets that hold them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Platform(StrEnum):
    MANYCHAT = "manychat"
    SMARTSENDER = "smartsender"
    WEB = "web"


class Channel(StrEnum):
    """The messenger the customer writes from (behind ManyChat / SmartSender)."""

    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    MESSENGER = "messenger"
    VIBER = "viber"
    TIKTOK = "tiktok"
    WEB = "web"
    UNKNOWN = "unknown"


class Language(StrEnum):
    RU = "ru"
    UK = "uk"
    EN = "en"


class MatchThresholds(BaseModel):
    """When the matcher answers, clarifies or hands off.

    Defaults are calibrated on the benchmark KBs (`faqbot bench` prints the fit and its
    leave-one-KB-out check); a bot may override any of them.
    """

    model_config = ConfigDict(extra="forbid")

    answer_min_score: float = Field(default=0.2, ge=0, le=1, description="top score needed to answer")
    answer_min_margin: float = Field(default=0.04, ge=0, le=1, description="lead over the runner-up to answer")
    answer_contested_margin: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="extra lead needed unless the leader's wording is clearly closer to the message (see below)",
    )
    answer_spelling_lead: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="how much closer (character trigrams) the leader's wording must be for the lead alone to do",
    )
    answer_min_coverage: float = Field(
        default=0.4, ge=0, le=1, description="share of the message the answer must explain (the rest is unknown to it)"
    )
    clarify_min_score: float = Field(default=0.15, ge=0, le=1, description="top score needed to offer choices")
    clarify_window: float = Field(default=0.35, ge=0, le=1, description="choices score within this of the top")
    clarify_max_choices: int = Field(default=3, ge=2, le=3)


def _semantic_thresholds() -> MatchThresholds:
    # Combined scores (lexical + similarity) sit higher and closer together than lexical ones alone.
    return MatchThresholds(
        answer_min_score=0.4,
        answer_min_margin=0.1,
        answer_min_coverage=0.5,
        clarify_min_score=0.25,
        clarify_window=0.1,
    )


class SemanticSettings(BaseModel):
    """The optional Amazon Bedrock tier (issue 7): embeddings and a constrained judge for what the matcher misses.

    Off by default. When on, kb_ingest embeds the KB and the webhook consults Bedrock only for messages
    the matcher is not confident about; every failure falls back to the matcher's own decision.
    Prices are US dollars per 1,000 tokens, used for the estimated-cost metric (see docs/semantic.md).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    embedding_model_id: str = Field(
        default="amazon.titan-embed-text-v2:0",
        description="Titan Text Embeddings V2, or cohere.embed-multilingual-v3",
    )
    embedding_dimensions: int = Field(default=512, description="Titan V2: 256, 512 or 1024 (Cohere: always 1024)")
    answer_prefix_chars: int = Field(default=160, ge=0, le=2000, description="answer text embedded with the question")
    lexical_weight: float = Field(default=0.5, ge=0, le=1)
    semantic_weight: float = Field(default=0.5, ge=0, le=1)
    similarity_floor: float = Field(default=0.25, ge=-1, lt=1, description="cosine at or below this counts as 0")
    similarity_ceiling: float = Field(default=0.75, gt=-1, le=1, description="cosine at or above this counts as 1")
    thresholds: MatchThresholds = Field(default_factory=_semantic_thresholds, description="applied to combined scores")
    judge_enabled: bool = True
    judge_model_id: str = Field(default="amazon.nova-micro-v1:0", description="a Converse model or inference profile")
    judge_window: float = Field(
        default=0.1, ge=0, le=1, description="the judge sees the (1-3) candidates this close to the top"
    )
    timeout_seconds: float = Field(default=1.5, gt=0, le=5, description="each Bedrock call")
    total_timeout_seconds: float = Field(default=3.0, gt=0, le=8, description="all Bedrock calls of one message")
    monthly_call_budget: int = Field(default=20_000, ge=0, description="webhook Bedrock calls per calendar month (UTC)")
    embedding_price_per_1k_tokens: float = Field(default=0.00002, ge=0)
    judge_input_price_per_1k_tokens: float = Field(default=0.000035, ge=0)
    judge_output_price_per_1k_tokens: float = Field(default=0.00014, ge=0)

    @model_validator(mode="after")
    def _check(self) -> SemanticSettings:
        if self.embedding_model_id.startswith("amazon.titan-embed-text-v2") and self.embedding_dimensions not in (
            256,
            512,
            1024,
        ):
            raise ValueError("Titan Text Embeddings V2 supports dimensions 256, 512 or 1024")
        if self.similarity_ceiling <= self.similarity_floor:
            raise ValueError("similarity_ceiling must be above similarity_floor")
        if self.lexical_weight + self.semantic_weight <= 0:
            raise ValueError("lexical_weight + semantic_weight must be positive")
        return self


def _default_texts() -> dict[str, dict[Language, str]]:
    return {
        "handoff": {
            Language.RU: "Спасибо за вопрос! Менеджер скоро ответит вам здесь.",
            Language.UK: "Дякуємо за питання! Менеджер скоро відповість вам тут.",
            Language.EN: "Thanks for your question! A manager will reply here shortly.",
        },
        "human": {
            Language.RU: "Хорошо, зову менеджера — он ответит вам здесь в ближайшее время.",
            Language.UK: "Добре, кличу менеджера — він відповість вам тут найближчим часом.",
            Language.EN: "Sure, I'm calling a manager — they will reply here shortly.",
        },
        "clarify": {
            Language.RU: "Уточните, пожалуйста, что вас интересует:",
            Language.UK: "Уточніть, будь ласка, що саме вас цікавить:",
            Language.EN: "Could you clarify which of these you mean?",
        },
        "clarify_numbered_hint": {
            Language.RU: "Ответьте цифрой.",
            Language.UK: "Відповідайте цифрою.",
            Language.EN: "Reply with the number.",
        },
        "greeting": {
            Language.RU: "Здравствуйте! Чем могу помочь? Задайте ваш вопрос.",
            Language.UK: "Вітаю! Чим можу допомогти? Напишіть ваше питання.",
            Language.EN: "Hello! How can I help? Ask me anything.",
        },
        "thanks": {
            Language.RU: "Пожалуйста! Если будут ещё вопросы — пишите.",
            Language.UK: "Будь ласка! Якщо будуть ще питання — пишіть.",
            Language.EN: "You're welcome! Write if you have more questions.",
        },
        "bye": {
            Language.RU: "Всего доброго! Будем рады помочь снова.",
            Language.UK: "Гарного дня! Будемо раді допомогти знову.",
            Language.EN: "Goodbye! Happy to help again.",
        },
        "ask_contact": {
            Language.RU: "Оставьте, пожалуйста, номер телефона или e-mail, чтобы менеджер мог с вами связаться.",
            Language.UK: "Залиште, будь ласка, номер телефону або e-mail, щоб менеджер міг з вами зв'язатися.",
            Language.EN: "Please leave a phone number or e-mail so a manager can reach you.",
        },
    }


class BotTexts(BaseModel):
    """What the bot itself says, per language; the client may override any of them."""

    model_config = ConfigDict(extra="forbid")

    texts: dict[str, dict[Language, str]] = Field(default_factory=_default_texts)

    def get(self, key: str, language: Language | str) -> str:
        """The text for `key` in `language`, falling back to the other languages, then the default."""
        lang = Language(language) if language in Language._value2member_map_ else Language.UK
        for source in (self.texts.get(key, {}), _default_texts().get(key, {})):
            for candidate in (lang, Language.UK, Language.RU, Language.EN):
                if candidate in source:
                    return source[candidate]
        raise KeyError(key)


class TelegramSettings(BaseModel):
    """The managers' Telegram admin chat."""

    model_config = ConfigDict(extra="forbid")

    chat_id: int | None = None
    message_thread_id: int | None = None
    bot_token_param: str | None = Field(default=None, description="SSM parameter / secret name of the bot token")
    webhook_secret_param: str | None = Field(
        default=None, description="SSM parameter holding Telegram's X-Telegram-Bot-Api-Secret-Token"
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API base URL (a test or staging set-up may point elsewhere)",
    )


class KommoSettings(BaseModel):
    """Kommo (amoCRM) account and the pipeline/stage ids the bot uses."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="account domain, e.g. https://mybiz.kommo.com")
    token_param: str = Field(description="SSM parameter / secret name of the long-lived token")
    pipeline_id: int | None = None
    status_id: int | None = None
    handoff_status_id: int | None = Field(default=None, description="stage such as 'Нужна помощь менеджера'")
    responsible_user_id: int | None = None
    create_task_on_handoff: bool = True
    task_due_minutes: int = 30
    add_transcript_note: bool = True
    tags: list[str] = Field(default_factory=lambda: ["faqbot"])
    max_requests_per_second: float = Field(
        default=3.5,
        gt=0,
        description="per crm_sync container; Kommo allows 7/s per account and up to 2 containers run at once",
    )


class GenericWebhookSettings(BaseModel):
    """Any other CRM: events POSTed as JSON, signed with HMAC-SHA256."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="where events are POSTed (https in production)")
    secret_param: str = Field(description="SSM parameter / secret name of the HMAC signing secret")
    timeout_seconds: float = Field(default=10.0, gt=0, le=30)


class CrmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kommo: KommoSettings | None = None
    webhook: GenericWebhookSettings | None = None
    required_fields: list[str] = Field(default_factory=lambda: ["name", "phone"])


class ManyChatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wrapper_key: str | None = Field(default=None, description="key the flow wraps Full Contact Data under")
    status_field: str = Field(default="faqbot_status", description="custom field set to the reply status; empty: none")
    takeover_tag: str = Field(default="human_takeover", description="tag the flow sets when a manager takes over")
    resume_tag: str = Field(default="bot_resume", description="tag the flow sets to hand the chat back")
    handoff_tag: str = Field(default="faqbot_handoff", description="tag added on handoff; empty: none")
    choice_target: str | None = Field(
        default=None,
        description="node name (or flow ns 'content…') that clarify quick replies go to; None: numbered text only",
    )
    api_token_param: str | None = None


class SmartSenderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_url_template: str | None = Field(
        default=None, description="e.g. https://app.smartsender.com/chats/{contact_id}"
    )
    takeover_variable: str = "human_takeover"
    resume_variable: str = "bot_resume"


class WebSettings(BaseModel):
    """The website channel (chat widget): limits of the public endpoint and how managers are shown."""

    model_config = ConfigDict(extra="forbid")

    messages_per_minute: int = Field(default=10, ge=1, le=600, description="per visitor")
    ip_messages_per_minute: int = Field(default=30, ge=1, le=6000, description="per client IP (several visitors)")
    rate_window_seconds: int = Field(default=60, ge=1, le=3600, description="the rate limits' window")
    max_message_chars: int = Field(default=1000, ge=1, le=4000, description="longer visitor messages are refused")
    manager_name: str = Field(
        default="first_name",
        pattern=r"^(first_name|full_name|none)$",
        description="how a manager is named to the visitor: first_name, full_name or none (a generic 'Manager')",
    )
    poll_seconds: int = Field(default=3, ge=1, le=60, description="how often the open widget asks for new messages")
    accent_color: str = Field(default="#2f6fed", pattern=r"^#[0-9a-fA-F]{6}$")


class BotConfig(BaseModel):
    """Everything that makes one client's bot behave as that client wants."""

    model_config = ConfigDict(extra="forbid")

    bot_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    platform: Platform = Platform.MANYCHAT
    display_name: str | None = None
    language: Language = Language.UK
    timezone: str = "Europe/Kyiv"
    enabled: bool = True
    webhook_secret_param: str | None = Field(
        default=None, description="SSM parameter / secret name holding the webhook secret"
    )
    thresholds: MatchThresholds = Field(default_factory=MatchThresholds)
    texts: BotTexts = Field(default_factory=BotTexts)
    pause_timeout_minutes: int | None = Field(default=24 * 60, description="None: paused until resumed")
    transcript_retention_days: int = 180
    kb_versions_kept: int = 5
    history_link_ttl_hours: int = 72
    manychat: ManyChatSettings = Field(default_factory=ManyChatSettings)
    smartsender: SmartSenderSettings = Field(default_factory=SmartSenderSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    crm: CrmSettings = Field(default_factory=CrmSettings)
    kb_source_url: str | None = None
    site_origins: list[str] = Field(
        default_factory=list, description="sites allowed to embed the chat widget, e.g. https://shop.example.com"
    )
    web: WebSettings = Field(default_factory=WebSettings)
    semantic: SemanticSettings = Field(default_factory=SemanticSettings)
