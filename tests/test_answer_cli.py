"""`newsdesk ask` and `newsdesk chat` with the default (extractive) answerer, over the bundled samples.

The samples are ingested once per module with `newsdesk ingest --samples`; every test then runs
the CLI in-process against that data dir, as a user would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.answering import NOT_FOUND
from bot.frontends.cli import cli

DELIVERY_QUESTION = "What is the 2025 delivery target?"
DELIVERY_URL = "https://pacific-auto-wire.test/ev/2025/01/02/xiaomi-2025-delivery-target"
FOLLOW_UP = "and who set it?"
AS_OF = "2025-12-31"

Newsdesk = Callable[..., Result]


@pytest.fixture(scope="module")
def samples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the bundled samples, ingested through the CLI."""
    data_dir = tmp_path_factory.mktemp("answer_cli") / "data"
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "ingest", "--samples"])
    assert result.exit_code == 0, result.output
    return data_dir


@pytest.fixture
def newsdesk(samples_dir: Path) -> Newsdesk:
    """Run `newsdesk --data-dir SAMPLES ARGS...` with optional stdin and NEWSDESK_* variables."""

    def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(
            cli, ["--data-dir", str(samples_dir), *args], input=stdin, env=env, catch_exceptions=False
        )

    return run


def test_ask_json_cites_the_article(newsdesk: Newsdesk) -> None:
    """`ask --json` prints the answer, its citations and the articles read."""
    result = newsdesk("ask", "--json", "--as-of", AS_OF, DELIVERY_QUESTION)

    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["found"] is True
    assert "300,000" in answer["answer"]
    assert answer["short_answer"].startswith("300,000 vehicle")
    assert answer["citations"][0]["url"] == DELIVERY_URL
    assert answer["citations"][0]["published_at"] == "2025-01-02"


def test_ask_prints_the_short_answer_before_its_quote(newsdesk: Newsdesk) -> None:
    result = newsdesk("ask", "--as-of", AS_OF, DELIVERY_QUESTION)

    assert result.exit_code == 0, result.output
    short, *rest = result.output.splitlines()
    quote = " ".join(rest)  # the terminal wraps long lines
    assert short.startswith("300,000 vehicle")
    assert short in quote and "[1]" in quote


def test_ask_json_of_a_question_not_answered_has_no_short_answer(newsdesk: Newsdesk) -> None:
    result = newsdesk("ask", "--json", "--as-of", AS_OF, "Who will referee the Eastvale cup final in May?")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert (answer["found"], answer["answer"], answer["short_answer"]) == (False, NOT_FOUND, None)


def test_chat_uses_the_previous_turn_for_a_follow_up(newsdesk: Newsdesk) -> None:
    """In `chat`, "and who set it?" after the delivery question is answered from the same story."""
    result = newsdesk("chat", stdin=f"{DELIVERY_QUESTION}\n{FOLLOW_UP}\n")

    assert result.exit_code == 0, result.output
    assert result.output.count("\nSources\n") == 2, result.output  # both answers cite the story
    assert result.output.count(DELIVERY_URL) == 2
    assert NOT_FOUND not in result.output


def test_chat_keeps_no_turns_when_history_is_off(newsdesk: Newsdesk) -> None:
    """With NEWSDESK_HISTORY_TURNS=0 the follow-up stands alone, as in Telegram: it is not found."""
    result = newsdesk(
        "chat", stdin=f"{DELIVERY_QUESTION}\n{FOLLOW_UP}\n", env={"NEWSDESK_HISTORY_TURNS": "0"}
    )

    assert result.exit_code == 0, result.output
    first, _, second = result.output.partition(NOT_FOUND)
    assert "\nSources\n" in first and DELIVERY_URL in first
    assert second.startswith("\n\nClosest articles\n"), result.output  # not found, with leads only
