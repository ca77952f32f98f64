"""Which sentences answer a question: a logistic model over the best sentences `AnswerEngine.gather` found,
fitted on the `tune` development questions (a sentence is right when it holds one of the question's key
facts), instead of hand-set bonuses.

`gather` first scores every sentence of the retrieved passages by hand (its IDF coverage of the question,
its passage's, small bonuses for an asked number or time, a penalty by passage rank; `ranked_sentences`,
which the covered-or-not model reads). The best `CANDIDATES` of them are then described by `FEATURES`
and re-ordered by this model's probability (`Evidence.quoted`), which the extractive answer quotes from
and a generator is shown first. What the hand score cannot see and the model can:
- `unit`: the question asks for a kind of figure (何人, いくら, 何％, 何月何日) and the sentence has one, or is a
  table cell whose column label names it (「収容人員: 4300」);
- `meaning`: the dense similarity of the sentence to the question (the multilingual embedder), which
  finds a paraphrase that shares few words with the question;
- `bigrams`: the share of the question's character bigrams in the sentence (compounds the tokenizer
  splits differently: 集落排水 / 農業集落排水施設);
- `length`: a label (「基本料金」) or a whole page of a list rarely answers;
- `heading`: a heading line is mostly a label, though some hold the answer (「指定避難所(計12か所)」).
The weights, the standardisation and the fit's figures live in `quote_model.json` beside this module,
written by `plan-assistant eval fit-quote` (eval/fit_quote.py); without that file the hand order is kept.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.config import QUOTE_MODEL as MODEL_PATH
from assistant.covered import unit_found
from assistant.fitted import LogisticModel

CANDIDATES = 20  # of the hand-scored sentences, the best this many are re-ordered by the model
FEATURES = ("hand", "cover", "passage_cover", "rank", "new_number", "new_time", "asked_numbers", "unit",
            "meaning", "bigrams", "length", "heading")
# the sign each weight may take (+1 may only help, -1 may only hurt, 0 free): see eval/logistic.fit
SIGNS = {"hand": 1, "cover": 1, "passage_cover": 1, "rank": -1, "new_number": 1, "new_time": 1,
         "asked_numbers": 1, "unit": 1, "meaning": 1, "bigrams": 1, "length": 0,
         "heading": 0}
_JAPANESE_OR_DIGIT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff0-9A-Za-z々ー]")


@dataclass(frozen=True)
class SentenceFacts:
    """What `gather` knows of one sentence when it scores it by hand."""
    hand: float  # the hand score (coverage + bonuses - rank penalty)
    cover: float  # the sentence's own coverage of the question
    passage_cover: float  # its passage's coverage (title and section included)
    rank: int  # its passage's rank in the search results (0 = first)
    new_number: bool  # it states a number the question does not
    new_time: bool  # … a year or month the question does not
    asked_numbers: bool  # it states every number the question states
    heading: bool = False  # it is a heading line (text.layout.heading_style)


def bigrams(text: str) -> set[str]:
    """Character bigrams of a text's words (kana, kanji, digits, Latin), punctuation and spaces dropped."""
    chars = "".join(_JAPANESE_OR_DIGIT.findall(unicodedata.normalize("NFKC", text)))
    return {chars[i:i + 2] for i in range(len(chars) - 1)}


def features(question_bigrams: set[str], units: list[tuple[str, str | None]], sentence: str, facts: SentenceFacts,
             meaning: float) -> dict[str, float]:
    norm = unicodedata.normalize("NFKC", sentence)
    return {
        "hand": facts.hand,
        "cover": facts.cover,
        "passage_cover": facts.passage_cover,
        "rank": float(facts.rank),
        "new_number": float(facts.new_number),
        "new_time": float(facts.new_time),
        "asked_numbers": float(facts.asked_numbers),
        "unit": float(unit_found(units, norm)) if units else 0.0,
        "meaning": meaning,
        "bigrams": len(question_bigrams & bigrams(sentence)) / len(question_bigrams) if question_bigrams else 0.0,
        "length": math.log1p(len(norm)),
        "heading": float(facts.heading),
    }


@dataclass
class QuoteModel(LogisticModel):
    fit: dict  # how it was fitted and what it gave

    @classmethod
    def load(cls, path: Path | None = MODEL_PATH) -> QuoteModel | None:
        """The stored model, or None when it is configured off (the hand order is kept)."""
        if path is None or str(path) in ("", "."):
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["fit"])
