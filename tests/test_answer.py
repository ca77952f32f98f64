"""Grounded answers over the bundled sample documents, with the extractive generator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer import (
    AnswerEngine,
    Evidence,
    asked_on,
    conversation_documents,
    previous_answer,
    retrieval_query,
    verify,
)
from assistant.covered import CoveredModel
from assistant.errors import BadRequest
from assistant.types import Passage, SearchFilters
from eval.answer_eval import score_answers
from tests.helpers import sample_service

SAMPLES = Path(__file__).resolve().parents[1] / "assistant" / "samples"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    s = sample_service(tmp_path_factory.mktemp("answers"))
    yield s
    s.close()


def test_sample_questions_are_answered_or_declined(svc):
    # English questions need a language model to translate them for retrieval: not for the extractive generator
    cases = [json.loads(x) for x in (SAMPLES / "sample_qa.jsonl").read_text(encoding="utf-8").splitlines() if x]
    cases = [c for c in cases if c["kind"] != "crosslingual"]
    answers = {c["id"]: svc.ask(c["question"]).to_dict() for c in cases}
    scores, rows = score_answers(cases, answers)
    assert scores["abstention_accuracy"] == 1.0, rows
    assert scores["key_fact_accuracy"] >= 0.8, rows
    assert scores["citation_support"] >= 0.8, rows


def test_answer_cites_document_section_and_page(svc):
    a = svc.ask("後期基本計画の計画期間はいつからいつまでですか")
    assert not a.abstained and "[1]" in a.text
    c = a.citations[0].passage
    assert c.doc_id == "midorino_sogo_keikaku_kouki_soan" and c.page and c.section


# 「市長の趣味」 shares みどり野市 and 市長 with its passages; it is declined by the off-topic floor on word
# coverage (0.46 against the fitted 0.49), a thin margin that a refit can move (README, Known limitations)
@pytest.mark.parametrize("question", ["みどり野市の市長の好きな食べ物は何ですか", "プロ野球の優勝チームはどこですか",
                                      "みどり野市の市長の趣味は何ですか"])
def test_not_covered_gives_related_passages_not_a_guess(svc, question):
    a = svc.ask(question)
    assert a.abstained and "記載が見当たりません" in a.text and not a.citations


def test_english_question_gets_english_answer_quoting_japanese(svc):
    a = svc.ask("What is the FY2028 target for annual ridership of buses in the public transport plan?")
    assert not a.abstained
    assert a.text.startswith(("According to", "Covered in")) and "「" in a.text and a.citations


def test_follow_up_uses_history_and_false_premise_is_corrected(svc):
    first = "地域公共交通計画の計画期間はいつまでですか"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": svc.ask(first).text}]
    assert retrieval_query("その期間は？", history).startswith(first)
    wrong = svc.ask("その計画は令和12年度までですよね", history)
    assert not wrong.abstained and "異なります" in wrong.text and "令和12年度" in wrong.text
    assert wrong.citations and wrong.citations[0].passage.doc_id == "midorino_chiiki_koukyou_koutsuu_keikaku"


def test_a_follow_up_searches_the_values_that_qualify_what_it_asks_not_those_it_asserts():
    history = [{"role": "user", "content": "人口推計のパターン④の前提は？"}, {"role": "assistant", "content": "…"}]
    assert "2060年" in retrieval_query("その推計だと、2060年の人口は何人？", history)
    assert "令和12年度" not in retrieval_query("その計画は令和12年度までですよね", history)
    assert "10兆円" not in retrieval_query("2030年度の投資額は10兆円にするんですよね？", history)


def test_bad_questions_get_clear_errors(svc):
    with pytest.raises(BadRequest, match="空"):
        svc.ask("   ")
    with pytest.raises(BadRequest, match="長すぎ"):
        svc.ask("あ" * 20000)


def test_resident_filter_never_cites_staff_documents(svc):
    question = "旧桜田小学校の跡地はどうなりますか"
    unfiltered = svc.ask(question)
    everything = [c.passage for c in unfiltered.citations] + unfiltered.related
    assert any(p.audience == "staff" for p in everything)  # the filter has something to hide
    a = svc.ask(question, filters=SearchFilters(audiences=["public"]))
    shown = [c.passage for c in a.citations] + a.related
    assert shown and all(p.audience == "public" for p in shown)


def _ev(*texts: str) -> Evidence:
    from assistant.evidence import QueryTerms

    passages = [Passage(f"d{i}", f"資料{i}", "第1章", [i + 1], t, 1.0) for i, t in enumerate(texts)]
    return Evidence("質問", passages, QueryTerms(["計画"], {"計画": 1.0}), 1.0)


def test_verify_rejects_numbers_no_passage_states():
    ev = _ev("計画期間は令和６年度から令和10年度までの５年間です。")
    assert verify(ev, "計画期間は令和6年度から令和12年度までです。", "llm", lambda t: []) is None
    ok = verify(ev, "計画期間は2024年度から2028年度までです。", "llm", lambda t: [])
    assert ok is not None and ok.text.endswith("[1]") and ok.citations[0].passage.doc_id == "d0"


def test_verify_rejects_values_and_roles_the_passage_contradicts():
    ev = _ev("企画課長を幹事長とし、副市長を委員長とする。以下の7つの政策分野ごとに方向性を定めています。")
    assert verify(ev, "幹事長は副市長です。", "llm", lambda t: []) is None
    assert verify(ev, "4つの政策分野が定められています。", "llm", lambda t: []) is None
    assert verify(ev, "幹事長は企画課長です。", "llm", lambda t: []) is not None
    assert verify(_ev("委員長は副市長とし、各部長で構成します。"), "幹事長は副市長です。", "llm", lambda t: []) is None
    assert verify(ev, "7 [1]", "llm", lambda t: []) is None  # too bare to be an answer


def test_verify_repairs_citations_to_passages_that_were_not_retrieved():
    ev = _ev("バスの利用者数の目標は1,200千人です。", "ごみの排出量は912グラムです。")
    a = verify(ev, "目標は120万人です[7]。排出量は912グラムです[1]。", "llm", lambda t: [])
    assert a is not None and "[7]" not in a.text
    assert [c.passage.doc_id for c in a.citations] == ["d0", "d1"]


def test_verify_rejects_unknown_proper_nouns():
    ev = _ev("計画は市民と協働して進めます。")
    assert verify(ev, "計画は山田太郎が進めます。", "llm", lambda t: ["山田太郎"] if "山田太郎" in t else []) is None


def test_unreachable_llm_server_falls_back_to_extractive_with_notice(svc):
    from assistant.llm import OpenAICompatGenerator

    engine = AnswerEngine(svc.search, svc.tokenizer, svc.term_stats, svc.embedder,
                          OpenAICompatGenerator("http://127.0.0.1:9/v1", "none", timeout=2.0),
                          covered=CoveredModel.load(svc.settings.covered_model))
    a = engine.ask("後期基本計画の計画期間はいつからいつまでですか")
    assert not a.abstained and a.generator == "extractive" and a.notice and a.citations


def test_an_answer_quoting_two_issuers_says_so(svc):
    from assistant.types import Answer, Citation

    engine = svc.engine
    found = svc.search("計画期間", k=20)
    p = [found[0], next(x for x in found if x.doc_id != found[0].doc_id)]  # two documents
    answer = Answer("計画期間は", "計画期間は5年間です。[1][2]", abstained=False,
                    citations=[Citation(1, p[0]), Citation(2, p[1])])
    issuers = {p[0].doc_id: "佐久市", p[1].doc_id: "音威子府村"}
    engine_issuers = engine.issuers
    try:
        engine.issuers = lambda: issuers
        assert engine.name_issuers(answer).text.endswith("※ 異なる発行元（佐久市・音威子府村）の資料から引用しています。")
        same = Answer("計画期間は", "計画期間は5年間です。[1][2]", abstained=False,
                      citations=[Citation(1, p[0]), Citation(2, p[1])])
        issuers[p[1].doc_id] = "佐久市"
        assert engine.name_issuers(same).text == "計画期間は5年間です。[1][2]"  # one issuer: nothing to say
        issuers[p[1].doc_id] = "村"  # known only by its kind: cannot tell whether it is another municipality
        assert engine.name_issuers(same).text == "計画期間は5年間です。[1][2]"
    finally:
        engine.issuers = engine_issuers


@pytest.mark.parametrize("question", ["地域福祉計画の計画期間は、どの計画のどこに書かれていますか",
                                      "地域福祉計画の計画期間はどこを見れば確認できますか"])
def test_a_question_about_where_something_is_written_gets_document_section_and_page(svc, question):
    a = svc.ask(question)
    assert not a.abstained
    first = a.text.splitlines()[0]
    cited = a.citations[0].passage
    assert first.startswith(f"『{cited.title}』の「") and first.endswith("に記載があります。")
    assert cited.section.split(" > ")[-1][:20] in first and cited.page_ref in first


def test_a_question_that_is_not_about_where_gets_no_location_line(svc):
    a = svc.ask("地域福祉計画の計画期間はいつまでですか")
    assert not a.abstained and "に記載があります。" not in a.text.splitlines()[0]


def test_an_extractive_answer_quotes_the_best_sentences_that_fit_its_length(svc):
    ev = svc.engine.gather("計画期間はいつまでですか", None, None)
    one = svc.engine.extractive(ev, budget=1)
    assert len([x for x in one.text.splitlines() if x.endswith("]")]) == 1  # the best sentence whatever its length
    assert one.text.startswith(ev.quoted[0][2])
    wide = svc.engine.extractive(ev, budget=10_000, relative=0.0, most=4)
    quoted = [x for x in wide.text.splitlines() if x.endswith("]")]
    assert len(quoted) == 4  # at most `most`, best first
    assert quoted[0].startswith(ev.quoted[0][2])
    # a sentence too long for what is left is passed over for a shorter one after it
    first, second = ev.quoted[0][2], ev.quoted[1][2]
    shorter = next(s for _, _, s in ev.quoted[2:] if len(s) < len(second))
    fitted = svc.engine.extractive(ev, budget=len(first) + len(second) - 1, relative=0.0)
    assert second not in fitted.text and shorter in fitted.text


def test_a_conversation_about_one_municipality_stays_with_it(svc):
    engine = svc.engine
    history = [{"role": "user", "content": "佐久市の総合計画の計画期間は？"}, {"role": "assistant", "content": "…"},
               {"role": "user", "content": "基本理念は何ですか"}, {"role": "assistant", "content": "…"}]
    assert engine.keep_issuer("人口の目標はどれくらいに設定されていますか", history).startswith("佐久市 ")
    assert engine.keep_issuer("音威子府村の人口の目標は", history) == "音威子府村の人口の目標は"  # changed by the user
    assert engine.keep_issuer("人口の目標は", None) == "人口の目標は"
    assert engine.keep_issuer("人口の目標は", history[2:]) == "人口の目標は"  # nobody named


@pytest.mark.parametrize("cited, period", [("midorino_kankyo_kihon_keikaku", "令和12年度"),
                                            ("midorino_chiiki_fukushi_keikaku", "令和11年度")])
def test_a_follow_up_stays_with_the_documents_the_previous_answer_cited(svc, cited, period):
    # the earlier question fits several plans; the answer it got cited one of them
    history = [{"role": "user", "content": "計画期間はいつからですか"},
               {"role": "assistant", "content": "…[1]", "documents": [cited]}]
    assert conversation_documents(history) == [cited]
    a = svc.ask("それはいつまで？", history)
    assert not a.abstained and a.citations[0].passage.doc_id == cited and period in a.text, a.text
    # a question that names its issuer is searched as it stands; so is one without the previous documents
    assert conversation_documents(history[:1]) == [] and conversation_documents(None) == []


def test_a_follow_up_keeps_no_document_the_filters_exclude(svc):
    engine = svc.engine
    passages = engine.search("計画期間", k=3)
    only = SearchFilters(doc_ids=["midorino_chiiki_fukushi_keikaku"])
    assert engine.keep_documents(passages, "計画期間", only, ["midorino_kankyo_kihon_keikaku"]) == passages
    kept = engine.keep_documents(passages, "計画期間", None, ["midorino_kankyo_kihon_keikaku"])
    assert kept[0].doc_id == "midorino_kankyo_kihon_keikaku" and len(kept) >= len(passages)


def test_a_follow_up_asks_on_rather_than_hearing_the_same_sentence_again():
    history = [{"role": "user", "content": "計画の期間は？"},
               {"role": "assistant", "content": "計画期間は令和4年度から令和8年度までの5年間です。[1]"}]
    assert previous_answer(history).startswith("計画期間は")
    assert previous_answer([{"role": "user", "content": "計画の期間は？"}]) == ""
    ranked = [(0.9, 0, "計画期間は令和4年度から令和8年度までの5年間です。"), (0.8, 0, "計画は5年ごとに見直します。")]
    assert [s for _, _, s in asked_on(ranked, previous_answer(history), 0.8)][0] == "計画は5年ごとに見直します。"
    assert asked_on(ranked, previous_answer(history), 1.0) == ranked  # the share 1.0: unchanged
    assert asked_on(ranked, "", 0.8) == ranked  # no earlier answer
    # full-width and half-width forms of the same sentence are the same sentence
    wide = [(0.9, 0, "計画期間は令和４年度から令和８年度までの５年間です。"), (0.8, 0, "計画は5年ごとに見直します。")]
    assert asked_on(wide, previous_answer(history), 0.8)[0][2] == "計画は5年ごとに見直します。"


@pytest.mark.parametrize("question, quoted, expected", [
    ("作品展の入場者数は、目標どおりになると何人増えますか", [("展覧会の入場者数700人(2014年度)→年1,500人(2019年度)", 1)],
     "資料の「1,500人」と「700人」の差は800人です。[1]"),
    ("村長と副村長の給料月額はどれくらい差がありますか", [("給料月額等: 578,000円 493,000円", 1), ("区分: 給料 村長 副村長", 2)],
     "資料の「578,000円」と「493,000円」の差は85,000円です。[1]"),
    ("高齢化率は前回と比べて何ポイント上がりましたか", [("高齢化率は29.5%で、前回の25.7%から上昇した。", 1)],
     "資料の「29.5%」と「25.7%」の差は3.8ポイントです。[1]"),
    # two sentences, each with one figure: both cited
    ("推計と実態の人口は何人ずれていますか", [("推計では2015年に932人とされている。", 1), ("実態は890人程度である。", 2)],
     "資料の「932人」と「890人」の差は42人です。[1][2]"),
])
def test_a_difference_asked_for_is_worked_out_from_the_two_figures_quoted(question, quoted, expected):
    from assistant.answer import difference

    assert difference(question, quoted) == expected


@pytest.mark.parametrize("question, quoted", [
    ("高齢化率は何ポイント増えましたか", [("高齢化率は29.0％で、前回比3.1ポイント増加した。", 1)]),  # stated: quote it
    ("入場者数は何人ですか", [("展覧会の入場者数700人→1,500人", 1)]),  # no difference asked
    ("何人増えますか", [("700人、1,500人、2,000人と増える。", 1)]),  # three figures: which two is a guess
    ("何人増えますか", [("入場者数は1,500人。", 1)]),  # one figure
    ("何人増えますか", [("入場者数は1,500人、予算は700円。", 1)]),  # two units
])
def test_no_difference_is_worked_out_when_it_would_be_a_guess(question, quoted):
    from assistant.answer import difference

    assert difference(question, quoted) is None


def _premise_ev(question: str, query: str, *sentences: str) -> Evidence:
    ev = _ev(*sentences)
    ev.question, ev.query = question, query
    ev.ranked_sentences = [(1.0 - k / 10, k, s) for k, s in enumerate(sentences)]
    return ev


def test_a_premise_is_corrected_with_the_figure_for_the_year_the_conversation_is_about():
    from assistant.answer import premise_conflict

    question = "500人くらいでしたよね"
    ev = _premise_ev(question, "2060年の人口は何人ですか 500人くらいでしたよね",
                     "2010年の995人から2060年には240人程度へと減少する見込みです。")
    answer = premise_conflict(question, ev)
    assert answer is not None and "「240人」" in answer.text and "「500人」" in answer.text
    assert answer.citations[0].passage.doc_id == "d0"


def test_a_premise_a_well_ranked_sentence_states_is_not_corrected():
    from assistant.answer import premise_conflict

    question = "計画期間は令和8年度までですよね"
    draft = "素案では計画期間を令和4年度から令和9年度までとしていた。"
    ev = _premise_ev(question, question, draft, "計画期間は令和4年度から令和8年度までです。")
    assert premise_conflict(question, ev) is None  # the second sentence agrees: the answer quotes it
    corrected = premise_conflict(question, _premise_ev(question, question, draft))
    assert corrected is not None and "令和9年度" in corrected.text  # only a disagreeing sentence: corrected


def test_a_table_rows_value_is_quoted_with_the_rows_label(svc):
    from assistant.text.sentences import row_label

    rows = ["◎7月分\n工事名: 北町線青葉橋塗装工事\n入札参加業者: (株)東山建設\n予定価格: 12,000,000円\n"
            "契約価格(落札率): 11,500,000円(95.8%)",
            "◎7月分\n工事名: 南町線桜橋補修工事\n入札参加業者: (株)西川組\n予定価格: 9,000,000円\n"
            "契約価格(落札率): 8,000,000円(90.0%)"]
    passages = [Passage(f"bid{i}", "入札結果", f"◎7月分 > {i + 1}行目", [3], t, 1.0 - i / 10, is_record=True)
                for i, t in enumerate(rows)]
    e = svc.engine
    engine = AnswerEngine(lambda q, k, filters: passages, e.tokenizer, e.stats, covered=e.covered_model,
                          quote=e.quote_model)
    ev = engine.gather("北町線の青葉橋塗装工事は、いくらで契約されましたか", None, None)
    # the value is read with its row's label: the price line outranks the line that only names the work
    assert ev.ranked_sentences[0][2] == "契約価格(落札率): 11,500,000円(95.8%)"
    text = engine.extractive(ev, budget=10).text
    assert text.startswith("工事名: 北町線青葉橋塗装工事\n契約価格(落札率): 11,500,000円(95.8%)[1]"), text
    assert text.count("工事名: 北町線青葉橋塗装工事") == 1
    assert row_label("No.: 3\n区分: 国\n平均月額: 320,000円") == "区分: 国"  # a row number names no row
    assert row_label("本文だけの行") == ""
