"""BM25 sparse vectors over Japanese morphological tokens (`text.tokens.Tokenizer`).

Documents get BM25's term-frequency part; Qdrant's IDF modifier supplies the IDF, so the
sparse dot product is the BM25 score. Token ids are stable 32-bit hashes of the normalised form.
"""

from __future__ import annotations

import zlib
from collections import Counter

from assistant.text.tokens import Tokenizer


def token_id(token: str) -> int:
    """The sparse-vector index of a normalised token (also the key of the registry's term counts)."""
    return zlib.crc32(token.encode("utf-8"))


class SudachiBM25:
    def __init__(self, tokenizer: Tokenizer | None = None, k1: float = 1.2, b: float = 0.75,
                 avg_len: float = 120.0) -> None:
        self.tokenizer = tokenizer or Tokenizer()
        self.k1, self.b, self.avg_len = k1, b, avg_len

    def warm_up(self) -> None:
        self.tokenizer.warm_up()

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer.tokens(text)

    def encode(self, text: str) -> tuple[list[int], list[float]]:
        toks = self.tokens(text)
        tf = Counter(token_id(t) for t in toks)
        norm = self.k1 * (1 - self.b + self.b * len(toks) / self.avg_len)
        idx = sorted(tf)
        return idx, [tf[i] * (self.k1 + 1) / (tf[i] + norm) for i in idx]

    def encode_query(self, text: str) -> tuple[list[int], list[float]]:
        idx = sorted({token_id(t) for t in self.tokens(text)})
        return idx, [1.0] * len(idx)
