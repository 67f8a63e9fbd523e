"""The `newsdesk` CLI verbs of the knowledge base: ingest, stats, forget, help and usage errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import store

RunCli = Callable[..., Result]
WriteArticle = Callable[..., Path]

SUMMARY = re.compile(r"(\d+) added, (\d+) updated, (\d+) unchanged, (\d+) failed")
COUNTS = re.compile(r"(\d+) articles, (\d+) chunks, (\d+) outlets")


def flat(text: str) -> str:
    """Output with runs of whitespace collapsed, so a wrapped line reads as one."""
    return " ".join(text.split())


def summary(result: Result) -> tuple[int, int, int, int]:
    """(added, updated, unchanged, failed) from the one-line ingest summary."""
    match = SUMMARY.search(flat(result.output))
    assert match, result.output
    return int(match[1]), int(match[2]), int(match[3]), int(match[4])


def counts(result: Result) -> tuple[int, int, int]:
    """(articles, chunks, outlets) from `newsdesk stats` output."""
    match = COUNTS.search(flat(result.output))
    assert match, result.output
    return int(match[1]), int(match[2]), int(match[3])


def two_articles(write_article: WriteArticle) -> Path:
    """A folder of two short articles."""
    write_article(
        "ferry", "The island ferry resumed on Monday. Queues formed early.", published_at="2025-02-01"
    )
    write_article("tram", "The tram line opened on Friday. Riders cheered.", published_at="2025-02-03")
    return Path("articles")


def test_ingest_samples_then_stats(run_cli: RunCli, sample_kb: store.KnowledgeBase) -> None:
    """`ingest --samples` adds the 8 samples; `stats` prints their counts, date span and newest first."""
    result = run_cli("ingest", "--samples")
    assert result.exit_code == 0, result.output
    assert summary(result) == (8, 0, 0, 0)

    result = run_cli("stats")
    assert result.exit_code == 0, result.output
    assert counts(result) == (8, sample_kb.stats().chunks, 7)
    assert "published 2024-10-17 to 2025-03-11" in result.output
    assert f"store:{Path('data', 'chroma').resolve()}" in "".join(result.output.split())
    listed = [record.id for record in sample_kb.recent_articles(5)]
    positions = [result.output.index(article_id) for article_id in listed]
    assert positions == sorted(positions)


def test_ingest_json_report(run_cli: RunCli, write_article: WriteArticle) -> None:
    """`ingest --json` prints a parseable report; a second run reports everything unchanged."""
    folder = two_articles(write_article)
    first = run_cli("ingest", "--json", str(folder))
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert {"added", "updated", "unchanged", "failed"} <= set(report)
    assert (len(report["added"]), report["updated"], report["unchanged"], report["failed"]) == (2, [], [], [])
    assert report["chunks_written"] == 2

    again = json.loads(run_cli("ingest", "--json", str(folder)).stdout)
    assert (again["added"], again["updated"], again["failed"]) == ([], [], [])
    assert sorted(again["unchanged"]) == sorted(report["added"])
    assert again["chunks_written"] == 0


def test_forget_then_stats(run_cli: RunCli, write_article: WriteArticle) -> None:
    """`forget ID` removes one article, and `stats` shows one fewer."""
    folder = two_articles(write_article)
    added = json.loads(run_cli("ingest", "--json", str(folder)).stdout)["added"]
    before = counts(run_cli("stats"))
    assert before[0] == 2

    result = run_cli("forget", added[0])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"forgot {added[0]}"
    after = counts(run_cli("stats"))
    assert (after[0], after[1]) == (1, before[1] - 1)


def test_forget_unknown_id_is_a_one_line_error(run_cli: RunCli) -> None:
    """`forget nope` exits non-zero with one line naming the id."""
    result = run_cli("forget", "nope")
    assert result.exit_code == 1
    assert result.output == "Error: not in the store: nope\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], ["ingest", "stats", "forget", "--data-dir", "--chroma-url"]),
        (["-h"], ["ingest", "stats", "forget"]),
        (["ingest", "--help"], ["SOURCES", "--samples", "--json"]),
        (["forget", "--help"], ["ARTICLE_IDS"]),
        (["stats", "--help"], ["--recent"]),
    ],
)
def test_help(run_cli: RunCli, args: list[str], expected: list[str]) -> None:
    """Help of the group and of each knowledge-base command works and names its options."""
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    for word in expected:
        assert word in result.output


def test_help_does_not_load_the_model(tmp_path: Path) -> None:
    """`newsdesk --help` imports neither sentence-transformers nor torch, so it starts at once."""
    script = (
        "import sys\nfrom bot.frontends.cli import main\nsys.argv = ['newsdesk', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sentence_transformers', 'torch') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_ingest_without_sources_is_a_usage_error(run_cli: RunCli) -> None:
    """`newsdesk ingest` with no PATH and no --samples is a usage error (exit 2)."""
    result = run_cli("ingest")
    assert result.exit_code == 2
    assert "give at least one PATH, or --samples" in result.output
    assert not Path("data").exists()


def test_ingest_lists_each_failure_and_keeps_the_good(
    run_cli: RunCli, write_article: WriteArticle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad sources each get one `failed FILE: reason` line, exit code 1, and the good ones are stored."""
    monkeypatch.setenv("NEWSDESK_MAX_FILE_MB", "0.002")
    write_article("good", "A good article body. It has two sentences.")
    bad = Path("bad")
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (bad / "feed.jsonl").write_text(
        '{"id": "j1", "title": "J1", "body": "Line one body."}\n'
        '{"id": "j2", "title": "J2", "body": "Line two body."}\n'
        "{not json}\n"
    )
    (bad / "nobody.json").write_text('{"title": "No body"}')
    (bad / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody.\n")
    (bad / "undated.md").write_text("---\ntitle: Undated\npublished_at: the other day\n---\nBody.\n")
    (bad / "huge.md").write_text("# Huge\n\n" + "word " * 1000)
    (bad / "slides.pdf").write_bytes(b"%PDF-1.4\n")
    expected = {
        "bad/empty.txt": "empty file",
        "bad/image.txt": "binary",
        "bad/feed.jsonl:3": "line 3",
        "bad/nobody.json": "no body",
        "bad/broken.md": "invalid front matter",
        "bad/undated.md": "unreadable published_at",
        "bad/huge.md": "limit",
        "bad/slides.pdf": "unsupported file type",
        "bad/missing.txt": "no such file",
    }
    paths = ["articles", "bad/missing.txt", "bad/slides.pdf", "bad"]

    result = run_cli("ingest", *paths)
    assert result.exit_code == 1, result.output
    output = flat(result.output)
    assert summary(result) == (3, 0, 0, len(expected))
    for origin, reason in expected.items():
        assert re.search(rf"failed {re.escape(origin)}: [^\n]*{re.escape(reason)}", output), origin
    assert output.count("failed bad/") == len(expected)

    report = json.loads(run_cli("ingest", "--json", *paths).stdout)
    assert sorted(f["source"] for f in report["failed"]) == sorted(expected)
    assert len(report["unchanged"]) == 3
    assert counts(run_cli("stats"))[0] == 3


def test_failure_line_shows_a_file_name_with_brackets(run_cli: RunCli) -> None:
    """A failed file whose name contains square brackets is named exactly as it is."""
    Path("notes [draft].txt").write_bytes(b"")
    result = run_cli("ingest", "notes [draft].txt")
    assert result.exit_code == 1
    assert "failed notes [draft].txt: empty file" in flat(result.output)


def test_feeds_are_followed_listed_and_dropped_without_opening_the_store(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """`feeds add/list/remove` only touch the feed registry: the store is never created for them."""
    url = "https://harbour-herald.test/rss.xml"

    added = run_cli("feeds", "add", url, "--every", "2h")
    listed = run_cli("feeds", "list")
    removed = run_cli("feeds", "remove", url)
    again = run_cli("feeds", "remove", url)

    assert added.exit_code == 0 and f"following {url} every 2h" in flat(added.output)
    assert listed.exit_code == 0 and url in flat(listed.output)
    assert removed.exit_code == 0 and f"no longer following {url}" in flat(removed.output)
    assert again.exit_code == 1 and f"not a followed feed: {url}" in again.output
    assert (tmp_path / "data" / "feeds.json").is_file()
    assert not (tmp_path / "data" / "chroma").exists()


def test_piped_report_lines_are_not_wrapped(run_cli: RunCli) -> None:
    """When the output is not a terminal, each report line is one line, whatever its length."""
    name = "a-file-name-long-enough-to-pass-eighty-columns-once-the-reason-is-added-to-it.txt"
    Path(name).write_bytes(b"")
    result = run_cli("ingest", name)
    assert f"failed {name}: empty file" in result.output.splitlines()


def test_text_stored_with_escape_sequences_is_printed_without_them(
    run_cli: RunCli, tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    """An article stored before escape sequences were removed at ingest cannot drive the terminal
    through `stats` or `ask`."""
    import ingest

    hostile = store.Article(
        id="esc",
        title="Ferry \x1b]0;pwned\x07news",
        body="The ferry \x1b[2Jresumed on Monday.\x07 Queues formed early.",
        source="Harbour \x1b[31mTimes",
        url="https://news.test/ferry",
    )
    settings = store.StoreSettings(data_dir=tmp_path / "data")
    with store.open_knowledge_base(settings, embeddings) as kb:
        ingest.Ingestor(kb, ingest.IngestSettings()).ingest_loaded([hostile])

        assert "\x1b" in kb.all_articles()[0].title

    for args in (["stats"], ["ask", "When did the ferry resume?"]):
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, args
        assert "Ferry news" in result.output or "resumed on Monday" in result.output
