"""The covered-or-not model: the shipped fit, the decision on evidence, and the fitting itself."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.covered import FEATURES, CoveredModel, asked_unit_found, features
from assistant.evidence import QueryTerms
from assistant.types import Passage
from eval import fit_covered


def _evidence(question: str, sentence: str, weights: dict[str, float]):
    from assistant.answer import Evidence

    p = Passage("doc", "計画", "第1章", [1], sentence, 1.0)
    return Evidence(question, [p], QueryTerms(list(weights), weights), strength=1.0,
                    ranked_sentences=[(1.0, 0, sentence)])


def test_the_shipped_model_is_a_complete_fit_on_tune():
    m = CoveredModel.load()
    assert set(m.weights) == set(FEATURES) == set(m.mean) == set(m.scale)
    assert 0 < m.threshold < 1 and m.floors
    assert m.fit["split"] == "tune" and "fit-covered" in m.fit["command"]
    assert m.fit["cross_validated"]["false_not_covered"] <= fit_covered.MAX_FALSE_NOT_COVERED


def test_the_asked_kind_of_answer_must_be_in_the_best_sentences():
    weights = {"利用者数": 3.0, "目標": 1.0}
    with_people = features(_evidence("利用者数の目標は何人ですか", "利用者数の目標は1,200千人です。", weights))
    without = features(_evidence("利用者数の目標は何人ですか", "利用者数の目標を定めます。", weights))
    assert with_people["asked_unit_found"] == 1.0 and without["asked_unit_found"] == 0.0
    buildings = features(_evidence("被害想定は何棟の建物をもとにしていますか", "総棟数:415棟をもとに推定", weights))
    places = features(_evidence("重点箇所は何か所ですか", "重点箇所5個所", weights))
    assert buildings["asked_unit_found"] == places["asked_unit_found"] == 1.0  # counters in any spelling


def test_a_length_of_time_and_a_department_are_asked_kinds():
    hours = features(_evidence("避難所の開設まで何時間かかりますか", "開設まで3時間を要する。", {"開設": 1.0}))
    days = features(_evidence("避難所の開設まで何時間かかりますか", "開設まで3日を要する。", {"開設": 1.0}))
    assert hours["asked_unit_found"] == 1.0 and days["asked_unit_found"] == 0.0
    # 「どの課」 is answered by a department's name
    assert asked_unit_found("事務局はどの課に置かれますか", ["事務局を企画部企画課に置く。"]) == 1.0
    assert asked_unit_found("事務局はどの課に置かれますか", ["事務局を置く。"]) == 0.0
    # 「何年契約」 asks how long, not when: a length in years answers it, without a year of the calendar
    term = features(_evidence("委託は何年契約ですか", "管理業務委託は2年契約で行っている。", {"委託": 1.0}))
    assert term["asked_type_found"] == 1.0


def test_a_bare_number_under_a_column_that_names_the_asked_unit_is_the_asked_figure():
    assert asked_unit_found("収容できるのは何人ですか", ["収容人員: 4300"]) == 1.0
    assert asked_unit_found("費用はいくらですか", ["事業費(千円): 1,200"]) == 1.0
    assert asked_unit_found("収容できるのは何人ですか", ["番号: 6"]) == 0.0  # a number, not of people
    assert asked_unit_found("担当は何人ですか", ["担当者: 企画課"]) == 0.0  # people, but no number
    # the reranker counts the figure as written only (every row has numbers under its column labels)
    assert asked_unit_found("収容できるのは何人ですか", ["収容人員: 4300"], columns=False) == 0.0
    year = features(_evidence("2035年度の目標は何％ですか", "2030年度の目標は46%です。", {"目標": 1.0}))
    assert year["stated_numbers_found"] == 0.0  # the year the question states is not there


def test_off_topic_questions_are_not_covered_whatever_the_model_says():
    m = CoveredModel.load()
    off = _evidence("市長の趣味は何ですか", "市長が会長を務めます。", {"市長": 1.0, "趣味": 9.0})
    assert features(off)["union_cover"] < m.floors["union_cover"]
    assert not m.covered(off)


def test_more_of_the_asked_kind_never_lowers_the_probability():
    m = CoveredModel.load()
    x = dict(m.mean)
    low, high = dict(x, asked_unit_found=0.0), dict(x, asked_unit_found=1.0)
    assert m.probability(high) >= m.probability(low)


def test_fit_and_operating_point_on_separable_data():
    rng = np.random.default_rng(0)
    y = np.array([1.0] * 80 + [0.0] * 20)
    x = rng.normal(size=(100, len(FEATURES)))
    x[:, FEATURES.index("asked_unit_found")] += 3 * y  # one informative feature
    p = fit_covered.cross_validated(x, y)
    t = fit_covered.operating_point(p, y)
    rates = fit_covered.rates(p, y, t)
    assert rates["false_not_covered"] <= fit_covered.MAX_FALSE_NOT_COVERED
    assert rates["right_not_covered"] >= 0.8


@pytest.mark.parametrize("feature", sorted(fit_covered.SIGNS))
def test_signs_name_real_features(feature):
    assert feature in FEATURES
