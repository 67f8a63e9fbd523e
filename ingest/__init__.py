"""Turning sources (files, records, pages, feeds) into chunks in the knowledge base.

`Ingestor` (ingest/service.py) is the one entry point the front ends call; the modules below it
load sources (`loaders`, `fetch`, `feeds`), cut them into chunks (`chunking`) and store them
(`pipeline`).
"""

from pathlib import Path

from ingest.chunking import Chunker
from ingest.config import IngestSettings
from ingest.errors import LoadError
from ingest.feeds import Feed, FeedError, FeedResult, FeedStore, format_interval, parse_interval
from ingest.fetch import Fetcher, FetchPolicy
from ingest.loaders import SUPPORTED_SUFFIXES, LoadFailure, LoadNote, load_file, load_paths
from ingest.pipeline import ArticleLimits, IngestReport, ingest_articles, make_chunker
from ingest.service import Ingestor

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ArticleLimits",
    "Chunker",
    "Feed",
    "FeedError",
    "FeedResult",
    "FeedStore",
    "FetchPolicy",
    "Fetcher",
    "IngestReport",
    "IngestSettings",
    "Ingestor",
    "LoadError",
    "LoadFailure",
    "LoadNote",
    "format_interval",
    "ingest_articles",
    "load_file",
    "load_paths",
    "make_chunker",
    "parse_interval",
    "samples_dir",
]


def samples_dir() -> Path:
    """The folder of sample articles bundled with newsdesk."""
    return Path(__file__).parent / "samples"
