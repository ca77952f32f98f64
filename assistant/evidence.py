"""How well a text covers a question or a statement: the IDF-weighted share of its content words.

The one coverage scorer. Answers use it to decide when the documents do not cover a question
(abstain rather than guess) and to pick the sentences that answer it; the draft check uses it to
find the sentences that speak of a statement's subject; where-covered uses it to rank sections.
IDF comes from the index's own term counts (`Registry.idf`), so a word common in the documents
weighs little.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from assistant.sparse import token_id
from assistant.text.numerals import plain
from assistant.text.tokens import Tokenizer
from assistant.text.wordlists import META_WORDS

META_WEIGHT = 0.25  # a word about where something is written (計画, 資料) counts this much
# A passage that lacks a place the question names (another city) counts half; one that lacks the
# question's most specific word (highest IDF: 趣味 in 「市長の趣味」) 0.6. Set on the first 18
# development questions together with the former abstention threshold.
OTHER_PLACE_FACTOR = 0.5
MISSING_TOP_WORD_FACTOR = 0.6
TOKEN_CACHE_LIMIT = 200_000  # texts whose tokens one WordWeights keeps (a long draft check)


class TermStatistics(Protocol):
    def idf(self, tokens: list[int]) -> dict[int, float]: ...


class WordWeights:
    """Content words of texts and their IDF weights, both cached (one question, or one check run)."""

    def __init__(self, tokenizer: Tokenizer, stats: TermStatistics) -> None:
        self.tokenizer, self.stats = tokenizer, stats
        self._idf: dict[str, float] = {}
        self._tokens: dict[str, frozenset[str]] = {}

    def tokens(self, text: str) -> frozenset[str]:
        got = self._tokens.get(text)
        if got is None:
            got = frozenset(self.tokenizer.content_tokens(text))
            if len(self._tokens) < TOKEN_CACHE_LIMIT:
                self._tokens[text] = got
        return got

    def weights(self, tokens: Iterable[str]) -> dict[str, float]:
        tokens = list(tokens)
        todo = [t for t in tokens if t not in self._idf]
        if todo:
            ids = {t: token_id(t) for t in todo}
            idf = self.stats.idf(list(ids.values()))
            for t, i in ids.items():
                self._idf[t] = idf.get(i, 1.0)
        return {t: self._idf[t] for t in tokens}


def cover(weights: dict[str, float], text: str, tokens: frozenset[str] | set[str] = frozenset()) -> float:
    """IDF-weighted share of the weighted words found in `text` (plain form) or among its `tokens`."""
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(w for t, w in weights.items() if t in tokens or t in text) / total


@dataclass
class QueryTerms:
    tokens: list[str]
    weights: dict[str, float]  # token → IDF weight (meta words down-weighted)
    names: list[str] = field(default_factory=list)  # places the question is about

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0


def query_terms(words: WordWeights, question: str) -> QueryTerms:
    tokens = list(words.tokenizer.content_tokens(question))
    idf = words.weights(tokens)
    weights = {t: idf[t] * (META_WEIGHT if t in META_WORDS else 1.0) for t in tokens}
    return QueryTerms(tokens, weights, names=words.tokenizer.place_names(question))


def coverage(terms: QueryTerms, text: str, text_tokens: frozenset[str] | set[str] = frozenset()) -> float:
    """How well `text` covers a question: `cover` of its words, lowered when the text lacks a
    place the question names or the question's most specific word."""
    if not terms.tokens:
        return 0.0
    norm = plain(text)
    share = cover(terms.weights, norm, text_tokens)
    missing_name = any(plain(n) not in norm for n in terms.names)
    top = max(terms.weights, key=lambda t: terms.weights[t])
    missing_top = not (top in norm or top in text_tokens)
    return share * (OTHER_PLACE_FACTOR if missing_name else 1.0) * (MISSING_TOP_WORD_FACTOR if missing_top else 1.0)
