"""The real corpus in ../shared: every readable file indexed, and the development cases replayed.

The figures asserted are floors a little under what the code reaches on the `check` split of
../shared/eval (measured with `make eval`, listed in the README): a regression fails here, and no
case is a rule. Ingesting the whole corpus takes minutes, so these tests are `slow`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from tests.helpers import EVAL

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

SCANNED = {"R03hinannpoint", "R4rakuhyousetsujikoboushi"}  # no text layer: read by OCR


def _cases(name: str) -> list[dict]:
    path = EVAL / name
    if not path.exists():
        pytest.skip(f"{path} not found: evaluation cases live in ../shared/eval")
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_every_file_with_a_text_layer_is_ingested(corpus_svc):
    results = {Path(r.path).stem: r for r in corpus_svc.corpus_results}
    failed = {k: r.reason for k, r in results.items() if r.status == "failed"}
    assert not failed, failed
    assert len(results) == len(corpus_svc.documents())
    for stem in SCANNED:  # the image-only PDFs are indexed from OCR, and say so
        assert results[stem].chunks > 0 and any("OCR" in w for w in results[stem].warnings), results[stem]


def test_newsletters_read_as_japanese(corpus_svc):
    for stem in ("2020-09", "2021-02", "2022-01", "2023-10", "2024-05"):
        passages = corpus_svc.search("お知らせ", k=50, filters=_doc(stem))
        text = "".join(p.text for p in passages)
        jp = sum(bool(re.match(r"[\u3040-\u30ff\u4e00-\u9fff]", c)) for c in text)
        assert text and jp / len(text) > 0.5, stem
        assert not re.search(r"[\u2e80-\u2fdf]", unicodedata.normalize("NFKC", text)), stem


def _doc(stem: str):
    from assistant.types import SearchFilters

    return SearchFilters(doc_ids=[stem])


def _check_split(cases: list[dict]) -> list[dict]:
    return [c for c in cases if c.get("split") == "check"]


def _written(path: str) -> list[dict]:
    """Cases written for these tests (tests/statements, tests/questions), not evaluation cases."""
    text = (Path(__file__).parent / path).read_text(encoding="utf-8")
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def _right_verdicts(svc, path: str) -> tuple[list[str], list[dict]]:
    """The ids of the written statements in `path` the draft check judges as expected, and every verdict."""
    from eval.check_eval import evaluate_check

    _, details = evaluate_check(svc, _written(path))
    return [d["id"] for d in details if d["verdict"] == d["expected"]], details


def _answer_scores(svc, path: str) -> tuple[dict, list[dict]]:
    """The answer scores of the written questions in `path`, and their rows."""
    from eval.answer_eval import score_answers

    cases = _written(path)
    return score_answers(cases, {c["id"]: svc.ask(c["question"]).to_dict() for c in cases})


def test_hybrid_retrieval_on_the_check_split_beats_bm25(corpus_svc):
    from eval.cli import eval_search

    cases = _check_split(_cases("dev_qa.jsonl"))
    scores = {mode: eval_search(corpus_svc, cases, mode)[0] for mode in ("sparse", "dense", "hybrid")}
    hybrid = scores["hybrid"]
    assert hybrid["cases"] >= 50, scores
    # measured (fitted reranker, English dictionary terms with senses chosen by a first search and reranked,
    # issuers, printed titles): hybrid hit@5 .915 / MRR .809; BM25 .831 / .768; dense below both
    assert hybrid["hit@5"] >= 0.88 and hybrid["mrr@10"] >= 0.75, scores  # a case of margin below .915
    assert hybrid["hit@5"] > scores["sparse"]["hit@5"] and hybrid["mrr@10"] > scores["sparse"]["mrr@10"], scores
    assert hybrid["mrr@10"] >= scores["dense"]["mrr@10"], scores


def test_extractive_answers_on_the_check_split(corpus_svc):
    from eval.answer_eval import score_answers

    cases = _check_split(_cases("dev_qa.jsonl"))
    answers = {c["id"]: corpus_svc.ask(c["question"]).to_dict() for c in cases}
    scores, rows = score_answers(cases, answers)
    assert scores["answerable"] >= 50 and scores["unanswerable"] >= 10, scores
    # measured: key facts .559, citation support .797, "not covered" on .102 of the answerable, on .583 of the
    # unanswerable (.542 / .780 / .119 / .583 before words were counted in their normalised form); before the
    # fitted covered-or-not model: .305 / .576 / .254 / .417
    assert scores["key_fact_accuracy"] >= 0.48, rows
    assert scores["citation_support"] >= 0.72, rows
    assert scores["false_abstention"] <= 0.13, rows
    assert scores["abstention_accuracy"] >= 0.41, rows  # one case of margin below 6 of 12


def test_draft_check_on_the_check_split(corpus_svc):
    from eval.check_eval import evaluate_check

    cases = _check_split(_cases("dev_draft_check.jsonl"))
    scores, details = evaluate_check(corpus_svc, cases)
    assert scores["cases"] >= 35, scores
    # measured: macro-F1 .858, conflict precision .923 / recall .750, evidence shown .931 (.799, .909 / .625,
    # .897 before units of one measure were converted)
    assert scores["macro_f1"] >= 0.82, details
    assert scores["conflict"]["precision"] >= 0.85, details
    assert scores["conflict"]["recall"] >= 0.68, details
    assert scores["evidence_accuracy"] >= 0.86, details


def test_plan_periods_are_judged_by_the_plan_the_statement_names(corpus_svc):
    """Period statements written for this test (tests/statements/period_statements.jsonl, not evaluation cases)
    over six corpus documents: the plan's own period confirms or contradicts, not another plan's."""
    right, details = _right_verdicts(corpus_svc, "statements/period_statements.jsonl")
    # measured: 42 of 44 (a period of drafting is read as the plan's; 「10年間で、平成36年度に終わる」)
    assert len(right) >= 41, details


def test_roles_and_departments_in_a_municipalitys_wording(corpus_svc):
    """Role and department statements written for this test (tests/statements/role_statements.jsonl, not
    evaluation cases) over three corpus documents: 「…をもって充てる」 for any office, a village head named with
    the village's name, 係 as a department, a relative clause before a committee's name."""
    right, details = _right_verdicts(corpus_svc, "statements/role_statements.jsonl")
    # measured: 19 of 20 (「総括は、危機管理監(以下…)が行う」: an actor followed by a parenthesis is not compared)
    assert len(right) >= 18, details


def test_who_acts_and_how_many_in_a_villages_and_a_citys_wording(corpus_svc):
    """Statements written for this test (tests/statements/actor_statements.jsonl, not evaluation cases) over
    six corpus documents: the department or office holder who acts (副村長が ⇔ 総務課長は), counts, targets and
    figures from tables, each consistent and changed."""
    right, details = _right_verdicts(corpus_svc, "statements/actor_statements.jsonl")
    # measured: 30 of 32 (a room the draft names is found in a newsletter; the salary table's columns are
    # read apart, so 57人 meets 「一人当たり」); 28 of 32 before office holders were compared
    assert len(right) >= 29, details


def test_a_figure_in_another_unit_is_a_conflict(corpus_svc):
    """Statements written for this test (tests/statements/unit_statements.jsonl, not evaluation cases) over
    four corpus documents: each figure once as the document states it (3日分 for 「最低3日間」, 116ha for
    116ヘクタール, 84億立方メートル for 84億m3) and once in another unit (3週間, 116平方キロメートル, 84億リットル,
    日額 for 時間額, 0.8割 for 0.8%)."""
    right, details = _right_verdicts(corpus_svc, "statements/unit_statements.jsonl")
    # measured: 18 of 22; 14 before units of one measure converted (3週間 against 3日間 and 116平方キロメートル
    # against 116ヘクタール were "unsupported") and an amount's basis was compared (月額 ⇔ 年額). Not found: tons
    # against kilolitres; 時間額 ⇔ 日額 in a table row whose caption comes from the row above (it states another
    # date); 「千円2,989」 read apart
    assert len(right) >= 17, details


def test_where_a_measure_is_written_in_a_residents_wording(corpus_svc):
    """"Where is this covered?" questions written for this test (tests/questions/where_questions.jsonl, not
    evaluation cases) over nine corpus documents, in other words than the documents' (子どもを連れた人 for
    乳幼児連れ, 役場に来やすく for 来庁): the answer names the document and the section."""
    scores, rows = _answer_scores(corpus_svc, "questions/where_questions.jsonl")
    # measured: 14 of 14 with every key fact, none declined (12 and 2 declined while word coverage compared
    # normalised words with raw text)
    assert scores["key_fact_accuracy"] >= 12 / 14 and scores["false_abstention"] <= 1 / 14, rows


def test_residents_questions_in_their_own_words(corpus_svc):
    """Questions written for this test (tests/questions/resident_questions.jsonl, not evaluation cases) over
    twelve corpus documents in a resident's words (何時に開館, 何年契約, 使い終わった小型家電), two of them about
    what no document says."""
    scores, rows = _answer_scores(corpus_svc, "questions/resident_questions.jsonl")
    assert scores["answerable"] == 20 and scores["unanswerable"] == 2, scores
    # measured: 16 of 20 with every key fact, 1 of 20 declined (a table's cell far from its label), 1 of 2
    # unanswerable declined (「何時に開館」 is answered with another passage: a time of day is not an asked kind,
    # as the best sentences by the hand score miss 「10:00-21:00」 where it is asked in a follow-up)
    assert scores["key_fact_accuracy"] >= 15 / 20 and scores["false_abstention"] <= 2 / 20, rows
    assert scores["abstention_accuracy"] >= 1 / 2, rows
