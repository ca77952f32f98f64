"""Covered or not: whether the retrieved passages answer a question, decided by a logistic model
fitted on the `tune` development questions (not a hand threshold).

The features describe the evidence `AnswerEngine.gather` collected: how much of the question the
best passage and the best sentence cover (IDF-weighted), by how much they lead the next ones,
how much of the question no passage mentions at all, whether a place the question names or its
most specific word is missing, and whether the kind of answer asked for (a number, a time) is
present in the best sentences. A question below the off-topic floors (little of it in any passage)
is not covered whatever the model says. The fitted weights, the standardisation, the floors and
the operating point live in `covered_model.json` beside this module, written by `plan-assistant eval fit-covered`
(eval/fit_covered.py), with the figures that fit gave.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import COVERED_MODEL as MODEL_PATH
from assistant.evidence import cover
from assistant.fitted import LogisticModel
from assistant.text.facts import canonical_tokens
from assistant.text.layout import heading_style
from assistant.text.numerals import plain
from assistant.text.sentences import FIELD

if TYPE_CHECKING:
    from assistant.answer import Evidence

FEATURES = ("strength", "best_sentence", "sentence_margin", "top_score", "score_margin", "union_cover",
            "top_word_missing", "place_missing", "log_terms", "asked_type_found",
            "best_sentence_cover", "stated_numbers_found", "asked_unit_found")
# the unit an answer must carry, by how the question asks (「何人」→ 人 or 名; 「いくら」→ 円): the figure as
# written in text, and what a table column's label says of a bare number under it (「収容人員: 4300」,
# 「金額(千円): 1,200」; None: a column label cannot say it)
_PLACES = "か所|箇所|個所|カ所|ヶ所"  # 個所: the older official spelling
_COUNTERS = "回|件|頭|台|戸|棟|世帯"
ASKED_UNITS: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple((re.compile(q), u, c) for q, u, c in (
    (r"何(?:人|名)|人数", r"[0-9〇一二三四五六七八九十百千万]\s*(?:人|名)", r"人|名"),
    (r"何\s*(?:%|％|パーセント)|割合|率は", r"[0-9]\s*(?:%|％|パーセント|割)", r"%|％|パーセント|割合|率"),
    (r"いくら|何円|金額|費用|料金|額は", r"[0-9〇一二三四五六七八九十百千万]\s*(?:円|千円|万円|億円)", r"円"),
    (rf"何(?:{_PLACES})", rf"[0-9〇一二三四五六七八九十]\s*(?:{_PLACES}|地域|施設)", _PLACES),
    (r"いくつ", r"[0-9〇一二三四五六七八九十百千万]", r""),  # how many, in whatever counter
    (r"何\s*(?:m3|㎥|立方)", r"[0-9]\s*(?:m3|㎥|立方)", r"m3|㎥|立方"),
    (r"何\s*(?:平方キロ|km2|㎢)|面積", r"[0-9]\s*(?:平方キロ|km2|㎢|ha|ヘクタール)", r"平方キロ|km2|㎢|ha|ヘクタール|面積"),
    (r"何月何日|何日に|いつ開", r"[0-9〇一二三四五六七八九十]\s*月\s*[0-9〇一二三四五六七八九十]+\s*日", None),
    (rf"何(?:{_COUNTERS})", rf"[0-9〇一二三四五六七八九十百千万]\s*(?:{_COUNTERS})", _COUNTERS),
    (r"何時間", r"[0-9〇一二三四五六七八九十]\s*時間", r"時間"),
    # a department: 「どの課」「担当部署は」 are answered by a name that ends in 課・係・室 (企画課, 上下水道係)
    (r"(?:どの|どこの|何)(?:課|係|部署)|担当(?:課|係|部署)|所管(?:課|係|部署)", r"[一-龥ァ-ヶ]{1,14}[課係室](?![一-龥])",
     None),
))
_BARE_FIGURE = re.compile(r"[0-9０-９][0-9０-９,，.．]*")
ASKS_NUMBER = re.compile(r"何(?:名|人|件|%|％|パーセント|ポイント|度|倍|か所|箇所|個所|円|回|棟|年間|年契約|年分|時間|地域|団体|"
                          r"つ|割)|いくつ|いくら|どのくらい|どれくらい|どの程度|how (?:many|much)|percentage", re.IGNORECASE)
# 「何年」 asks when, but 「何年間」「何年契約」「何年分」「何年ごと」 ask how long (ASKS_NUMBER)
ASKS_WHEN = re.compile(r"いつ|何年(?!間|契約|分|ごと|毎)|時期|期間|年度まで|when|what year|period", re.IGNORECASE)
TIME = re.compile(r"(?:令和|平成|昭和|19|20)[0-9元]+年|[0-9]+月")
_TOP_SENTENCES = 3  # the asked kind of answer must be in one of the best sentences


def features(ev: Evidence) -> dict[str, float]:
    """The evidence of one question as numbers (see the module docstring)."""
    terms, passages = ev.terms, ev.passages
    # headings are quoted when they hold the answer, but whether a question is covered is judged by the
    # running text (with headings among them, tune's unanswerable near misses look covered more often)
    ranked = [r for r in ev.ranked_sentences if heading_style(r[2]) is None]
    everything = plain("".join(p.title + p.section + p.text for p in passages))
    union = cover(terms.weights, everything, ev.passage_tokens)
    top = max(terms.weights, key=lambda t: terms.weights[t]) if terms.weights else ""
    best = [s for _, _, s in ranked[:_TOP_SENTENCES]]
    asked = canonical_tokens(ev.question)
    wants_number, wants_time = bool(ASKS_NUMBER.search(ev.question)), bool(ASKS_WHEN.search(ev.question))
    found = any(canonical_tokens(s) - asked and (not wants_time or TIME.search(s)) for s in best)
    return {
        "strength": ev.strength,
        "best_sentence": ranked[0][0] if ranked else 0.0,
        "sentence_margin": ranked[0][0] - ranked[1][0] if len(ranked) > 1 else (ranked[0][0] if ranked else 0.0),
        "top_score": passages[0].score if passages else 0.0,
        "score_margin": passages[0].score - passages[1].score if len(passages) > 1 else 0.0,
        "union_cover": union,
        "top_word_missing": float(bool(top) and top not in everything and top not in ev.passage_tokens),  # in no passage
        "place_missing": float(any(plain(n) not in everything for n in terms.names)),
        "log_terms": math.log1p(len(terms.tokens)),
        "asked_type_found": float(found) if (wants_number or wants_time) else 1.0,
        "best_sentence_cover": (cover(terms.weights, plain(best[0]), ev.words.tokens(best[0]) if ev.words else frozenset())
                                if best else 0.0),
        # a year or figure the question states (「2035年度の目標」) must be in a best sentence
        "stated_numbers_found": (len(asked & set().union(*map(canonical_tokens, best))) / len(asked)
                                 if asked and best else 1.0),
        "asked_unit_found": asked_unit_found(ev.question, best),
    }


def asked_units(question: str) -> list[tuple[str, str | None]]:
    """How an answer states the asked figure, by how the question asks (「何人」 → a number of 人 or 名):
    (the figure as written, what a column label says of a bare number under it)."""
    return [(u, c) for q, u, c in ASKED_UNITS if q.search(question)]


def unit_found(units: list[tuple[str, str | None]], text: str) -> bool:
    """`text` states a figure of an asked unit: written with it (「180人」), or a bare number in a table
    cell whose column label names it (「収容人員: 4300」, a row line as `text.sentences.FIELD` reads it)."""
    if any(re.search(u, text) for u, _ in units):
        return True
    columns = [c for _, c in units if c is not None]
    if not columns:
        return False
    return any(_BARE_FIGURE.fullmatch(m.group("value").strip()) and any(re.search(c, m.group("name")) for c in columns)
               for m in FIELD.finditer(text))


def asked_unit_found(question: str, sentences: list[str], columns: bool = True) -> float:
    """1 when the sentences state a figure of the unit the question asks for (or it asks none); `columns`:
    a bare number under a column label that names the unit counts too (see `unit_found`)."""
    units = asked_units(question)
    if not units:
        return 1.0
    if not columns:
        units = [(u, None) for u, _ in units]
    return float(unit_found(units, "\n".join(sentences)))


@dataclass
class CoveredModel(LogisticModel):
    threshold: float  # the operating point: covered when the probability is at least this
    floors: dict[str, float]  # … and no feature named here is below its floor (clearly off-topic)
    fit: dict  # how it was fitted and what it gave

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> CoveredModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"], data.get("floors", {}),
                   data["fit"])


    def covered(self, ev: Evidence) -> bool:
        x = features(ev)
        if any(x[f] < floor for f, floor in self.floors.items()):
            return False  # most of what the question is about is in no passage
        return self.probability(x) >= self.threshold
