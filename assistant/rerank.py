"""A fitted reranker over the fused candidates: finds the passage, not only the document.

The hybrid search (`assistant.retrieve`) ranks by two numbers, the normalised BM25 and dense
scores. It finds the right document but often ranks the passage that answers 7th–10th behind
passages that merely share the question's words. This module re-orders the best `depth` fused
candidates by a linear model over features a reader would use:

- the fusion's own evidence: fused score and rank, the BM25 and dense scores (normalised in
  their lists), the raw cosine similarity;
- how much of the question the passage covers (IDF-weighted content words, `assistant.evidence`),
  its title and section path alone, its most specific word, the question's character bigrams;
- whether the passage holds the kind of answer asked for (a number, a time, the asked unit:
  「何人」→ 人, 「いくら」→ 円), and states the numbers the question states;
- its context: how strong its document is among the candidates, whether a neighbouring chunk is
  also a candidate, whether it is a table row and how many rows of its table rank above it;
- a place the question names that the passage and its title lack; whether the passage's document is
  the issuer the question names or implies (「佐久市の…」, 「村の…」, 「国は…」: assistant.text.issuers),
  or another one.

The weights are fitted on the `tune` development questions by `plan-assistant eval fit-rerank`
(eval/fit_rerank.py: pairwise logistic loss, answer passage against every other candidate of its
question, cross-validated by question) and live in `rerank_model.json` beside this module with the
figures the fit gave. Candidates below `depth` keep the fused order after the re-ordered ones.
An English question is weighed by the Japanese terms searched beside it (its dictionary rendering, and its
figures): on the tune split's 106 English questions and renderings (eval/english_cases.py) hit@1 20 → 25,
hit@5 40 → 44 against the fused order (the model is the Japanese questions' one, not refitted).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.answer import is_english
from assistant.config import RERANK_MODEL as MODEL_PATH
from assistant.covered import ASKS_NUMBER, ASKS_WHEN, TIME, asked_unit_found
from assistant.evidence import TermStatistics, WordWeights, cover, coverage, query_terms
from assistant.store import Hit
from assistant.text.english import japanese_part
from assistant.text.facts import canonical_tokens
from assistant.text.issuers import asked_issuer
from assistant.text.numerals import plain
from assistant.text.tokens import Tokenizer

FEATURES = ("fused", "log_rank", "sparse", "dense", "cosine", "cover", "head_cover", "top_word", "bigrams",
            "asked_type", "asked_unit", "stated_numbers", "doc_best", "doc_share", "neighbour", "is_record",
            "rows_above", "log_chars", "place_missing", "issuer_match", "issuer_other")
TEXT_CACHE = 50_000  # passage texts whose words and numbers one reranker keeps (a corpus has ~4k chunks)


@dataclass
class Candidate:
    """One fused candidate with the scores the fusion saw."""
    hit: Hit
    fused: float  # the fused score (weighted sum of normalised scores)
    sparse: float  # BM25 score min-max normalised in its list (0: not in the BM25 list)
    dense: float  # dense score min-max normalised in its list (0: not in the dense list)
    cosine: float  # the dense list's raw similarity (0: not in it)


@dataclass(frozen=True)
class _Read:
    tokens: frozenset[str]  # content words (title, section and text)
    norm: str  # title, section and text in plain form
    numbers: set[str]  # the text's numbers and dates, canonical (assistant.text.facts)
    bigrams: set[str]  # character bigrams of `norm`


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1) if text[i].isalnum() and text[i + 1].isalnum()}


def _table_key(payload: dict) -> tuple[str, str]:
    section = payload.get("section", "")
    return payload.get("doc_id", ""), section.rsplit(" > ", 1)[0] if " > " in section else ""


class RerankModel:
    """The fitted linear model: standardised features · weights; `depth` candidates are re-ordered."""

    def __init__(self, weights: dict[str, float], mean: dict[str, float], scale: dict[str, float], depth: int,
                 fit: dict | None = None) -> None:
        self.weights, self.mean, self.scale, self.depth, self.fit = weights, mean, scale, depth, fit or {}

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> RerankModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["mean"], data["scale"], int(data["depth"]), data.get("fit"))

    def score(self, x: dict[str, float]) -> float:
        return sum(w * (x[f] - self.mean[f]) / self.scale[f] for f, w in self.weights.items())


class Reranker:
    """Features of fused candidates for a query, and their order under a `RerankModel`."""

    def __init__(self, tokenizer: Tokenizer, stats: TermStatistics, model: RerankModel | None,
                 issuers: Callable[[], dict[str, str]] | None = None) -> None:
        self.tokenizer, self.stats, self.model = tokenizer, stats, model
        self.issuers = issuers  # doc_id → issuer (Registry.issuers); None: unknown
        self._texts: dict[str, _Read] = {}
        self._lock = threading.Lock()

    def _read(self, words: WordWeights, whole: str, text: str) -> _Read:
        """What the features need of a passage's text, kept across queries (passages recur)."""
        with self._lock:
            got = self._texts.get(whole)
        if got is None:
            norm = plain(whole)
            got = _Read(words.tokens(whole), norm, canonical_tokens(text), _bigrams(norm))
            with self._lock:
                if len(self._texts) < TEXT_CACHE:
                    self._texts[whole] = got
        return got

    def features(self, query: str, candidates: list[Candidate]) -> list[dict[str, float]] | None:
        """One feature dict per candidate, or None when the query has no content words to weigh."""
        if is_english(query):
            query = japanese_part(query)  # the terms searched beside an English question
        if not query or not candidates:
            return None
        words = WordWeights(self.tokenizer, self.stats)
        terms = query_terms(words, query)
        if not terms.tokens:
            return None
        top_word = max(terms.weights, key=lambda t: terms.weights[t])
        q_grams = _bigrams(plain(query))
        wants_number, wants_time = bool(ASKS_NUMBER.search(query)), bool(ASKS_WHEN.search(query))
        asked_numbers = canonical_tokens(query)
        asked = asked_issuer(self.tokenizer, query)
        issuers = self.issuers() if self.issuers is not None and asked else {}
        best_fused = max(c.fused for c in candidates) or 1.0
        doc_best: dict[str, float] = {}
        doc_count: dict[str, int] = {}
        present = set()
        for c in candidates:
            doc = c.hit.payload.get("doc_id", "")
            doc_best[doc] = max(doc_best.get(doc, 0.0), c.fused)
            doc_count[doc] = doc_count.get(doc, 0) + 1
            present.add((doc, int(c.hit.payload.get("chunk_no", 0))))
        rows_seen: dict[tuple[str, str], int] = {}
        out = []
        for rank, c in enumerate(candidates):
            p = c.hit.payload
            doc, no = p.get("doc_id", ""), int(p.get("chunk_no", 0))
            title, section, text = p.get("title", ""), p.get("section", ""), p.get("text", "")
            whole = title + "\n" + section + "\n" + text
            read = self._read(words, whole, text)
            toks, norm, numbers = read.tokens, read.norm, read.numbers
            new_numbers = bool(numbers - asked_numbers)
            found_type = (not wants_number or new_numbers) and (not wants_time or (new_numbers and TIME.search(text)))
            rows_above = 0
            if p.get("is_record"):
                key = _table_key(p)
                rows_above = rows_seen.get(key, 0)
                rows_seen[key] = rows_above + 1
            out.append({
                "fused": c.fused / best_fused,
                "log_rank": math.log1p(rank),
                "sparse": c.sparse,
                "dense": c.dense,
                "cosine": c.cosine,
                "cover": coverage(terms, whole, toks),
                "head_cover": cover(terms.weights, plain(title + section)),
                "top_word": float(top_word in norm or top_word in toks),
                "bigrams": len(q_grams & read.bigrams) / len(q_grams) if q_grams else 0.0,
                "asked_type": float(bool(found_type)) if (wants_number or wants_time) else 1.0,
                # the figure as written only: every row of a table has bare numbers under its column labels,
                # so counting those made the feature blind among rows (cross-validated on tune at depth 60,
                # l2 .01: hit@1 .750 → .740, MRR .798 → .791); the sentence-level models do count them
                "asked_unit": asked_unit_found(query, [text], columns=False),
                "stated_numbers": len(asked_numbers & numbers) / len(asked_numbers) if asked_numbers else 1.0,
                "doc_best": doc_best[doc] / best_fused,
                "doc_share": doc_count[doc] / len(candidates),
                "neighbour": float((doc, no - 1) in present or (doc, no + 1) in present),
                "is_record": float(bool(p.get("is_record"))),
                "rows_above": math.log1p(rows_above),
                "log_chars": math.log1p(len(text)),
                "place_missing": float(any(plain(n) not in norm for n in terms.names)),
                "issuer_match": float(asked.matches(issuers.get(doc, "")) is True),
                "issuer_other": float(asked.matches(issuers.get(doc, "")) is False),
            })
        return out

    def rerank(self, query: str, candidates: list[Candidate]) -> list[Candidate] | None:
        """The first `depth` candidates in the model's order, then the rest as fused; None without a model
        or when the query has no content words (the caller keeps its own order)."""
        if self.model is None:
            return None
        head, tail = candidates[:self.model.depth], candidates[self.model.depth:]
        rows = self.features(query, head)
        if rows is None:
            return None
        scores = [self.model.score(x) for x in rows]
        order = sorted(range(len(head)), key=lambda i: -scores[i])
        return [head[i] for i in order] + tail
