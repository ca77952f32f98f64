"""How well passages cover a question: IDF-weighted share of the question's content words.

Used to decide when the documents do not cover a question (abstain rather than guess), and to
pick the sentences that answer it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# question words and generic nouns that say nothing about the subject
_GENERIC = {
    "何", "なに", "なん", "いくつ", "いくら", "どの", "どれ", "どこ", "どう", "どんな", "どのよう", "いつ", "誰", "だれ",
    "くらい", "ぐらい", "程度", "教える", "ください", "こと", "もの", "ため", "よう", "場合", "について", "方",
    "時点", "現在", "どなた", "何故", "なぜ", "こちら", "それ", "その", "これ", "この", "あれ",
    "what", "which", "how", "when", "who", "where", "why", "the", "a", "an", "of", "in", "to", "is", "are", "was",
    "were", "be", "and", "or", "for", "on", "at", "by", "with", "according", "does", "do", "did", "much", "many",
    # normalised forms of question words and light nouns
    "幾ら", "幾つ", "何処", "如何", "何時", "何れ", "為", "事", "物", "様", "所", "等", "的", "さん", "位",
    "中", "上", "内", "際", "時", "頃", "方々", "皆様", "以上", "以下", "場所", "内容", "関係", "一", "全体",
}
_CONTENT_POS = {"名詞", "形状詞", "接尾辞"}
# words that say where or in what form something is written rather than what: they count a quarter
_META = {"パブリックコメント", "パブコメ", "意見", "回答", "考え方", "国", "市", "県", "町", "村", "計画", "資料", "記載",
         "文書", "表現", "質問", "説明", "内容", "書く", "plan", "document"}
_SENT_SPLIT = re.compile(r"(?<=[。！？!?])|\n")


@dataclass
class QueryTerms:
    tokens: list[str]
    weights: dict[str, float]  # token → IDF weight

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0


def content_tokens(bm25, text: str) -> list[str]:
    """Nouns (and other content words) of `text`, normalised, without question words."""
    bm25.warm_up()
    text = unicodedata.normalize("NFKC", text)
    out = []
    with bm25._lock:
        for m in bm25._tok.tokenize(text[:4000], bm25._mode):
            pos = m.part_of_speech()
            if pos[0] not in _CONTENT_POS:
                continue
            form = m.normalized_form().lower()
            if m.surface().lower() in _GENERIC:
                continue
            if form.startswith(("何", "幾")) and len(form) <= 6:
                continue  # 何度, 何名, 何パーセント: the question's unknown, not its subject
            if form.strip() and form not in _GENERIC and not re.fullmatch(r"[\W_]+", form):
                out.append(form)
    return list(dict.fromkeys(out))


@dataclass
class QueryTermsWithNames(QueryTerms):
    names: list[str] = field(default_factory=list)  # proper nouns the question is about


def query_terms(bm25, registry, question: str) -> QueryTerms:
    tokens = content_tokens(bm25, question)
    ids = {t: bm25._index(t) for t in tokens}
    idf = registry.idf(list(ids.values())) if ids else {}
    weights = {t: idf.get(i, 1.0) * (0.25 if t in _META else 1.0) for t, i in ids.items()}
    return QueryTermsWithNames(tokens, weights, names=place_names(bm25, question))


def coverage(terms: QueryTerms, text: str, text_tokens: set[str] | None = None) -> float:
    """IDF-weighted share of the question's content words found in `text`. A text that lacks a
    place the question names (another city) counts half; one that lacks the question's most
    specific word (highest IDF: 趣味 in 「市長の趣味」) counts 0.6."""
    if not terms.tokens:
        return 0.0
    norm = unicodedata.normalize("NFKC", text).lower()
    got = sum(w for t, w in terms.weights.items() if t in norm or (text_tokens is not None and t in text_tokens))
    names = getattr(terms, "names", [])
    missing_name = any(unicodedata.normalize("NFKC", n).lower() not in norm for n in names)
    top = max(terms.weights, key=lambda t: terms.weights[t])
    missing_top = not (top in norm or (text_tokens is not None and top in text_tokens))
    return got / terms.total * (0.5 if missing_name else 1.0) * (0.6 if missing_top else 1.0)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text) if s and s.strip()]


def _proper_nouns(bm25, text: str, kind: str | None = None) -> list[str]:
    bm25.warm_up()
    with bm25._lock:
        morphemes = bm25._tok.tokenize(unicodedata.normalize("NFKC", text)[:4000], bm25._mode)
        return [m.surface() for m in morphemes
                if m.part_of_speech()[1] == "固有名詞" and (kind is None or m.part_of_speech()[2] == kind)]


def proper_nouns(bm25, text: str) -> list[str]:
    """Proper nouns (固有名詞) in `text`, as written: each must appear in a cited passage."""
    return _proper_nouns(bm25, text)


def place_names(bm25, text: str) -> list[str]:
    """Place names (固有名詞・地名) in `text`: a passage about another place does not answer."""
    return _proper_nouns(bm25, text, "地名")
