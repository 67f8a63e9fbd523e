"""The `newsdesk` command: one short command per verb, each a thin call into the core."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from bot import backup
from bot.answering import Answer, InvalidQuestionError, Newsdesk, Turn, UnknownAnswererError, draft_text
from bot.backup import ExportCounts
from bot.config import BotSettings
from bot.evaluation import (
    CorpusStore,
    EvalDataError,
    evaluate,
    load_questions,
    open_corpus_store,
    write_results,
)
from bot.feedback import FeedbackStore, Vote, export_questions
from bot.metrics import MonitoringServer, monitoring
from ingest import FeedError, FeedResult, Ingestor, IngestReport, IngestSettings, format_interval, samples_dir
from store import KnowledgeBase, StoreError, StoreSettings, open_knowledge_base
from store.files import atomic_file
from store.text import format_day, printable

logger = logging.getLogger(__name__)
console = Console()
err_console = Console(stderr=True)


def shown(text: str) -> str:
    """Text from an article or a source, safe to print inside Rich markup: no markup of its own, no
    terminal escape sequences or control characters (an article could carry them)."""
    return escape(printable(text))


@dataclass
class AppContext:
    """What the commands share: settings, and the two services, each built on first use."""

    store_settings: StoreSettings
    ingest_settings: IngestSettings
    bot_settings: BotSettings
    _kb: KnowledgeBase | None = field(default=None, repr=False)
    _newsdesk: Newsdesk | None = field(default=None, repr=False)
    _ingestor: Ingestor | None = field(default=None, repr=False)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base, opened once."""
        if self._kb is None:
            self._kb = open_knowledge_base(self.store_settings)
        return self._kb

    @property
    def newsdesk(self) -> Newsdesk:
        """The answering service, built once."""
        if self._newsdesk is None:
            self._newsdesk = Newsdesk(self.kb, self.bot_settings)
        return self._newsdesk

    @property
    def ingestor(self) -> Ingestor:
        """The ingest service, built once; it opens the store only when it writes to it."""
        if self._ingestor is None:
            self._ingestor = Ingestor(
                lambda: self.kb, self.ingest_settings, data_dir=self.store_settings.data_dir
            )
        return self._ingestor

    def close(self) -> None:
        """Close what the commands opened."""
        if self._ingestor is not None:
            self._ingestor.close()
        if self._kb is not None:
            self._kb.close()


class NewsdeskGroup(click.Group):
    """A click group that turns the core's domain errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a StoreError becomes `Error: ...` and exit code 1."""
        try:
            return super().invoke(ctx)
        except (StoreError, InvalidQuestionError, UnknownAnswererError, FeedError) as error:
            raise click.ClickException(str(error)) from error


