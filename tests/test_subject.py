"""The draft check's evidence selection: candidates cut from passages (flattened lists item by item,
records as rows, column units), the fitted same-subject model, values compared by role, actors
compared slot by slot, and the operating point deciding "unsupported". Sentences are written for
these tests in the style of municipal plans (none is an evaluation case)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from assistant.check.candidates import passage_candidates
from assistant.check.compare import compare_actors, compare_values, differing_actors, rounded_equal
from assistant.check.judge import Prepared, Scored, decide
from assistant.check.report import StatementResult
from assistant.check.subject import FEATURES, MODEL_PATH, Retrieval, Subject, SubjectModel, features
from assistant.check.values import enumeration_counts, values_of
from assistant.evidence import WordWeights
from assistant.sparse import token_id
from assistant.text.numerals import plain
from assistant.text.tokens import Tokenizer
from assistant.types import Passage
from eval.fit_subject import label

FEE_LIST = ("料金体系: ①一般用:基本料金1,500円(10m3まで) ②業務用:基本料金3,200円(20m3まで) "
            "③学校用:基本料金9,800円(80m3まで) ※超過料金:①~③は1m3につき150円")
RECORD = "1 避難所一覧\n番号: 3\n名称: 中央公民館(ホール)\n住所: 本町1番地\n収容人員: 350\n事業費（千円）: 1,200"


class CorpusStats:
    """IDF over a handful of texts: a word in fewer of them weighs more."""

    def __init__(self, tokenizer: Tokenizer, texts: list[str]) -> None:
        self.docs = [set(tokenizer.content_tokens(t)) for t in texts]

    def idf(self, tokens: list[int]) -> dict[int, float]:
        n = len(self.docs)
        df = {token_id(t): sum(t in d for d in self.docs) for d in self.docs for t in d}
        return {i: math.log(1 + n / (1 + df.get(i, 0))) for i in tokens}


@pytest.fixture(scope="module")
def words() -> WordWeights:
    tok = Tokenizer()
    texts = [FEE_LIST, RECORD, "地域福祉計画の計画期間は令和6年度から令和10年度までです。",
             "公共交通の利用者数は年々減少しています。", "防災訓練を毎年実施します。"]
    return WordWeights(tok, CorpusStats(tok, texts))


def _passage(text: str, record: bool = False, doc: str = "doc") -> Passage:
    return Passage(doc, "みどり野市水道事業経営戦略", "料金", [1], text, 1.0, is_record=record)


# --- candidates ------------------------------------------------------------------------


def test_a_flattened_list_is_read_item_by_item(words):
    texts = [c.text for c in passage_candidates(_passage(FEE_LIST), words)]
    assert "③学校用:基本料金9,800円(80m3まで)" in texts
    assert "※超過料金:①~③は1m3につき150円" in texts  # a range of markers (①~③) is not cut
    item = next(c for c in passage_candidates(_passage(FEE_LIST), words) if c.text.startswith("③"))
    assert item.kind == "item" and "料金体系" in item.previous  # the words before the list are its context


def test_values_are_compared_within_one_item_not_across_items(words):
    draft = values_of("学校用の基本料金は、80m3までで9,800円とする。")
    items = {c.text[:1]: c for c in passage_candidates(_passage(FEE_LIST), words)}
    school = compare_values(draft, items["③"].values)
    assert school.outcome == "support" and not school.differ
    general = compare_values(draft, items["①"].values)
    assert {d for _, d, _ in general.differ} == {"80m3", "9,800円"}  # the other item differs on both, as a whole


def test_a_record_is_read_as_one_row_with_units_from_its_column_names(words):
    cands = passage_candidates(_passage(RECORD, record=True), words)
    record = next(c for c in cands if c.kind == "record")
    facts = {(f.kind, f.value, f.unit) for f in record.values.facts}
    assert ("quantity", 350.0, "人") in facts  # 収容人員: 350
    assert ("quantity", 1_200_000.0, "円") in facts  # 事業費（千円）: 1,200
    assert not any(f.surface == "千円" for f in record.values.facts)  # the column's name is no figure
    c = compare_values(values_of("中央公民館のホールの収容人員は380人である。"), record.values)
    assert c.outcome == "conflict" and c.differ[0][1:] == ("380人", "350")


def test_a_record_field_is_no_candidate_without_its_row(words):
    """「平均月額: 320,000円」 alone no longer says whose figure it is (the row's first cell, 区分: 県):
    only the whole row carries the values; the caption line stays a candidate of its own."""
    row = "職員の平均月額の状況\n区分: 県\n平均年齢: 42.0歳\n平均月額: 320,000円"
    cands = passage_candidates(_passage(row, record=True), words)
    assert [c.text for c in cands if c.kind != "record"] == ["職員の平均月額の状況"]
    record = next(c for c in cands if c.kind == "record")
    assert record.text.startswith("区分: 県 / ")
    # a monthly amount by its column's name (平均月額): 円 a month
    assert ("quantity", 320_000.0, "円/月") in {(f.kind, f.value, f.unit) for f in record.values.facts}
    # a passage that is not a record keeps its 「名前: 値」 lines as they are
    plain_lines = passage_candidates(_passage(row), words)
    assert any(c.text == "平均月額: 320,000円" for c in plain_lines)


# --- values: roles, ranges, approximations ---------------------------------------------------


@pytest.mark.parametrize("text, value, unit", [
    ("計画期間は令和3年度から5年間とする。", (2021, 2025), "年度"),
    ("令和6年度を初年度とする5か年の計画", (2024, 2028), "年度"),
    ("令和6年度を初年度とし、令和10年度を目標年度とする。", (2024, 2028), "年度"),
    ("令和6～10年度", (2024, 2028), "年度"),
    ("R6～R10年度", (2024, 2028), "年度"),
    ("平成31年度（令和元年度）から令和5年度まで", (2019, 2023), "年度"),
    ("令和7年4月1日から令和9年3月31日まで", (20250401, 20270331), "年月日"),
])
def test_periods_stated_in_pieces(text, value, unit):
    periods = [(f.value, f.unit) for f in values_of(text).facts if f.kind == "period"]
    assert (value, unit) in periods


def test_a_range_from_april_to_march_is_also_in_fiscal_years():
    periods = {f.value for f in values_of("2024年4月から2029年3月まで").facts if f.kind == "period"}
    assert (2024, 2028) in periods


def test_a_period_end_differs_in_a_range_of_dates():
    draft = values_of("受付期間は令和7年4月1日から令和9年3月31日までとする。")
    c = compare_values(draft, values_of("受付期間：令和7年4月1日から令和10年3月31日まで", False))
    assert c.outcome == "conflict" and ("令和9年3月31日", "令和10年3月31日") in [(d, e) for _, d, e in c.differ]


def test_shares_in_tenths_are_percentages():
    facts = values_of("利用者の約3割が高齢者である。").facts
    assert [(f.kind, f.value, f.unit) for f in facts] == [("percent", 30.0, "%")]


def test_an_approximate_figure_is_equal_at_its_own_precision():
    draft = values_of("利用者数は約12.5万人である。")
    f = draft.facts[0]
    near, far = values_of("124,820人").facts[0], values_of("125,600人").facts[0]
    assert rounded_equal(f, near, draft.text) and not rounded_equal(f, far, draft.text)
    exact = values_of("利用者数は12.5万人である。")
    assert not rounded_equal(exact.facts[0], near, exact.text)  # without 約 the figure is exact


def test_targets_are_compared_with_targets_and_base_years_with_base_years():
    draft = values_of("2022年度時点で2013年度比18.5%削減されている。")
    target = values_of("2013年度を基準として、2030年度までに50%削減することを目標とする。", False)
    c = compare_values(draft, target)
    assert not c.differ  # 50% is a target, 18.5% a figure as it stands; 2030年度 is no base year
    same = values_of("2022年度時点で2013年度比18.5%の削減となった。", False)
    assert compare_values(draft, same).outcome == "support"
    assert draft.is_base(draft.facts[1]) and not draft.is_base(draft.facts[0])


@pytest.mark.parametrize("text, stance", [
    ("目標値は、30%とする。", "target"),
    ("2022年度時点で18.5%削減されている。", "actual"),
    ("移住者数5年間で12人", None),  # a line of a KPI table: says neither
    ("移住者数0人(2014年度)→5年間で12人(2019年度)", "target"),  # after the arrow
])
def test_a_figure_is_a_target_a_figure_as_it_stands_or_neither(text, stance):
    v = values_of(text, False)
    assert v.stance([f for f in v.facts if f.kind in ("percent", "quantity")][-1]) == stance


def test_a_figure_that_says_neither_is_compared_with_a_target():
    draft = values_of("移住者数を、5年間で15人とすることを目標とする。")
    assert compare_values(draft, values_of("◇移住者数5年間で12人", False)).outcome == "conflict"
    assert compare_values(draft, values_of("◇移住者数5年間で15人", False)).outcome == "support"
    # a figure as it stands is still not a target's counterpart
    assert compare_values(draft, values_of("移住者数は、現在5年間で12人となっている。", False)).outcome != "conflict"


def test_one_year_differing_where_the_figure_and_the_other_years_agree_is_a_conflict():
    draft = values_of("国は、2050年カーボンニュートラルに加え、2031年度に温室効果ガスを46%削減することを目指す。")
    sentence = values_of("2050年カーボンニュートラルに加え、2030年度に温室効果ガスを46%削減することを目指す。", False)
    c = compare_values(draft, sentence)
    assert c.outcome == "conflict" and [d for _, d, _ in c.differ] == ["2031年度"]
    # no figure agrees: another reference time, not a contradiction
    other = values_of("2050年カーボンニュートラルに向け、2030年度の排出量を2013年度から減らす。", False)
    assert compare_values(values_of("2050年を見据え、2031年度の排出量を2013年度比で減らす。"), other).outcome == "neutral"


@pytest.mark.parametrize("draft, outcome", [
    ("本計画は2019年3月に策定し、2021年10月に改訂した。", "conflict"),  # the date of the same event differs
    ("本計画は2019年3月に策定し、2021年9月に改訂した。", "support"),
    # a date of another event: another reference time, not a contradiction
    ("本計画は2019年3月に策定し、2021年10月に公表した。", "neutral"),
])
def test_a_date_differing_for_the_same_event_is_a_conflict(draft, outcome):
    sentence = values_of("みどり町環境基本計画(平成31年3月策定、令和3年9月改訂)", False)
    assert compare_values(values_of(draft), sentence).outcome == outcome


@pytest.mark.parametrize("draft, sentence, outcome", [
    ("後期基本計画は、令和8年度までを計画期間とする。", "後期基本計画(計画期間 令和4年度~令和8年度)", "support"),
    ("後期基本計画は、令和9年度までを計画期間とする。", "後期基本計画(計画期間 令和4年度~令和8年度)", "conflict"),
    ("総合戦略は、2016年度から始まる5か年を対象期間とする。", "対象期間は2015年度から2019年度までとします。", "conflict"),
    ("総合戦略は、2015年度から始まる5か年を対象期間とする。", "対象期間は2015年度から2019年度までとします。", "support"),
    # a deadline is not a period: 「2050年まで」 is not compared with a plan's years
    ("2050年までに温室効果ガス排出を実質ゼロにする。", "計画の期間は令和3年度~令和12年度とする。", "neutral"),
])
def test_a_period_stated_by_one_end_is_compared_on_that_end(draft, sentence, outcome):
    assert compare_values(values_of(draft), values_of(sentence, False), draft_plain=plain(draft)).outcome == outcome


# --- actors -----------------------------------------------------------------------------


@pytest.mark.parametrize("draft, sentence, expected", [
    ("被害の状況は地域福祉課へ報告し、その指示を受ける。", "被害の状況は、健康づくり課へ報告し、その指示を受ける。",
     [("地域福祉課", "健康づくり課")]),
    ("会長に事故があるときは、副町長がその職務を代理する。", "会長に事故があるときは、会長の指名する委員がその職務を代理する。",
     [("副町長", "指名する委員")]),
    ("計画の見直しに当たり、町民会議の意見を聴く。", "計画の見直しに当たっては、環境審議会の意見を聴く。",
     [("町民会議", "環境審議会")]),
    ("会長は、町長をもって充てる。", "会長は、みどり町長をもつて充てる。", []),  # the same holder, named longer
    ("健康づくり課と連携して健診を行う。", "健康づくり課と連携し、健診を行います。", []),
    # a relative clause before the body is not part of its name
    ("調査・審議は、副市長を委員長とする企画調整委員会において行う。",
     "調査・審議は、副市長を委員長とし、部長職により構成される企画調整委員会において行い、調整を図る。", []),
    # a topic is no slot: what the sentence says of it decides (text.roles)
    ("防災会議の部会長は、会長の指名する委員がこれに当たる。", "部会に属すべき委員及び専門委員は、会長が指名する。", []),
])
def test_actors_are_compared_slot_by_slot(draft, sentence, expected):
    assert differing_actors(plain(draft), plain(sentence)) == expected


def test_a_differing_actor_makes_a_restatement_a_conflict():
    draft = "被害の状況は地域福祉課へ報告し、その指示を受ける。"
    c = compare_values(values_of(draft), values_of("被害の状況は、健康づくり課へ報告し、その指示を受ける。", False))
    assert c.outcome == "neutral"
    compare_actors(c, plain(draft), plain("被害の状況は、健康づくり課へ報告し、その指示を受ける。"))
    assert c.outcome == "conflict" and c.differ == [("担当・役割", "地域福祉課", "健康づくり課")]


# --- the model and the operating point -----------------------------------------------------


def test_the_fitted_model_is_complete_and_says_how_it_was_fitted():
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert set(data["weights"]) == set(FEATURES) == set(data["mean"]) == set(data["scale"])
    assert data["fit"]["split"] == "tune" and "fit-subject" in data["fit"]["command"]
    assert 0 < data["threshold"] < 1 and data["lead"] >= 0
    assert data["fit"]["cross_validated"]["macro_f1"] > 0


def _subject(words: WordWeights, text: str) -> Subject:
    values = values_of(text)
    from assistant.check.values import subject_tokens

    return Subject.of(plain(text), words.weights(subject_tokens(words, text, values)),
                      words.weights(words.tokens(text)), values, words.tokenizer.place_names(text))


def test_a_candidate_on_the_subject_scores_higher_than_one_off_it(words):
    model = SubjectModel.load()
    subject = _subject(words, "学校用の基本料金は、80m3までで9,800円とする。")
    cands = {c.text[:1]: c for c in passage_candidates(_passage(FEE_LIST), words)}
    where = Retrieval(0, True, 1.0)
    school = model.probability(features(subject, cands["③"], where))
    general = model.probability(features(subject, cands["①"], where))
    assert school > general  # 「①一般用」 is labelled with something the statement never names
    later = model.probability(features(subject, cands["③"], Retrieval(7, False, 0.1)))
    assert later <= school  # the same words further down the retrieval are no more likely


def test_a_document_the_statement_names_counts(words):
    subject = _subject(words, "みどり野市地域公共交通計画の計画期間は、令和6年度から令和10年度までである。")
    assert subject.documents == ["地域公共交通計画"]  # without the municipality in front
    assert _subject(words, "本計画の計画期間は、令和6年度からの5年間とする。").documents == []


def _prepared(words: WordWeights, text: str, probabilities: list[float]) -> Prepared:
    cands = [c for c in passage_candidates(_passage(FEE_LIST), words) if c.text.startswith(("①", "③"))]
    result = StatementResult("s1", text, "", "unsupported", "")
    scored = [Scored(c, p, {"full": 0.5, "with_context": 0.5}) for c, p in zip(cands, probabilities)]
    return Prepared(result, plain(text), values_of(text), True, scored)


def test_unsupported_when_no_candidate_reaches_the_operating_point(words):
    text = "学校用の基本料金は、80m3までで9,800円とする。"
    assert decide(_prepared(words, text, [0.2, 0.3]), 0.5, 0.0, 0.8).verdict == "unsupported"
    got = decide(_prepared(words, text, [0.2, 0.9]), 0.5, 0.0, 0.8)
    assert got.verdict == "consistent" and got.evidence[0].sentence.startswith("③")


def test_a_contradiction_needs_the_lead_over_a_confirmation(words):
    text = "学校用の基本料金は、80m3までで9,800円とする。"
    assert decide(_prepared(words, text, [0.95, 0.9]), 0.5, 0.0, 0.99).verdict == "conflict"
    assert decide(_prepared(words, text, [0.9, 0.95]), 0.5, 0.0, 0.99).verdict == "consistent"
    assert decide(_prepared(words, text, [0.95, 0.9]), 0.5, 0.1, 0.99).verdict == "consistent"


def test_a_sentence_naming_another_document_is_no_evidence_even_where_every_document_names_the_plan(words):
    text = "学校用の基本料金は、80m3までで9,800円とする。"
    prepared = _prepared(words, text, [0.95, 0.9])
    first, second = prepared.candidates
    # the more probable candidate (a conflict) names another document (a law's period); none is from a
    # document that lacks the statement's plan
    first.other_document = True
    first.features["document_missing"] = second.features["document_missing"] = 0.0
    got = decide(prepared, 0.5, 0.0, 0.99)
    assert got.verdict == "consistent" and got.evidence[0].sentence.startswith("③")
    # when every candidate names another document, they are all there is
    second.other_document = True
    assert decide(prepared, 0.5, 0.0, 0.99).verdict == "conflict"


def test_a_statement_that_names_its_plan_is_judged_by_the_documents_that_name_it(words):
    text = "学校用の基本料金は、80m3までで9,800円とする。"
    prepared = _prepared(words, text, [0.95, 0.9])
    first, second = prepared.candidates
    # the more probable candidate (a conflict) names another plan; the other names none, in a document that
    # names the statement's plan elsewhere
    first.other_document, first.features["document_missing"] = True, 1.0
    second.features["document_missing"] = 0.0
    got = decide(prepared, 0.5, 0.0, 0.99)
    assert got.verdict == "consistent" and got.evidence[0].sentence.startswith("③")
    # a candidate naming no plan, from a document where the statement's plan is named nowhere, does not count
    first.other_document = False
    first.candidate = dataclasses.replace(first.candidate, passage=_passage(first.candidate.passage.text, doc="other"))
    got = decide(prepared, 0.5, 0.0, 0.99)
    assert got.verdict == "consistent" and got.evidence[0].sentence.startswith("③")
    # no candidate names it anywhere: all of them count, as for a statement naming no plan (the more probable
    # contradiction wins)
    first.features["document_missing"] = second.features["document_missing"] = 1.0
    assert decide(prepared, 0.5, 0.0, 0.99).verdict == "conflict"
    first.features["document_missing"] = second.features["document_missing"] = 0.0
    assert decide(prepared, 0.5, 0.0, 0.99).verdict == "conflict"


@pytest.mark.parametrize("statement, candidate, other", [
    # another plan's own period, named in the sentence
    ("みどり野市後期基本計画の計画期間は、令和4年度から令和8年度までとする。",
     "令和2年度から令和6年度までを計画期間とする「第2期みどり野市まち・ひと・しごと創生総合戦略」との整合を図る。", True),
    # a table of the plan that names it shorter (基本計画 inside 後期基本計画): the same document
    ("みどり野市後期基本計画の計画期間は、令和4年度から令和8年度までとする。", "(2)基本計画(計画期間5年間後期令和4年度~令和8年度)", False),
    # a sentence that names no document at all is not about another one
    ("みどり野市後期基本計画の計画期間は、令和4年度から令和8年度までとする。", "計画期間は令和4年度から令和8年度までの5年間です。", False),
    # a date in front of 条例 is no document name (「昭和37年12月20日条例第11号」)
    ("みどり野町防災会議条例は、昭和37年12月20日に制定された。", "昭和37年12月20日条例第11号", False),
    # the statement names no document: nothing is another one
    ("計画期間は、令和4年度から令和8年度までとする。", "第2期総合戦略の計画期間は令和2年度から令和6年度までです。", False),
])
def test_a_candidate_that_names_another_document(words, statement, candidate, other):
    from assistant.check.subject import names_another_document

    cand = passage_candidates(_passage(candidate), words)[0]
    assert names_another_document(_subject(words, statement), cand) is other


def test_fit_labels_the_candidates_that_hold_the_evidence(words):
    case = {"expected": "conflict", "doc": "doc", "evidence_contains": "学校用:基本料金9,800円"}
    prepared = _prepared(words, "学校用の基本料金は9,000円とする。", [0.5, 0.5])
    assert label(case, prepared) == [0, 1]
    assert label({**case, "doc": "other"}, prepared) == [0, 0]
    assert label({**case, "expected": "unsupported"}, prepared) == [0, 0]


def test_a_list_states_how_many_things_it_names(words):
    text = "処理場に係る施設管理業務、電気設備点検業務及び水質検査業務を民間業者に委託しています。"
    cand = passage_candidates(_passage(text), words)[0]
    counts = [(f.value, f.unit) for f in cand.values.facts if f.kind == "number"]
    assert counts == [(3.0, "業務")]
    c = compare_values(values_of("民間業者に委託しているのは施設管理業務と水質検査業務の2業務である。"), cand.values)
    assert c.outcome == "conflict" and c.differ[0][1] == "2業務"
    assert enumeration_counts("公園、道路、河川の清掃を行う。") == []  # no word they share: no count
    assert [f.value for f in enumeration_counts("A施設、B施設及びC施設を整備する。")] == [3.0]


def test_a_figure_is_compared_with_the_figure_stated_for_the_same_year():
    draft = values_of("普及率は、2027年度に78%、2030年度に90%を目指す。")
    sentence = values_of("普及率は2030年度に80%を目指す。", False)
    assert [draft.anchor(f) for f in draft.facts if f.kind == "percent"] == [2027, 2030]
    c = compare_values(draft, sentence)
    # 78% is closer to 80% but stated for 2027年度: the sentence's 80% for 2030年度 is 90%'s counterpart
    assert [(d, e) for _, d, e in c.differ] == [("90%", "80%")] and "78%" in c.missing


def test_an_equal_figure_stated_for_another_year_still_pairs_and_the_year_differs():
    draft = values_of("普及率は2031年度に80%を目指す。")
    sentence = values_of("普及率は2030年度に80%を目指す。", False)
    c = compare_values(draft, sentence)
    assert c.outcome == "conflict" and [d for _, d, _ in c.differ] == ["2031年度"]


def test_a_base_year_anchors_no_figure():
    v = values_of("2030年度に2013年度比46%削減する。")
    assert [v.anchor(f) for f in v.facts if f.kind == "percent"] == [2030]
