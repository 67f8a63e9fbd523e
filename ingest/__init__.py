"""Turning sources (files, records, pages) into chunks in the knowledge base."""

from pathlib import Path

from ingest.chunking import Chunker
from ingest.config import IngestSettings
from ingest.errors import LoadError
from ingest.loaders import LoadFailure, load_file, load_paths
from ingest.pipeline import IngestReport, ingest_articles, ingest_paths, make_chunker

__all__ = [
    "Chunker",
    "IngestReport",
    "IngestSettings",
    "LoadError",
    "LoadFailure",
    "ingest_articles",
    "ingest_paths",
    "load_file",
    "load_paths",
    "make_chunker",
    "samples_dir",
]


def samples_dir() -> Path:
    """The folder of sample articles bundled with newsdesk."""
    return Path(__file__).parent / "samples"