def configure_logging(verbose: int) -> None:
    """Log to stderr; httpx stays at WARNING because Bot API URLs carry the token."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    quiet = ("chromadb", "sentence_transformers", "transformers", "trafilatura")
    # Bot API URLs carry the token, and PTB's Bot loggers print them (and webhook secrets) in debug.
    secret_bearing = ("httpx", "httpcore", "telegram.Bot", "telegram.ext.ExtBot")
    for name in quiet:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for name in secret_bearing:
        logging.getLogger(name).setLevel(logging.WARNING)


@click.group(cls=NewsdeskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Store folder [env NEWSDESK_DATA_DIR, default ./data].",
)
@click.option(
    "--chroma-url",
    metavar="URL",
    help="Use a Chroma server instead of the embedded store [env NEWSDESK_CHROMA_URL].",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="newsdesk")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, chroma_url: str | None, verbose: int) -> None:
    """newsdesk: ask questions about news articles, get short answers with numbered citations."""
    configure_logging(verbose)
    console.soft_wrap = not console.is_terminal  # piped output keeps one line per line
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if chroma_url is not None:
        overrides["chroma_url"] = chroma_url
    app = AppContext(StoreSettings(**overrides), IngestSettings(), BotSettings())
    ctx.obj = app
    ctx.call_on_close(app.close)


pass_app = click.make_pass_decorator(AppContext)


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--samples", is_flag=True, help="Also ingest the sample articles bundled with newsdesk.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def ingest(app: AppContext, sources: tuple[str, ...], samples: bool, as_json: bool) -> None:
    """Add or update the articles in SOURCES: files, folders (.txt .md .html .json .jsonl) or page URLs.

    Unchanged articles are skipped without embedding; changed ones replace their old version.
    Exits with status 1 when any source failed (the others are still ingested).
    """
    sources = (*sources, *([str(samples_dir())] if samples else []))
    if not sources:
        raise click.UsageError("give at least one PATH, or --samples")
    report = _run_ingest(app, sources)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.option("--recent", default=5, show_default=True, help="How many of the newest articles to list.")
@pass_app
def stats(app: AppContext, recent: int) -> None:
    """Show what the store holds."""
    kb = app.kb
    numbers = kb.stats()
    span = f"{numbers.oldest} to {numbers.newest}" if numbers.oldest else "no dates"
    console.print(
        f"[bold]{numbers.articles}[/] articles, [bold]{numbers.chunks}[/] chunks, "
        f"{numbers.sources} outlets, published {span}\nstore: {numbers.location} "
        f"(lexical index: {numbers.lexical_chunks} chunks)"
    )
    if recent and numbers.articles:
        table = Table("id", "published", "outlet", "title", title="Newest articles")
        for record in kb.recent_articles(recent):
            table.add_row(
                shown(record.id),
                str(record.published_at or "-"),
                shown(record.source or "-"),
                shown(record.title),
            )
        console.print(table)


@cli.command()
@click.argument("article_ids", nargs=-1, required=True)
@pass_app
def forget(app: AppContext, article_ids: tuple[str, ...]) -> None:
    """Remove articles (and their chunks) by id; `newsdesk stats` lists ids."""
    removed, missing = app.ingestor.forget(article_ids)
    for article_id in removed:
        console.print(f"forgot {shown(article_id)}")
    if missing:
        raise click.ClickException(f"not in the store: {', '.join(missing)}")


@cli.command()
@pass_app
def reindex(app: AppContext) -> None:
    """Rebuild the lexical (BM25) index from the vector store, e.g. after losing the data dir."""
    console.print(f"lexical index rebuilt: {app.kb.reindex()} chunks")


@cli.group()
def feeds() -> None:
    """Follow RSS and Atom feeds: new and changed entries are fetched and ingested."""


@feeds.command("add")
@click.argument("url")
@click.option(
    "--every", default=None, help="Refresh interval, e.g. 30m, 2h, 1d [default NEWSDESK_FEED_EVERY, 30m]."
)
@pass_app
def feeds_add(app: AppContext, url: str, every: str | None) -> None:
    """Follow the feed at URL (run `newsdesk feeds refresh` or `newsdesk watch` to fetch it)."""
    feed = app.ingestor.follow(url, every)
    console.print(f"following {shown(feed.url)} every {format_interval(feed.every)}")


@feeds.command("list")
@pass_app
def feeds_list(app: AppContext) -> None:
    """List followed feeds with their last refresh."""
    followed = app.ingestor.feeds.list()
    if not followed:
        console.print("no feeds: add one with `newsdesk feeds add URL`")
        return
    for feed in followed:  # a line per feed, never a table cell: a URL must not be cut to fit
        title = f"[bold]{shown(feed.title)}[/] " if feed.title else ""
        console.print(f"{title}{shown(feed.url)}", highlight=False, soft_wrap=True)
        console.print(
            f"  every {format_interval(feed.every)}, last success {_when(feed.last_success)}, "
            f"{len(feed.seen)} entries seen"
            + (f", last error: {shown(feed.last_error)}" if feed.last_error else ""),
            highlight=False,
            soft_wrap=True,
        )


@feeds.command("remove")
@click.argument("url")
@pass_app
def feeds_remove(app: AppContext, url: str) -> None:
    """Stop following the feed at URL (its articles stay in the store)."""
    if not app.ingestor.unfollow(url):
        raise click.ClickException(f"not a followed feed: {url}")
    console.print(f"no longer following {shown(url)}")


@feeds.command("refresh")
@click.option("--due", is_flag=True, help="Only the feeds whose interval has passed.")
@pass_app
def feeds_refresh(app: AppContext, due: bool) -> None:
    """Fetch every feed now and ingest new and changed entries."""
    results, report = app.ingestor.refresh_feeds(only_due=due)
    _print_refresh(results, report)
    if not report.ok:
        sys.exit(1)


@cli.command()
@pass_app
def watch(app: AppContext) -> None:
    """Refresh feeds on their schedules until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    console.print(f"watching {len(app.ingestor.feeds.list())} feeds; Ctrl-C to stop")
    server = _monitoring(app)
    if server is not None:
        server.start()
        console.print(f"metrics on {server.url}/metrics, health on {server.url}/healthz")
    try:
        app.ingestor.watch(stop, on_refresh=_print_refresh)
    finally:
        if server is not None:
            server.stop()
    console.print("stopped")


