"""The README stays true: its configuration table names every setting the code reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from bot.config import BotSettings
from ingest import IngestSettings
from store import StoreSettings

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("settings", [StoreSettings, IngestSettings, BotSettings])
def test_the_configuration_table_lists_every_setting(settings: type[BaseSettings]) -> None:
    table = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    missing = [
        f"NEWSDESK_{name.upper()}"
        for name in settings.model_fields
        if not any(f"`NEWSDESK_{name.upper()}`" in row for row in rows)
        and not (name == "telegram_bot_token" and any("`TELEGRAM_BOT_TOKEN`" in row for row in rows))
    ]
    assert not missing, f"README's configuration table lacks {missing}"
