"""Settings of the knowledge base, read from NEWSDESK_* variables and `.env`."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Where the store lives and which model embeds it."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder of the embedded store (and other state).")
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (`chroma run`); unset means an embedded store in data_dir."
    )
    chroma_token: SecretStr | None = Field(
        None,
        description="Token sent to the Chroma server as `Authorization: Bearer <token>` (for an "
        "authenticating proxy in front of `chroma run`, or Chroma's token auth).",
    )
    chroma_ca_bundle: Path | None = Field(
        None,
        description="PEM file of the certificate authorities trusted for an https:// NEWSDESK_CHROMA_URL; "
        "unset means the system's.",
    )
    collection: str = Field("newsdesk", description="Prefix of the Chroma collection names.")
    embedding_model: str | None = Field(
        None, description="Path of a sentence-transformers model; unset means the bundled all-MiniLM-L6-v2."
    )
    # Small batches keep a layer's activations (16 x 256 tokens x 1536 = 6.3M values) near the cache:
    # on 2 cores of a Xeon with AMX, 16 encodes 1.3x the chunks/s of 64 in bf16 and 1.1x in fp32.
    embedding_batch_size: int = Field(
        16, ge=1, le=1024, description="Texts per model.encode batch (16 is fastest on 2-core CPUs)."
    )
    embedding_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="Precision of the model's forward pass: bf16 where the CPU has AMX or AVX-512 BF16 "
        "(`auto`), else fp32; pooling and vectors are always fp32.",
    )
    lexical_sync_seconds: float = Field(
        60.0,
        ge=0,
        description="With a Chroma server: how often the local keyword index catches up with other "
        "writers (0: only when the store is opened).",
    )

    @property
    def chroma_path(self) -> Path:
        """Folder of the embedded Chroma database."""
        return self.data_dir / "chroma"
