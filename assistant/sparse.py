"""BM25 sparse vectors over Japanese morphological tokens (SudachiPy, mode C, normalised forms).

Documents get BM25's term-frequency part; Qdrant's IDF modifier supplies the IDF, so the
sparse dot product is the BM25 score. Token ids are stable 32-bit hashes of the normalised form.
"""

from __future__ import annotations

import threading
import unicodedata
import zlib
from collections import Counter

_DROP_POS = {"助詞", "助動詞", "補助記号", "空白"}


class SudachiBM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_len: float = 120.0) -> None:
        self.k1, self.b, self.avg_len = k1, b, avg_len
        self._tok = None
        self._mode = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._tok is None:
            from sudachipy import Dictionary, SplitMode

            self._tok = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
            self._mode = SplitMode.C

    def tokens(self, text: str) -> list[str]:
        self.warm_up()
        text = unicodedata.normalize("NFKC", text)
        out: list[str] = []
        with self._lock:
            # sudachi refuses inputs over ~49k bytes: feed it in slices
            for start in range(0, len(text), 4000):
                for m in self._tok.tokenize(text[start:start + 4000], self._mode):
                    if m.part_of_speech()[0] in _DROP_POS:
                        continue
                    form = m.normalized_form().lower()
                    if form.strip():
                        out.append(form)
        return out

    @staticmethod
    def _index(token: str) -> int:
        return zlib.crc32(token.encode("utf-8"))

    def encode(self, text: str) -> tuple[list[int], list[float]]:
        toks = self.tokens(text)
        tf = Counter(self._index(t) for t in toks)
        norm = self.k1 * (1 - self.b + self.b * len(toks) / self.avg_len)
        idx = sorted(tf)
        return idx, [tf[i] * (self.k1 + 1) / (tf[i] + norm) for i in idx]

    def encode_query(self, text: str) -> tuple[list[int], list[float]]:
        idx = sorted({self._index(t) for t in self.tokens(text)})
        return idx, [1.0] * len(idx)
