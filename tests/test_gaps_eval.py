"""The reverse-gap evaluation (eval/gaps_eval.py): its metric functions on hand-built inputs, and one
run over the bundled sample documents, where a draft of two statements of the environment plan
leaves out two of its targets."""

from __future__ import annotations

import argparse
import json

import pytest

from eval.gaps_eval import aggregate, draft_row, evaluate_gaps, gap_cases, halves, listed, run_gaps_eval
from tests.helpers import sample_service

DOC = "midorino_kankyo_kihon_keikaku"


def case(id_: str, doc: str = "plan_a", split: str = "tune", expected: str = "consistent",
         evidence: str = "目標値は50％") -> dict:
    return {"id": id_, "doc": doc, "split": split, "expected": expected, "draft": f"{id_}の文。",
            "evidence_contains": evidence}


def test_gap_cases_keeps_documents_with_enough_judged_statements_of_the_split():
    cases = [case(i) for i in ("d", "b", "a", "c")]
    cases += [case("u", expected="unsupported"), case("n", evidence=""), case("k", split="check")]
    cases += [case(i, doc="plan_b") for i in ("x", "y", "z")]  # three: too few
    cases += [{**case(i, doc="plan_c"), "split": None} for i in ("p", "q", "r", "s")]  # no split = tune
    got = gap_cases(cases, "tune")
    assert list(got) == ["plan_a", "plan_c"]
    assert [c["id"] for c in got["plan_a"]] == ["a", "b", "c", "d"]
    assert gap_cases(cases, "check") == {}


def test_halves_put_the_larger_half_in_the_draft():
    five = [case(str(i)) for i in range(5)]
    draft, left_out = halves(five)
    assert [c["id"] for c in draft] == ["0", "1", "2"] and [c["id"] for c in left_out] == ["3", "4"]
    assert [len(h) for h in halves(five[:4])] == [2, 2]


def test_listed_matches_normalised_evidence_in_gaps_of_the_document_only():
    gaps = [{"doc": "plan_a", "text": "令和12年度の目標値は ５０％ とします。"},
            {"doc": "plan_b", "text": "公用車の電動化率 / 40%"}]
    assert listed(case("a", evidence="目標値は50％"), gaps, "plan_a")  # NFKC and whitespace
    assert listed(case("a", evidence="目標値は50％"), gaps, "plan_a.pdf")  # a file name compares by stem
    assert not listed(case("a", evidence="公用車の電動化率"), gaps, "plan_a")  # in another document's gap
    assert listed(case("a", evidence="公用車の電動化率|40%"), gaps, "plan_b")  # table separators ignored
    assert not listed(case("a", evidence="目標値は60％"), gaps, "plan_a")
    assert not listed(case("a", evidence=""), gaps, "plan_a")


def test_draft_row_and_aggregate_count_recall_false_gaps_and_gaps():
    draft = [case("a", evidence="基準値"), case("b", evidence="削減目標")]
    left_out = [case("c", evidence="目標値は50％"), case("d", evidence="ごみ排出量")]
    gaps = [{"doc": "plan_a", "text": "目標値は50％とする。"}, {"doc": "plan_a", "text": "温室効果ガスの削減目標"},
            {"doc": "plan_a", "text": "その他"}]
    targets = gaps + [{"doc": "plan_a", "text": "ごみ排出量 / 0.85kg"}]
    row = draft_row("plan_a", "tune", draft, left_out, gaps, targets)
    assert row["found"] == ["c"] and row["false_gaps"] == ["b"] and row["gaps"] == 3
    assert row["recall"] == 0.5 and row["false_gap_rate"] == 0.5
    assert row["reachable"] == 1.0 and row["drafted_targets"] == ["b"]
    other = draft_row("plan_b", "tune", [case("e")], [case("f"), case("g"), case("h")], [])
    assert other["recall"] == 0.0 and "reachable" not in other
    total = aggregate([row, other])
    assert total["recall"] == pytest.approx(1 / 5) and total["false_gap_rate"] == pytest.approx(1 / 3)
    assert total["gaps_per_draft"] == 1.5 and total["drafts"] == 2
    assert total["reachable"] == 1.0  # over the rows that measured it
    assert aggregate([])["recall"] is None


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    s = sample_service(tmp_path_factory.mktemp("gaps"))
    yield s
    s.close()


# Four statements on targets of the sample environment plan: the first two (by id) are the draft,
# one of them with another value than the plan's (it still mentions that target); the other two are left out.
SAMPLE_CASES = [
    {"id": "g1", "split": "tune", "doc": DOC, "expected": "consistent",
     "draft": "2030年度における市域の温室効果ガス排出量を2013年度比で50％削減することを目標とする。",
     "evidence_contains": "2013年度比で50％削減することを目標"},
    {"id": "g2", "split": "tune", "doc": DOC, "expected": "conflict",
     "draft": "令和12年度までに公用車に占める電動車の割合を30％とする。",
     "evidence_contains": "公用車に占める電動車の割合を40％とします"},
    {"id": "g3", "split": "tune", "doc": DOC, "expected": "consistent",
     "draft": "公共施設への太陽光発電設備の設置を進め、令和12年度までに設置可能な施設の50％以上に導入する。",
     "evidence_contains": "設置可能な施設の50％以上に導入"},
    {"id": "g4", "split": "tune", "doc": DOC, "expected": "consistent",
     "draft": "市民１人１日当たりのごみ排出量を0.850kgとする。",
     "evidence_contains": "市民１人１日当たりのごみ排出量"},
]


def test_gaps_of_a_sample_draft_are_the_targets_it_leaves_out(svc):
    scores, rows = evaluate_gaps(svc, SAMPLE_CASES + [{**c, "split": "check"} for c in SAMPLE_CASES[:2]])
    assert len(rows) == 1 and rows[0]["doc"] == DOC
    row = rows[0]
    assert row["draft"] == ["g1", "g2"] and row["left_out"] == ["g3", "g4"]
    assert row["found"] == ["g3", "g4"] and row["recall"] == 1.0
    assert row["false_gaps"] == [] and row["false_gap_rate"] == 0.0  # the conflicting statement mentions its target
    assert row["drafted_targets"] == ["g1", "g2"]  # both could have been listed: the check decided they are mentioned
    assert 2 <= row["gaps"] < row["targets"]
    assert scores["recall"] == 1.0 and scores["gaps_per_draft"] == row["gaps"]


def test_gaps_eval_on_check_reports_the_aggregate_only(svc, capsys):
    cases = [{**c, "split": "check"} for c in SAMPLE_CASES]
    args = argparse.Namespace(cases="cases.jsonl", split="check", against="all", out=None, json=True)
    assert run_gaps_eval(args, svc, cases) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["split"] == "check" and out["documents"] == []
    assert out["scores"]["drafts"] == 1 and out["scores"]["recall"] == 1.0
    args.split, args.json = "all", False  # the default: tune, per document (no tune case here)
    assert run_gaps_eval(args, svc, cases) == 0
    assert "[tune]: 0 drafts" in capsys.readouterr().out