def _print_refresh(results: list[FeedResult], report: IngestReport) -> None:
    for result in results:
        state = "unchanged" if result.not_modified else f"{len(result.articles)} new or changed entries"
        console.print(f"{shown(result.url)}: {state}", highlight=False)
    _print_report(report)


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "never"


@cli.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--k", "k", type=click.IntRange(1, 50), help="Chunks to retrieve [default NEWSDESK_TOP_K, 8].")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Answer as of this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer and citations as JSON.")
@pass_app
def ask(app: AppContext, question: tuple[str, ...], k: int | None, as_of: Any, as_json: bool) -> None:
    """Answer QUESTION from the articles, with numbered citations."""
    day = as_of.date() if as_of else None
    if as_json:
        answer = app.newsdesk.ask(" ".join(question), as_of=day, k=k)
    else:
        answer = ask_streaming(app.newsdesk, " ".join(question), as_of=day, k=k)
    if as_json:
        click.echo(json.dumps(answer.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_answer(answer)


@cli.command()
@click.option("--k", "k", type=click.IntRange(1, 50), help="Chunks to retrieve [default NEWSDESK_TOP_K, 8].")
@pass_app
def chat(app: AppContext, k: int | None) -> None:
    """Ask questions one after another (reads lines from stdin when it is not a terminal)."""
    interactive = sys.stdin.isatty()
    history: list[Turn] = []
    if interactive:
        with console.status("Loading the model…"):
            app.newsdesk.warm_up()
        console.print("[bold]newsdesk[/] — ask about the news in the store. Empty line or Ctrl-D to quit.")
    while True:
        try:
            line = console.input("[bold cyan]?[/] ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            break
        if not line or (interactive and not line.strip()):
            break
        if not line.strip():
            continue
        try:
            answer = ask_streaming(app.newsdesk, line, k=k, history=history)
        except InvalidQuestionError as error:
            err_console.print(f"[red]{error}[/]")
            continue
        print_answer(answer)
        history = app.newsdesk.remember(history, answer)


@cli.command()
@pass_app
def bot(app: AppContext) -> None:
    """Run the Telegram bot (needs TELEGRAM_BOT_TOKEN) until Ctrl-C or SIGTERM."""
    from bot.frontends import telegram

    if app.bot_settings.telegram_bot_token is None:
        raise click.ClickException("set TELEGRAM_BOT_TOKEN (from @BotFather) to run the Telegram bot")
    if app.kb.is_empty():
        logger.warning("the store is empty: run `newsdesk ingest PATH` or send the bot files as an admin")
    server = _monitoring(app, app.newsdesk)
    if server is not None:
        err_console.print(f"metrics on {server.url}/metrics, health on {server.url}/healthz")
    telegram.run(app.bot_settings, app.newsdesk, app.ingestor, app.store_settings.data_dir, server)


def _monitoring(app: AppContext, newsdesk: Newsdesk | None = None) -> MonitoringServer | None:
    """The /metrics and /healthz server NEWSDESK_METRICS_ADDR asks for (bound, not started)."""
    try:
        return monitoring(app.bot_settings, app.kb, app.ingestor, newsdesk)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


def ask_streaming(newsdesk: Newsdesk, question: str, **options: Any) -> Answer:
    """Ask, showing an LLM's draft as it is written (in a terminal); the verified answer replaces it."""
    if not console.is_terminal:
        return newsdesk.ask(question, **options)
    written: list[str] = []
    with Live(Text(style="dim"), console=console, transient=True, refresh_per_second=8) as live:

        def on_token(token: str) -> None:
            written.append(token)
            live.update(Text(printable(draft_text("".join(written))), style="dim"))

        return newsdesk.ask(question, on_token=on_token, **options)


def print_answer(answer: Answer) -> None:
    """An answer (its short answer highlighted first), then its numbered sources (or leads), readably."""
    if answer.short_answer:
        console.print(Text(printable(answer.short_answer), style="bold reverse"), highlight=False)
    console.print(printable(answer.text), highlight=False, markup=False)
    if answer.citations:
        console.print("\n[bold]Sources[/]")
    elif answer.leads:
        console.print("\n[bold]Closest articles[/]")
    for item in answer.citations or answer.leads:
        when = format_day(item.published_at) if item.published_at else "undated"
        line = f"[{item.n}] {item.source or 'unknown outlet'}, “{item.title}”, {when}"
        console.print(
            printable(line + (f"\n    {item.url}" if item.url else "")),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    console.print()


@cli.group(invoke_without_command=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Votes to list.")
@click.pass_context
def feedback(ctx: click.Context, limit: int) -> None:
    """Readers' 👍 / 👎 on the bot's answers: the latest votes and the share of 👍."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    store = FeedbackStore.in_data_dir(app.store_settings.data_dir)
    ctx.call_on_close(store.close)
    up, total = store.counts()
    if not total:
        console.print("no votes yet: readers vote with the 👍 / 👎 buttons under the bot's answers")
        return
    console.print(f"{total} votes, {up / total:.0%} 👍 ({up} 👍, {total - up} 👎)")
    for item in store.voted(limit):
        mark = "👍" if item.vote is Vote.UP else "👎"
        when = item.voted_at.astimezone().strftime("%Y-%m-%d %H:%M")
        answer = item.short_answer or (item.answer if item.found else "not found")
        console.print(f"{mark} {when}  {shown(item.question)}  →  {shown(answer)[:120]}", highlight=False)
        if item.comment:
            console.print(f"     comment: {shown(item.comment)}", highlight=False)


@feedback.command("export")
@click.option(
    "--eval",
    "eval_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the voted questions here, in the format `newsdesk eval` reads.",
)
@pass_app
def feedback_export(app: AppContext, eval_file: Path) -> None:
    """Turn votes into test questions: a 👍 becomes a question whose gold answer is the short answer
    and whose evidence is the cited articles (a 👍 on "not found" a null question); a 👎 a line
    marked for review (question_type "review"), which `newsdesk eval` skips until someone writes
    its gold answer and type."""
    store = FeedbackStore.in_data_dir(app.store_settings.data_dir)
    try:
        scored, review = export_questions(store, eval_file)
    finally:
        store.close()
    console.print(f"wrote {scored} questions and {review} for review to {shown(str(eval_file))}")


@cli.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    default="-",
    show_default=True,
    help="Write the export here (- for standard output); a file appears only once it is complete.",
)
@click.option(
    "--with-vectors",
    is_flag=True,
    help="Include every chunk's vectors, so an import into a store with the same model and chunk "
    "settings embeds nothing (about 3x larger).",
)
@pass_app
def export(app: AppContext, out: Path, with_vectors: bool) -> None:
    """Write the store and the data dir (articles, duplicates, feeds, follows, votes) as JSON lines.

    A backup, or the way to move to a Chroma server, another machine or another embedding model:
    `newsdesk import FILE` restores it into the configured store. Safe while the bot runs.
    """
    progress = _progress_bar(chunks=False)
    with progress:
        task = progress.add_task("Exporting articles", total=None)

        def run(stream: IO[str]) -> ExportCounts:
            return backup.export(
                app.kb,
                app.store_settings.data_dir,
                stream,
                app.ingest_settings,
                with_vectors=with_vectors,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )

        if str(out) == "-":
            counts = run(sys.stdout)
            sys.stdout.flush()
        else:
            with atomic_file(out) as stream:
                counts = run(stream)
    err_console.print(f"exported {counts.summary()}" + ("" if str(out) == "-" else f" to {shown(str(out))}"))


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path, allow_dash=True))
@click.option(
    "--with-vectors",
    is_flag=True,
    help="Use the export's vectors when it has them and was made with this model and chunk settings "
    "(else every article is embedded again).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def import_(app: AppContext, file: Path, with_vectors: bool, as_json: bool) -> None:
    """Restore an export (see `newsdesk export`) into the configured store and data dir.

    Articles already stored unchanged are skipped, so importing twice changes nothing, and an
    interrupted import is finished by running it again. Exits with status 1 when a record could not
    be restored or the file was cut off (the rest is still restored).
    """
    progress = _progress_bar(chunks=False)
    with progress, click.open_file(str(file), encoding="utf-8", errors="replace") as stream:
        task = progress.add_task("Importing articles", total=None)
        try:
            report = backup.import_(
                stream,
                "-" if str(file) == "-" else file.name,
                app.ingestor,
                app.store_settings.data_dir,
                with_vectors=with_vectors,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
                on_note=lambda note: err_console.print(f"[yellow]note[/] {shown(note)}", soft_wrap=True),
            )
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(
            json.dumps(
                report.articles.as_dict()
                | {
                    "restored": report.restored.as_dict(),
                    "vectors_used": report.vectors_used,
                    "complete": report.complete,
                    "import_failed": [{"source": f.origin, "reason": f.reason} for f in report.failed],
                },
                indent=2,
            )
        )
    else:
        _print_report(report.articles)
        console.print(
            f"also restored: {report.restored.summary(articles=False)}"
            + (" (the export's vectors were used: nothing embedded)" if report.vectors_used else "")
        )
        for failure in report.failed:
            console.print(f"[red]failed[/] {shown(failure.origin)}: {shown(failure.reason)}", highlight=False)
    if not report.ok:
        sys.exit(1)


@cli.command("eval")
@click.argument(
    "questions_file", metavar="QUESTIONS.jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="Ingest this corpus (a file or folder; repeat for more) first, into a store of its own under the "
    "data dir.",
)
@click.option("--k", "k", type=click.IntRange(1, 50), help="Chunks per answer [default NEWSDESK_TOP_K, 8].")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write one JSON line per question."
)
@click.option(
    "--hide-evidence",
    is_flag=True,
    help="Counterfactual run: ask each answerable question with the articles holding its answer hidden.",
)
@pass_app
def eval_(
    app: AppContext,
    questions_file: Path,
    corpus: tuple[Path, ...],
    k: int | None,
    limit: int | None,
    as_json: bool,
    out: Path | None,
    hide_evidence: bool,
) -> None:
    """Score retrieval, answers and abstention on QUESTIONS.jsonl (see docs/evaluation.md).

    With --hide-evidence, every answerable question is asked without its evidence articles and
    without any article containing its answer; "not found" is then the right reply, and the run
    reports the share of such questions declined (counterfactual abstention).
    """
    store: CorpusStore | None = None
    try:
        questions = load_questions(questions_file, limit=limit)
        with err_console.status("Preparing the store…") as status:
            if not corpus:
                newsdesk = app.newsdesk
            else:
                kb, store = open_corpus_store(
                    corpus,
                    app.store_settings,
                    app.ingest_settings,
                    on_progress=lambda done, _: status.update(f"Ingesting the corpus: {done} articles"),
                )
                click.get_current_context().call_on_close(kb.close)
                newsdesk = Newsdesk(kb, app.bot_settings)
            report = evaluate(
                newsdesk,
                questions,
                k=k,
                corpus=store,
                on_progress=lambda n, of: status.update(f"Question {n}/{of}"),
                hide_evidence=hide_evidence,
            )
    except EvalDataError as error:
        raise click.ClickException(str(error)) from error
    if out:
        write_results(report.results, out)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    if store is not None:
        console.print(store.summary(), highlight=False, soft_wrap=True)
    table = Table("metric", "value", "over", title=f"{report.metrics.questions} questions, k={report.k}")
    for row in report.rows():
        table.add_row(*row)
    console.print(table)


def _progress_bar(*, chunks: bool = True) -> Progress:
    """A bar of articles done (and chunks embedded) on the terminal's stderr; none when stderr is
    not a terminal."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *([TextColumn("{task.fields[chunks]} chunks")] if chunks else []),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )


def _run_ingest(app: AppContext, sources: Sequence[str]) -> IngestReport:
    progress = _progress_bar()
    with progress:
        task = progress.add_task("Reading sources", total=None, chunks=0)
        return app.ingestor.ingest(
            sources,
            on_loaded=lambda total: progress.update(task, total=total, description="Ingesting articles"),
            on_progress=lambda done, chunks: progress.update(task, completed=done, chunks=chunks),
        )


def _print_report(report: IngestReport) -> None:
    console.print(report.summary())
    for failure in report.failed:
        console.print(f"[red]failed[/] {shown(failure.origin)}: {shown(failure.reason)}", highlight=False)
    for label, notices in (("superseded", report.superseded), ("duplicate", report.duplicates)):
        for notice in notices:
            console.print(
                f"[yellow]{label}[/] {shown(notice.origin)}: {shown(notice.reason)}", highlight=False
            )
    for note in report.notes:
        console.print(f"[yellow]note[/] {shown(note.origin)}: {shown(note.note)}", highlight=False)
    if report.repaired_chunks:
        console.print(f"repaired: removed {report.repaired_chunks} chunks left by an interrupted ingest")


def main() -> None:
    """Entry point of the `newsdesk` console script."""
    cli(prog_name="newsdesk")
