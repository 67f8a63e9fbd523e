"""Turning sources (files, records, pages) into chunks in the knowledge base."""

from pathlib import Path

from ingest.chunking import Chunker
from ingest.config import IngestSettings
from ingest.errors import LoadError
from ingest.feeds import FeedError, FeedResult, FeedStore, parse_interval
from ingest.fetch import Fetcher, FetchPolicy
from ingest.loaders import LoadFailure, load_file, load_paths
from ingest.pipeline import (
    IngestReport,
    ingest_articles,
    ingest_feeds,
    ingest_paths,
    ingest_urls,
    make_chunker,
)

__all__ = [
    "Chunker",
    "FeedError",
    "FeedResult",
    "FeedStore",
    "FetchPolicy",
    "Fetcher",
    "IngestReport",
    "IngestSettings",
    "LoadError",
    "LoadFailure",
    "ingest_articles",
    "ingest_feeds",
    "ingest_paths",
    "ingest_urls",
    "load_file",
    "load_paths",
    "make_chunker",
    "parse_interval",
    "samples_dir",
]


def samples_dir() -> Path:
    """The folder of sample articles bundled with newsdesk."""
    return Path(__file__).parent / "samples"
