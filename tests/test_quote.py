"""Which sentences an answer quotes: the shipped fit, the features, the order, and the fitting itself."""

from __future__ import annotations

from pathlib import Path

from assistant.answer import AnswerEngine, Evidence
from assistant.covered import CoveredModel, asked_units
from assistant.evidence import QueryTerms
from assistant.quote import CANDIDATES, FEATURES, QuoteModel, SentenceFacts, bigrams, features
from assistant.types import Passage
from eval.fit_quote import label


def test_the_shipped_model_is_a_complete_fit_on_tune_that_beats_the_hand_order_out_of_sample():
    m = QuoteModel.load()
    assert m is not None and set(m.weights) == set(FEATURES) == set(m.mean) == set(m.scale)
    fit = m.fit
    assert "fit-quote" in fit["command"] and fit["questions"] > 50
    assert fit["answers_right_cv"][str(fit["l2"])] > fit["answers_right_hand_order"]


def test_configured_off_means_no_model():
    assert QuoteModel.load(Path("")) is None and QuoteModel.load(None) is None


def test_features_see_the_asked_figure_and_shared_characters():
    facts = SentenceFacts(0.5, 0.4, 0.6, 0, True, False, False)
    units = asked_units("下水道の使用料は1か月いくらですか")
    with_yen = features(bigrams("下水道の使用料"), units, "基本料金は月額1,650円です。", facts, 0.8)
    without = features(bigrams("下水道の使用料"), units, "使用料を改定します。", facts, 0.8)
    assert with_yen["unit"] == 1.0 and without["unit"] == 0.0
    assert without["bigrams"] > with_yen["bigrams"]  # 使用料 shared
    assert features(set(), [], "。", facts, 0.0)["bigrams"] == 0.0


def _engine(model: QuoteModel | None) -> AnswerEngine:
    return AnswerEngine(lambda *a, **k: [], tokenizer=None, stats=None, covered=CoveredModel.load(), quote=model)


def _evidence(question: str, sentences: list[tuple[str, SentenceFacts]]) -> Evidence:
    p = Passage("doc", "計画", "第1章", [1], "".join(s for s, _ in sentences), 1.0)
    ranked = [(f.hand, 0, s) for s, f in sentences]
    return Evidence(question, [p], QueryTerms(["人数"], {"人数": 1.0}), 1.0, ranked_sentences=ranked,
                    facts=[f for _, f in sentences])


def test_the_model_puts_the_sentence_with_the_asked_figure_first():
    question = "地域防災訓練の参加人数は何人ですか"
    # the same words of the question, ranked alike by hand; only one states the asked figure (何人 → 人)
    words = SentenceFacts(0.9, 0.8, 0.6, 0, False, False, False)
    figure = SentenceFacts(0.9, 0.8, 0.6, 0, True, False, False)
    ev = _evidence(question, [("地域防災訓練の参加人数は増えています。", words),
                              ("地域防災訓練の参加人数は320人でした。", figure)])
    assert ev.ranked_sentences[0][2].endswith("増えています。")  # the hand order: the first one
    ordered = _engine(QuoteModel.load()).quote_order(ev)
    assert ordered[0][2].endswith("320人でした。") and len(ordered) == 2
    assert ordered[0][0] > ordered[1][0]  # probabilities, best first


def test_only_the_best_candidates_are_reordered_the_rest_keep_the_hand_order():
    facts = SentenceFacts(0.1, 0.1, 0.1, 3, False, False, False)
    sentences = [(f"文{i}の内容です。", facts) for i in range(CANDIDATES + 5)]
    ordered = _engine(QuoteModel.load()).quote_order(_evidence("内容は何ですか", sentences))
    assert len(ordered) == CANDIDATES + 5
    assert [s for _, _, s in ordered[CANDIDATES:]] == [s for s, _ in sentences[CANDIDATES:]]


def test_a_sentence_is_labelled_right_when_it_holds_one_key_group():
    keys = [["1,650円", "1650円"], ["10m3"]]
    assert label("基本料金は１，６５０円です。", keys) == 1  # compared like the evaluation: NFKC, no spaces
    assert label("基本料金を定めます。", keys) == 0
