"""Same subject or not: whether an evidence candidate (a sentence, list item or table row of a
retrieved passage) speaks of what a draft statement speaks of, as a probability from a logistic
model fitted on the `tune` development statements (not hand weights).

The features: the IDF-weighted share of the statement's subject words (its content words less its
values, `values.subject_tokens`) the candidate covers alone, with its document title, with the
sentence before and with its whole context (section path, table header); the share of all the
statement's words; its most specific word; character bigrams shared (alone and with context); the
share of the statement's figures the candidate has no figure of the same kind and unit for (what
the values are is for `check.compare`: a figure that happens to be equal makes no sentence more
on the subject); roles and departments on both sides; a place the statement names (another
municipality) and a document it names (「…地域公共交通計画の計画期間は」) missing from the candidate,
its title and context; how foreign to the statement the label of a row or item is (its first cell,
「③学校用:」); whether one speaks of a target (目標, …までに) and the other not; and where the
candidate's passage came in the retrieval (its rank, the top document, the share of retrieved
passages from its document).

The weights, the standardisation and the operating point (the probability a candidate needs to be
evidence at all: a statement none of whose candidates reach it is unsupported; the lead a
contradicting candidate needs over a confirming one; and the probability that confirms a statement
without values) are in `subject_model.json` beside this module, written by
`plan-assistant eval fit-subject CASES` (eval/fit_subject.py) with the figures the fit gave.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.check.candidates import Candidate
from assistant.check.values import Values, subject_tokens
from assistant.evidence import WordWeights, cover
from assistant.fitted import LogisticModel
from assistant.text.facts import KANJI, KATAKANA, compatible
from assistant.text.numerals import plain

MODEL_PATH = Path(__file__).with_name("subject_model.json")
FEATURES = ("own", "with_title", "with_previous", "with_context", "full", "top_word", "bigrams",
            "bigrams_context", "kinds_missing", "roles", "row", "rank", "top_doc", "doc_share",
            "target_differs", "log_chars", "place_missing", "label_foreign", "document_missing", "section_foreign")
MIN_DOCUMENT_CHARS = 4  # 「地域計画」 names a document; 「計画」 alone does not
_GRAM_RUN = re.compile(rf"[{KANJI}{KATAKANA}A-Za-z0-9]+")
# A statement of a target or a deadline (目標, 目指す, …まで(に)) is compared with sentences of one
# what a table row or a list item is about: its first cell, or the words before its colon (「③学校用:…」)
_LABEL = re.compile(r"^[^:：/]{1,20}?(?=\s*[:：/])")
_WORD_RUN = re.compile(rf"[{KANJI}{KATAKANA}A-Za-z]+")
# a document the statement names (「みどり野市地域公共交通計画の計画期間は…」), not itself (本計画)
_DOCUMENT = re.compile(rf"[{KANJI}{KATAKANA}A-Za-z0-9・]{{2,}}?(?:計画|戦略|ビジョン|方針|条例|構想|指針|プラン|要綱|規則)")
_UP_TO_A_NUMBER = re.compile(r"^.*[0-9]")
_MUNICIPALITY = re.compile(r"(?<=.)[都道府県市町村区]")
_SELF = re.compile(r"^(?:本|当|同|各|現行|上位|関連|個別|当該|次期)")
_PLACE_SUFFIX = re.compile(r"(?<=..)[都道府県市町村区]$")  # 佐久市 is also written 佐久
_TARGET = re.compile(r"目標|目指|めざ|まで(?:に|を)|見込|計画値|推計")


def named_documents(plain_text: str) -> list[str]:
    """The documents a plain text names (「みどり野市地域公共交通計画」 → 地域公共交通計画), not itself (本計画)."""
    documents = []
    for m in _DOCUMENT.finditer(plain_text):
        # without what a number says in front (「令和2年12月20日条例」 is a date, 「第2期…戦略」 a term) and
        # without the municipality (みどり野市地域公共交通計画 → 地域公共交通計画)
        name = _UP_TO_A_NUMBER.sub("", m[0])
        local = _MUNICIPALITY.split(name)[-1]
        name = local if len(local) >= MIN_DOCUMENT_CHARS else name
        if len(name) >= MIN_DOCUMENT_CHARS and not _SELF.match(name):
            documents.append(name)
    return documents


def names_another_document(s: Subject, c: Candidate) -> bool:
    """The candidate itself names a document that is none of those the statement names (and names none of
    them): 「第2期…総合戦略の計画期間」 for a statement about the 後期基本計画 speaks of another plan. A name
    inside another counts as the same document (基本計画 in a table of the 後期基本計画)."""
    if not s.documents or any(d in c.plain for d in s.documents):
        return False
    return any(not any(n in d or d in n for d in s.documents) for n in named_documents(c.plain))


def bigrams(text: str) -> set[str]:
    """Character bigrams of the runs of kanji, katakana, letters and digits of a plain text."""
    return {r[i : i + 2] for r in _GRAM_RUN.findall(text) for i in range(len(r) - 1)}


@dataclass
class Subject:
    """A statement as the features read it (computed once per statement)."""

    weights: dict[str, float]  # subject words → IDF
    full_weights: dict[str, float]  # all its content words → IDF
    values: Values
    grams: set[str]
    top: str  # its most specific subject word
    target: bool
    places: list[str]  # the places it names, plain, without 市/町/村 (佐久市 → 佐久)
    documents: list[str]  # the documents it names, plain, without the municipality in front

    @classmethod
    def of(cls, plain_text: str, weights: dict[str, float], full_weights: dict[str, float],
           values: Values, places: list[str]) -> Subject:
        top = max(weights, key=lambda t: weights[t]) if weights else ""
        names = [(n, _PLACE_SUFFIX.sub("", n)) for n in map(plain, places)]
        return cls(weights, full_weights, values, bigrams(plain_text), top, bool(_TARGET.search(plain_text)),
                   [short or n for n, short in names], named_documents(plain_text))

    @classmethod
    def read(cls, text: str, values: Values, words: WordWeights) -> Subject | None:
        """A statement's subject from its text (subject words, all words, places), or None when it has
        no subject word or no weighed word at all (a heading, a fragment)."""
        weights = words.weights(subject_tokens(words, text, values))
        full_weights = words.weights(words.tokens(text))
        if not weights or sum(full_weights.values()) == 0:
            return None
        return cls.of(plain(text), weights, full_weights, values, words.tokenizer.place_names(text))


@dataclass
class Retrieval:
    """Where a candidate's passage came in the statement's retrieval."""

    rank: int  # 0 = the best passage
    top_doc: bool  # its document is the best passage's
    doc_share: float  # share of the retrieved passages from its document


def features(s: Subject, c: Candidate, r: Retrieval) -> dict[str, float]:
    """One candidate against one statement as numbers (see the module docstring)."""
    own_tokens = c.tokens | c.title_tokens
    facts = [f for f in s.values.facts if f.kind != "ordinal"]
    theirs = c.values.facts
    missing = sum(not any(compatible(f, g) for g in theirs) for f in facts)
    roles = 0.0
    if s.values.roles or s.values.departments:
        names = {x.role for x in s.values.roles}
        has = any(x.role in names for x in c.values.roles) or bool(s.values.departments and c.values.departments)
        roles = 1.0 if has else -1.0
    in_context = c.plain + c.context
    return {
        "own": cover(s.weights, c.plain, c.tokens),
        "with_title": cover(s.weights, c.title + c.plain, own_tokens),
        "with_previous": cover(s.weights, c.title + c.previous + c.plain, own_tokens | c.previous_tokens),
        "with_context": cover(s.weights, in_context, c.tokens | c.context_tokens),
        "full": cover(s.full_weights, c.plain, c.tokens),
        "top_word": float(bool(s.top) and (s.top in c.plain or s.top in c.tokens)),
        "bigrams": _share(s.grams, c.plain),
        "bigrams_context": _share(s.grams, in_context),
        "kinds_missing": missing / len(facts) if facts else 0.0,
        "roles": roles,
        "row": float(c.kind == "row"),
        "rank": 1.0 / (1.0 + r.rank),
        "top_doc": float(r.top_doc),
        "doc_share": r.doc_share,
        "target_differs": float(s.target != bool(_TARGET.search(c.plain))),
        "log_chars": math.log1p(len(c.plain)),
        "label_foreign": _foreign(s.grams, c.plain) if c.kind in ("row", "item") else 0.0,
        "document_missing": (sum(d not in c.title + in_context for d in s.documents) / len(s.documents)
                             if s.documents else 0.0),
        "place_missing": sum(n not in c.title + in_context for n in s.places) / len(s.places) if s.places else 0.0,
        "section_foreign": _section_foreign(s.grams, c.passage.section),
    }


def _section_foreign(grams: set[str], section: str) -> float:
    """The share of the bigrams of the candidate's own (innermost) heading that the statement does not have:
    a row under 「③ 教育職」 for a statement about another post."""
    theirs = _word_bigrams(plain(section.rsplit(" > ", 1)[-1]))
    return len(theirs - grams) / len(theirs) if theirs else 0.0


def _word_bigrams(text: str) -> set[str]:
    """Character bigrams of the runs of kanji, katakana and letters (no digits: 「③」 or 「(2)」 name nothing)."""
    return {r[i : i + 2] for r in _WORD_RUN.findall(text) for i in range(len(r) - 1)}


def _foreign(grams: set[str], text: str) -> float:
    """The share of the bigrams of a candidate's label (`_LABEL`) that the statement does not have."""
    m = _LABEL.match(text)
    theirs = _word_bigrams(m[0]) if m else set()
    return len(theirs - grams) / len(theirs) if theirs else 0.0


def _share(grams: set[str], text: str) -> float:
    return sum(g in text for g in grams) / len(grams) if grams else 0.0


@dataclass
class SubjectModel(LogisticModel):
    threshold: float  # a candidate is on the statement's subject at this probability or above
    lead: float  # a contradiction must be this much more probable than the best confirmation
    restated: float  # a statement without values is confirmed by a candidate this probable (or nearly verbatim)
    fit: dict  # how it was fitted and what it gave

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> SubjectModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"], data["lead"],
                   data["restated"], data["fit"])

