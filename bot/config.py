"""Settings of answering and of the front ends, read from NEWSDESK_* variables and `.env`."""

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BotSettings(BaseSettings):
    """How questions are answered and how the Telegram bot behaves."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", env_file=".env", extra="ignore")

    answerer: str = Field("extractive", description="Which answerer writes answers: `extractive`.")
    top_k: int = Field(8, ge=1, le=50, description="Chunks retrieved per question.")
    min_evidence: float = Field(
        0.45, description="Abstain when the best sentence scores below this (see docs/evaluation.md)."
    )
    max_sentences: int = Field(3, ge=1, le=5, description="Most sentences an extractive answer quotes.")
    telegram_bot_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "NEWSDESK_TELEGRAM_BOT_TOKEN"),
        description="Bot token from @BotFather; set it to run the Telegram bot.",
    )
