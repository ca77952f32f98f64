"""The evaluation scoring on hand-made results: splits, the document-stem rule, answers, follow-ups, checks.

No index and no model: these are the functions every reported figure goes through, so they are tested
on cases whose right figures can be worked out by hand.
"""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import pytest

from eval.answer_eval import answer_scores, run_answer_eval, score_answers
from eval.check_eval import check_scores, evidence_hit
from eval.cli import search_scores
from eval.ingest_check import main as ingest_check
from eval.ingest_check import unexpected_failures
from eval.metrics import DOC_SUFFIXES, doc_stem, is_hit, per_split, split_of
from eval.multiturn_eval import conversation_row, converse, multiturn_scores, run_multiturn_eval


def _answer(text: str, abstained: bool = False, cited: str = "") -> dict:
    citations = [{"doc": "d", "text": cited}] if cited else []
    return {"answer": text, "abstained": abstained, "citations": citations}


class FakeService:
    """Answers from a table keyed by question; records the history each question came with."""

    generator_name = "fake"

    def __init__(self, table: dict[str, dict]):
        self.table, self.seen = table, []

    def ask(self, question, history=None):
        self.seen.append((question, history))
        return SimpleNamespace(to_dict=lambda: self.table[question])


# ------------------------------------------------------------------ splits and documents
def test_missing_split_counts_as_tune_and_splits_are_reported_in_order():
    assert split_of({}) == split_of({"split": None}) == "tune" and split_of({"split": "check"}) == "check"
    rows = [{"split": "check", "v": 1}, {"split": "tune", "v": 0}, {"split": "extra", "v": 1},
            {"split": "tune", "v": 1}]
    out = per_split(rows, lambda rs: {"n": len(rs), "sum": sum(r["v"] for r in rs)})
    assert list(out) == ["tune", "check", "extra", "all"]
    assert out["tune"] == {"n": 2, "sum": 1} and out["check"] == {"n": 1, "sum": 1} and out["all"]["n"] == 4


def test_a_split_without_cases_is_left_out_but_all_is_always_there():
    assert list(per_split([{"split": "tune"}], len)) == ["tune", "all"]
    assert per_split([], len) == {"all": 0}


@pytest.mark.parametrize("doc, stem", [
    ("saku_houshin", "saku_houshin"), ("saku_houshin.txt", "saku_houshin"), ("2020-09.PDF", "2020-09"),
    ("env6_plan_an.html", "env6_plan_an"), ("plan_v1.2", "plan_v1.2"), ("r7.kouhou", "r7.kouhou"),
    (None, None),
])
def test_doc_stem_cuts_only_document_extensions(doc, stem):
    assert doc_stem(doc) == stem


def test_doc_suffixes_cover_everything_the_loader_reads():
    from ingest.load import SUPPORTED_SUFFIXES

    assert set(SUPPORTED_SUFFIXES) <= DOC_SUFFIXES


def test_hit_needs_the_document_by_stem_and_the_text_after_normalisation():
    case = {"doc": "2024-06.pdf", "source_contains": "令和６年 ６月"}
    assert is_hit({"doc": "2024-06", "text": "……令和6年6月に…"}, case)
    assert not is_hit({"doc": "2024-05", "text": "令和6年6月"}, case)
    assert not is_hit({"doc": "2024-06", "text": "令和6年7月"}, case)


def test_search_scores_per_split():
    rows = [{"split": "tune", "hits": [True, False]}, {"split": "check", "hits": [False, True]},
            {"split": "check", "hits": [False] * 10}]
    out = per_split(rows, search_scores)
    assert out["tune"]["hit@1"] == 1.0 and out["check"]["hit@1"] == 0.0 and out["check"]["hit@5"] == 0.5
    assert out["check"]["mrr@10"] == pytest.approx(0.25) and out["all"]["cases"] == 3


