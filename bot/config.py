"""Settings of answering and of the front ends, read from NEWSDESK_* variables and `.env`."""

from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IdSet = Annotated[frozenset[int], NoDecode]
NameSet = Annotated[frozenset[str], NoDecode]


class BotSettings(BaseSettings):
    """How questions are answered and how the Telegram bot behaves."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", env_file=".env", extra="ignore")

    answerer: str = Field("extractive", description="Which answerer writes answers: `extractive` or `llm`.")
    top_k: int = Field(8, ge=1, le=50, description="Chunks retrieved per question.")
    min_answerability: float = Field(
        0.24,
        ge=0,
        description='Answer "not found" when no sentence is at least this answerable (docs/evaluation.md).',
    )
    max_sentences: int = Field(3, ge=1, le=5, description="Most sentences an extractive answer quotes.")
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible API base URL, e.g. http://localhost:11434/v1 for Ollama."
    )
    llm_model: str = Field("gpt-4o-mini", description="Model name the LLM server knows.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM server, if it needs one.")
    llm_timeout: float = Field(
        30.0, gt=0, description="Seconds before an LLM answer falls back to extractive."
    )
    history_turns: int = Field(3, ge=0, le=10, description="Earlier turns kept per chat for follow-ups.")
    telegram_bot_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "NEWSDESK_TELEGRAM_BOT_TOKEN"),
        description="Bot token from @BotFather; set it to run the Telegram bot.",
    )
    telegram_base_url: str | None = Field(
        None, description="Bot API server URL, e.g. a self-hosted telegram-bot-api (`http://host:8081/bot`)."
    )
    telegram_base_file_url: str | None = Field(
        None, description="Bot API file URL; derived from telegram_base_url when unset."
    )
    webhook_url: str | None = Field(
        None, description="Public HTTPS URL for webhook mode; unset means polling."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="Secret token Telegram sends with each update."
    )
    webhook_listen: str = Field("0.0.0.0", description="Address the webhook server binds.")
    webhook_port: int = Field(8443, description="Port the webhook server binds.")
    allowed_users: IdSet = Field(frozenset(), description="User ids allowed to ask (empty: everyone).")
    allowed_chats: IdSet = Field(frozenset(), description="Chat ids the bot answers in (empty: all).")
    admins: IdSet = Field(frozenset(), description="User ids allowed to ingest, forget and manage feeds.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest document an admin may upload.")
    ingest_channels: NameSet = Field(
        frozenset(),
        description="Channels whose posts become articles: @usernames or chat ids (the bot is their admin).",
    )
    alerts_every: float = Field(
        60.0, gt=0, description="Seconds between two looks for new articles matching followed topics."
    )
    metrics_addr: str | None = Field(
        None,
        description="host:port serving /metrics and /healthz for `bot` and `watch`, e.g. 127.0.0.1:9464 "
        "(unset: off).",
    )
    health_check_every: float = Field(
        30.0, gt=0, description="Seconds between two runs of the /healthz checks."
    )
    inline_cache_seconds: int = Field(
        300, ge=0, le=3600, description="How long an inline answer is reused for the same question."
    )

    @field_validator("allowed_users", "allowed_chats", "admins", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        """Accept `1,2,3` (or spaces) as well as a list."""
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(",", " ").split())
        return value

    @field_validator("ingest_channels", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        """Accept `@news,-1001234` (or spaces): usernames without their @, lowercased; ids as written."""
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        return frozenset(str(part).strip().lstrip("@").lower() for part in value if str(part).strip())

    @property
    def file_base_url(self) -> str | None:
        """Where files are downloaded from, next to the Bot API server."""
        if self.telegram_base_file_url:
            return self.telegram_base_file_url
        if self.telegram_base_url and self.telegram_base_url.rstrip("/").endswith("/bot"):
            return self.telegram_base_url.rstrip("/")[: -len("/bot")] + "/file/bot"
        return None
