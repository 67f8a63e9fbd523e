"""Settings of ingestion, read from NEWSDESK_* variables and `.env`."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    """How sources are chunked and which inputs are refused."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", env_file=".env", extra="ignore")

    chunk_tokens: int = Field(200, ge=32, le=256, description="Target word pieces per chunk (model max 256).")
    chunk_overlap: int = Field(
        40, ge=0, description="Word pieces of trailing sentences repeated in the next chunk."
    )
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused.")
    max_article_chars: int = Field(
        100_000, ge=1_000, description="Characters of one article's text stored; the rest is cut (noted)."
    )
    max_title_chars: int = Field(
        200, ge=20, le=500, description="Characters of a title; longer ones are cut."
    )
    max_article_chunks: int = Field(
        200, ge=1, description="Chunks stored per article; the rest are left out."
    )
    ingest_batch: int = Field(64, ge=1, description="Articles embedded and written per batch.")
    fetch_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a page or feed.")
    fetch_max_mb: float = Field(
        5.0, gt=0, description="Largest web page or feed read, fetched or from a file."
    )
    fetch_max_redirects: int = Field(5, ge=0, description="Redirects followed per URL.")
    fetch_host_delay: float = Field(1.0, ge=0, description="Seconds between requests to one host.")
    respect_robots: bool = Field(True, description="Obey robots.txt.")
    allow_private_urls: bool = Field(
        False, description="Allow private, loopback and link-local addresses (tests, intranets)."
    )
    feed_every: str = Field("30m", description="Default refresh interval of a new feed.")
    feed_max_new: int = Field(
        50, ge=1, description="New or changed entries fetched per feed and refresh (the rest next time)."
    )
    feed_seen_days: int = Field(
        90, ge=1, description="Days an entry gone from its feed is remembered (so it is not fetched again)."
    )
    fetch_workers: int = Field(4, ge=1, le=32, description="Hosts fetched at once (one at a time per host).")