def test_per_kind_groups_each_split_by_kind_and_leaves_out_rows_without_one(tmp_path):
    from eval.metrics import per_kind, select_split, write_rows

    rows = [{"split": "tune", "kind": "numeric", "hits": [True]}, {"split": "check", "kind": "numeric", "hits": [False]},
            {"split": "check", "kind": "fact", "hits": [True]}, {"split": "check", "hits": [True]}]
    out = per_kind(rows, search_scores)
    assert list(out) == ["tune", "check", "all"]
    assert set(out["tune"]) == {"numeric"} and out["tune"]["numeric"]["hit@1"] == 1.0
    assert out["check"]["numeric"]["hit@1"] == 0.0 and out["check"]["fact"]["cases"] == 1
    assert out["all"]["numeric"]["cases"] == 2
    cases = [{"id": 1, "split": "tune"}, {"id": 2, "split": "check"}, {"id": 3}]
    assert [c["id"] for c in select_split(cases, "tune")] == [1, 3]  # no split counts as tune
    assert [c["id"] for c in select_split(cases, "check")] == [2] and select_split(cases, "all") == cases
    write_rows(str(tmp_path / "rows.jsonl"), rows)
    assert [json.loads(x) for x in (tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines()] == rows


# ------------------------------------------------------------------ answers
CASES = [
    {"id": "a", "answer_keys": [["7つ", "七つ"]], "source_contains": "7つの政策", "split": "tune"},
    {"id": "b", "answer_keys": [["3.1"]], "source_contains": "3.1ポイント", "split": "check"},
    {"id": "c", "answer_keys": [["2060"], ["460"]], "source_contains": "460人", "split": "check"},
    {"id": "u", "answer_keys": [], "source_contains": "", "doc": None, "split": "check"},
    {"id": "v", "answer_keys": []},  # no split: tune
]
ANSWERS = {
    "a": _answer("７つの政策分野です。[1]", cited="７つの 政策分野"),
    "b": _answer("資料には記載が見当たりません。", abstained=True),
    "c": _answer("2060年には約500人です。[1]", cited="460人程度"),
    "u": _answer("資料には記載が見当たりません。", abstained=True),
    "v": _answer("たぶん5年です。"),
}


def test_answer_scores_count_false_abstentions_apart_and_split():
    scores, rows = score_answers(CASES, ANSWERS)
    assert scores["key_fact_accuracy"] == pytest.approx(1 / 3)
    assert scores["citation_support"] == pytest.approx(2 / 3)
    assert scores["false_abstention"] == pytest.approx(1 / 3) and scores["abstention_accuracy"] == 0.5
    assert scores["mean_seconds"] is None
    out = per_split(rows, answer_scores)
    assert out["tune"]["key_fact_accuracy"] == 1.0 and out["tune"]["abstention_accuracy"] == 0.0
    assert out["check"]["key_fact_accuracy"] == 0.0 and out["check"]["false_abstention"] == 0.5
    assert out["check"]["abstention_accuracy"] == 1.0
    assert (out["check"]["answerable"], out["check"]["unanswerable"]) == (2, 1)


def test_a_split_without_unanswerable_questions_has_no_abstention_figure():
    _, rows = score_answers(CASES[:1], ANSWERS)
    assert answer_scores(rows)["abstention_accuracy"] is None


def test_answers_command_prints_a_row_per_split(capsys):
    svc = FakeService({f"q{c['id']}": ANSWERS[c["id"]] for c in CASES})
    cases = [{**c, "question": f"q{c['id']}"} for c in CASES]
    args = argparse.Namespace(cases="x_qa.jsonl", json=False, verbose=False)
    assert run_answer_eval(args, svc, cases) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "answers x_qa.jsonl: generator fake"
    assert [x.split()[0] for x in lines[2:5]] == ["tune", "check", "all"]
    confusion = lines[lines.index(next(x for x in lines if x.startswith("covered or not"))) + 2:][:6]
    # tune: one answerable answered, one unanswerable answered; check: 1 + 1 answerable, 1 unanswerable declined
    assert [x.split()[-2:] for x in confusion[:4]] == [["1", "0"], ["1", "0"], ["1", "1"], ["0", "1"]]
    run_answer_eval(argparse.Namespace(cases="x", json=True, verbose=True), svc, cases)
    out = json.loads(capsys.readouterr().out)  # one JSON document, even with -v
    assert list(out["scores"]) == ["tune", "check", "all"] and len(out["cases"]) == 5
    assert out["covered_confusion"]["check"] == {"answerable_answered": 1, "answerable_declined": 1,
                                                 "unanswerable_answered": 0, "unanswerable_declined": 1}


# ------------------------------------------------------------------ follow-up conversations
MT = [
    {"id": "m1", "turns": ["計画期間は？", "その終わりは2030年ですよね？"], "answer_keys": [["2031"]],
     "source_contains": "2031年", "split": "tune", "false_premise": True},
    {"id": "m2", "turns": ["人口ビジョンは？", "2060年は？"], "answer_keys": [["460"]], "source_contains": "460人",
     "split": "check"},
]


def test_turns_are_asked_in_order_with_the_conversation_so_far():
    svc = FakeService({"t1": _answer("A1"), "t2": _answer("A2"), "t3": _answer("A3")})
    answers = converse(svc, ["t1", "t2", "t3"])
    assert [a["answer"] for a in answers] == ["A1", "A2", "A3"]
    assert svc.seen[0] == ("t1", [])
    assert svc.seen[2][1] == [{"role": "user", "content": "t1"}, {"role": "assistant", "content": "A1", "documents": []},
                              {"role": "user", "content": "t2"}, {"role": "assistant", "content": "A2", "documents": []}]
    cited = FakeService({"t1": _answer("A1", cited="x"), "t2": _answer("A2")})
    converse(cited, ["t1", "t2"])
    assert cited.seen[1][1][1]["documents"] == ["d"]  # the cited documents go back as the chat sends them


def test_only_the_last_turn_is_scored_and_an_abstention_is_wrong():
    right_then_abstain = [_answer("2031年まで"), _answer("2031年です", abstained=True)]
    assert not conversation_row(MT[0], right_then_abstain)["correct"]
    wrong_then_right = [_answer("わかりません", abstained=True), _answer("いいえ、2031年度までです。", cited="2031年")]
    row = conversation_row(MT[0], wrong_then_right, 1.5)
    assert row["correct"] and row["cited"] and row["false_premise"]
    assert row["turns"] == 2 and row["seconds"] == 1.5


def test_multiturn_scores_report_false_premise_cases_apart():
    rows = [conversation_row(MT[0], [_answer("2031年度まで")]),
            conversation_row(MT[1], [_answer("約500人")]),
            conversation_row({**MT[1], "split": "tune"}, [_answer("記載が見当たりません", abstained=True)])]
    out = per_split(rows, multiturn_scores)
    assert out["all"]["key_fact_accuracy"] == pytest.approx(1 / 3)
    assert out["all"]["false_premise_accuracy"] == 1.0
    assert out["all"]["other_accuracy"] == 0.0 and out["all"]["false_premise"] == 1
    assert out["tune"]["abstained"] == 0.5 and out["check"]["false_premise_accuracy"] is None


def test_multiturn_command(capsys):
    svc = FakeService({"計画期間は？": _answer("2022年度から2031年度まで"), "その終わりは2030年ですよね？": _answer("いいえ、2031年度です"),
                       "人口ビジョンは？": _answer("推計です"), "2060年は？": _answer("460人程度", cited="460人程度")})
    assert run_multiturn_eval(argparse.Namespace(cases="x", json=True, verbose=False), svc, MT) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scores"]["all"]["key_fact_accuracy"] == 1.0 and out["scores"]["check"]["cases"] == 1


# ------------------------------------------------------------------ draft checks
def test_check_scores_per_split_with_evidence_over_consistent_and_conflict_only():
    details = [
        {"split": "tune", "expected": "conflict", "verdict": "conflict", "evidence_hit": True},
        {"split": "tune", "expected": "consistent", "verdict": "conflict", "evidence_hit": False},
        {"split": "check", "expected": "unsupported", "verdict": "unsupported", "evidence_hit": None},
        {"split": "check", "expected": "conflict", "verdict": "conflict", "evidence_hit": True},
    ]
    out = per_split(details, check_scores)
    assert out["tune"]["conflict"]["precision"] == 0.5 and out["tune"]["consistent"]["recall"] == 0.0
    assert out["tune"]["evidence_accuracy"] == 0.5 and out["check"]["evidence_accuracy"] == 1.0
    assert out["check"]["macro_f1"] == 1.0  # no consistent case expected or predicted: not averaged in
    assert out["tune"]["macro_f1"] == pytest.approx(1 / 3)  # conflict 2/3, consistent 0; no unsupported
    assert (out["all"]["evidence_found"], out["all"]["evidence_cases"], out["all"]["cases"]) == (2, 3, 4)


def test_evidence_must_come_from_the_case_document_by_stem():
    case = {"doc": "otoineppu_jinko.pdf", "evidence_contains": "460人程度"}
    assert evidence_hit([{"doc": "otoineppu_jinko", "text": "2060年には460人 程度"}], case)
    assert not evidence_hit([{"doc": "otoineppu_sogosenryaku", "text": "460人程度"}], case)
    # unsupported cases have no evidence text: nothing can match it
    assert not evidence_hit([{"doc": "otoineppu_jinko", "text": "x"}], {**case, "evidence_contains": ""})


def test_generator_choice_is_validated_as_settings_not_patched_in(monkeypatch, tmp_path):
    from assistant.cli.common import open_service
    from assistant.errors import ConfigError

    for var in ("PLAN_ASSISTANT_OPENAI_BASE_URL", "PLAN_ASSISTANT_OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    args = argparse.Namespace(what="answers", generator="openai", data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="generator=openai needs"):
        open_service(args, generator=args.generator)


# ------------------------------------------------------------------ make eval's ingest gate
def _report(*files):
    statuses = ("added", "replaced", "skipped", "failed", "ignored")
    summary = {s: sum(f["status"] == s for f in files) for s in statuses}
    return json.dumps({"summary": summary, "files": list(files)}, ensure_ascii=False)


OCR = {"path": "c/R03hinannpoint.pdf", "status": "failed",
       "reason": "no text layer on any page (needs OCR): run OCR on the PDF and ingest it again"}


def test_ingest_gate_passes_only_pdfs_without_a_text_layer(capsys):
    ok = {"path": "c/a.txt", "status": "added", "reason": ""}
    assert ingest_check("progress noise\n" + _report(ok, OCR)) == 0
    broken = {"path": "c/b.pdf", "status": "failed", "reason": "encrypted (needs a password)"}
    assert ingest_check(_report(ok, OCR, broken)) == 1
    assert unexpected_failures(json.loads(_report(OCR, {**OCR, "path": "c/x.html"})))[0]["path"] == "c/x.html"
    assert ingest_check("") == 1  # the ingest stopped before its report
    assert ingest_check(_report(OCR)) == 1  # nothing indexed: every figure would be zero
    assert "FAILED c/b.pdf" in capsys.readouterr().out


def test_perturbed_cases_raise_one_figure_of_a_consistent_tune_statement():
    from eval.perturbed_cases import perturbed, raised

    assert (raised("８"), raised("29.0"), raised("1,840"), raised("abc")) == ("9", "29.3", "1,940", None)
    case = {"id": "x1", "draft": "計画期間は令和４年度から令和８年度までの５年間で、目標は29.0％とする。",
            "expected": "consistent", "evidence_contains": "令和4年度", "doc": "plan", "split": "tune"}
    drafts = [c["draft"] for c in perturbed(case)]
    assert "計画期間は令和４年度から令和9年度までの５年間で、目標は29.0％とする。" in drafts
    assert "計画期間は令和４年度から令和８年度までの6年間で、目標は29.0％とする。" in drafts
    assert "計画期間は令和４年度から令和８年度までの５年間で、目標は29.3％とする。" in drafts
    assert all(c["expected"] == "conflict" and c["split"] == "tune" for c in perturbed(case))


def test_english_renderings_keep_their_case_and_drop_what_is_not_english():
    from eval.english_cases import rendered, to_render

    case = {"id": "q1", "split": "tune", "kind": "numeric", "question": "計画期間は何年ですか",
            "answer_keys": [["5年"]], "source_contains": "5年間"}
    row = rendered(case, "How many years is the plan period?\nextra line")
    assert row is not None and row["id"] == "q1-en" and row["question"] == "How many years is the plan period?"
    assert row["kind"] == "crosslingual" and row["answer_keys"] == [["5年"]] and row["translated_from"] == "計画期間は何年ですか"
    unanswerable = rendered({**case, "answer_keys": []}, "What is the mayor's hobby?")
    assert unanswerable is not None and unanswerable["kind"] == "unanswerable"
    assert rendered(case, "計画期間は何年ですか") is None  # not English
    assert rendered(case, "I apologize, but I cannot assist with that request.") is None
    assert rendered(case, "") is None
    english = {**case, "id": "q2", "question": "How long is the plan?"}
    assert [c["id"] for c in to_render([case, english, {**case, "id": "q3", "split": "check"}])] == ["q1"]


def test_english_renderings_in_the_repository_are_tune_cases():
    from pathlib import Path

    rows = [json.loads(line) for line in (Path(__file__).parents[1] / "eval" / "english_tune.jsonl").open(encoding="utf-8")]
    assert len(rows) >= 100 and all(r["split"] == "tune" and r["id"].endswith("-en") for r in rows)
    assert all(r["translated_from"] and r["question"] != r["translated_from"] for r in rows)


def test_restated_cases_write_a_statement_in_other_notation_and_keep_its_verdict():
    from eval.perturbed_cases import restated

    case = {"id": "x", "draft": "計画期間は2024年度から2028年度までの5年間で、利用者1,840人を目指す。",
            "expected": "conflict", "evidence_contains": "e", "doc": "d", "split": "tune"}
    out = {c["id"]: c for c in restated(case)}
    assert out["x-r0"]["draft"] == "計画期間は令和6年度から令和10年度までの5年間で、利用者1,840人を目指す。"
    assert out["x-r1"]["draft"] == "計画期間は２０２４年度から２０２８年度までの５年間で、利用者１,８４０人を目指す。"
    assert all(c["expected"] == "conflict" and c["evidence_contains"] == "e" for c in out.values())
    era = {**case, "draft": "令和元年度に策定し、平成30年度の実績は12件であった。"}
    assert next(restated(era))["draft"] == "2019年度に策定し、2018年度の実績は12件であった。"
    assert [c["id"] for c in restated({**case, "draft": "計画を策定する。"})] == []  # nothing to restate
