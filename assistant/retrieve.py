"""Hybrid retrieval: dense and BM25 prefetch fused by weighted RRF inside Qdrant."""

from __future__ import annotations

import unicodedata
from typing import Literal

from assistant.store import Hit, Store
from assistant.types import Passage, SearchFilters

Mode = Literal["hybrid", "dense", "sparse"]


def to_passage(hit: Hit) -> Passage:
    p = hit.payload
    return Passage(doc_id=p.get("doc_id", ""), title=p.get("title", ""), section=p.get("section", ""),
                   pages=list(p.get("pages") or []), text=p.get("text", ""), score=hit.score,
                   doc_type=p.get("doc_type", "other"), audience=p.get("audience", "public"),
                   chunk_no=int(p.get("chunk_no", 0)), is_record=bool(p.get("is_record")))


class Retriever:
    def __init__(self, store: Store, embedder, sparse, live_versions, weights: tuple[float, float] = (0.5, 1.0),
                 prefetch: int = 50) -> None:
        self.store, self.embedder, self.sparse = store, embedder, sparse
        self.live_versions = live_versions  # callable → {doc_id: version}
        self.weights, self.prefetch = weights, prefetch

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None,
               mode: Mode = "hybrid") -> list[Passage]:
        query = unicodedata.normalize("NFKC", query).strip()
        if not query:
            return []
        dense = self.embedder.embed_query(query) if mode in ("hybrid", "dense") else None
        sparse = self.sparse.encode_query(query) if mode in ("hybrid", "sparse") else None
        hits = self.store.query(dense, sparse, k, filters or SearchFilters(), self.live_versions(),
                                weights=self.weights, prefetch=self.prefetch)
        return [to_passage(h) for h in hits]
