"""What the benchmark scripts share: where the dev set lives, option types and the run-and-print `main`.

Each script is run as `python benchmarks/NAME.py`, which puts this folder on the import path.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from store import StoreSettings
from store.embeddings import resolve_precision

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"
SHARED_EVAL = SHARED_DIR / "eval"
"""The development set (../shared/eval), outside the repo."""


def folder_bytes(path: Path) -> int:
    """Bytes of every file under a folder."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def positive(text: str) -> int:
    """An integer of at least 1, for options such as --limit and --k."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parser(
    description: str | None,
    *,
    questions: bool = True,
    data_dir: str = "Data dir [NEWSDESK_DATA_DIR, ./data].",
) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes: --corpus, --data-dir, --json
    (and --questions)."""
    parser = argparse.ArgumentParser(description=(description or "").splitlines()[0])
    if questions:
        parser.add_argument(
            "--questions", type=Path, default=SHARED_EVAL / "dev.jsonl", help="Questions (JSONL)."
        )
    parser.add_argument(
        "--corpus", type=Path, default=SHARED_EVAL / "dev_corpus.jsonl", help="Corpus (JSONL)."
    )
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help=data_dir)
    parser.add_argument("--json", action="store_true", help="Print the numbers as JSON.")
    return parser


def skipped(paths: Sequence[Path], as_json: bool) -> bool:
    """Print a skip message and say True when an input file is missing (the dev set is optional)."""
    missing = [path for path in paths if not path.is_file()]
    if missing:
        message = f"skipped: {missing[0]} not found"
        print(json.dumps({"skipped": message}) if as_json else message)
    return bool(missing)


def report(result: Any, table: Callable[[Any], str], as_json: bool) -> None:
    """Print a benchmark's result dataclass as a table, or as JSON."""
    assert is_dataclass(result) and not isinstance(result, type)
    print(json.dumps(asdict(result), indent=2) if as_json else table(result))


def command_line() -> str:
    """The command that ran this benchmark, for its report."""
    return shlex.join([sys.executable, *sys.argv])


@dataclass(frozen=True)
class Run:
    """What every benchmark's result starts with: the command, when, on how many CPUs, over which corpus."""

    command: str
    date: str
    cpus: int
    corpus: str
    precision: str
    """The embedding model's forward-pass precision (`NEWSDESK_EMBEDDING_PRECISION` resolved)."""


def this_run(corpus: Path) -> dict[str, Any]:
    """The `Run` fields of the benchmark running now, as keyword arguments for its result."""
    return {
        "command": command_line(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count() or 0,
        "corpus": str(corpus),
        "precision": resolve_precision(StoreSettings().embedding_precision),
    }
