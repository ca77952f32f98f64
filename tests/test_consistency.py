"""Draft checks over the bundled sample documents (real embedded Qdrant, real models), the
splitting of drafts into statements, value comparison, the CLI, and the development cases
over the real corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.check import check_draft, combined_verdict
from assistant.check.compare import compare_values
from assistant.check.statements import split_statements
from assistant.check.values import values_of
from assistant.cli import main
from assistant.errors import BadRequest
from assistant.samples import PLANTED
from assistant.text.facts import canonical_tokens
from assistant.text.sentences import units
from eval.metrics import norm
from tests.helpers import TEST_VECTOR_CACHE, sample_service

PLAN = "midorino_sogo_keikaku_kouki_soan"  # the comprehensive plan draft: it contains the planted errors
CASES = json.loads(Path(PLANTED).read_text(encoding="utf-8"))
EVIDENCE_KEYS = {"doc", "title", "section", "page", "text", "sentence"}


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    s = sample_service(tmp_path_factory.mktemp("check"))
    yield s
    s.close()


def _run_cli(svc, argv: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """Run the CLI in-process on the fixture's data directory (the service lets go of it meanwhile)."""
    monkeypatch.setenv("PLAN_ASSISTANT_VECTOR_CACHE", str(TEST_VECTOR_CACHE))
    monkeypatch.setenv("PLAN_ASSISTANT_GENERATOR", "extractive")
    svc.close()
    try:
        capsys.readouterr()
        code = main(["--data-dir", str(svc.settings.data_dir), *argv])
        out, err = capsys.readouterr()
    finally:
        svc.start()
    return code, out, err


def _mentions(values: list[str], expected: str) -> bool:
    """`expected` (as written in planted.json) is among `values`, compared as values."""
    tokens = canonical_tokens(expected)
    joined = " ".join(values)
    return tokens <= canonical_tokens(joined) if tokens else norm(expected) in norm(joined)


# --- the planted disagreements --------------------------------------------------------


@pytest.mark.parametrize("against", ["all", "sector_plan"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_planted_disagreements_are_found_with_their_evidence(svc, case, against):
    report = check_draft(svc, case["draft"], against, exclude_docs=[PLAN], gaps=False)
    verdict, result = combined_verdict(report)
    assert verdict == case["expected"], result.explanation if result else report.to_dict()
    if case["expected"] == "unsupported":
        return
    assert result.evidence, result.explanation
    assert all(set(e.to_dict()) >= EVIDENCE_KEYS for e in result.evidence)
    assert any(
        e.passage.doc_id == case["doc"] and norm(case["evidence_contains"]) in norm(e.passage.text)
        for e in result.evidence
    ), [e.to_dict() for e in result.evidence]
    assert PLAN not in {e.passage.doc_id for e in result.evidence}
    draft_value, evidence_value = case["values"]
    assert _mentions(result.draft_values, draft_value), (result.draft_values, draft_value)
    assert _mentions(result.evidence_values, evidence_value), (result.evidence_values, evidence_value)
    if verdict == "conflict":  # both values named in the explanation
        assert _mentions([result.explanation], draft_value) and _mentions(
            [result.explanation], evidence_value
        )


def test_conflict_explanation_names_what_differs(svc):
    report = check_draft(svc, CASES[0]["draft"], "sector_plan", gaps=False)
    [r] = report.statements
    assert r.verdict == "conflict"
    assert "期間" in r.explanation and "原案「" in r.explanation and "資料「" in r.explanation
    assert r.evidence[0].passage.title == "みどり野市地域公共交通計画"
    assert r.evidence[0].passage.page == 1


def test_the_draft_itself_is_not_its_own_evidence_when_excluded(svc):
    draft = "地域支え合い協議会は、令和４年度末時点で市内13小学校区のうち８地区に設置されている。"
    with_plan = check_draft(svc, draft, "all", gaps=False).statements[0]
    assert with_plan.verdict in ("consistent", "conflict")
    without = check_draft(svc, draft, "all", exclude_docs=[PLAN], gaps=False).statements[0]
    assert without.verdict == "conflict"
    assert {e.passage.doc_id for e in without.evidence} == {"midorino_chiiki_fukushi_keikaku"}


# --- statements with and without numbers ---------------------------------------------------


def test_numbers_without_units_are_compared(svc):
    same = check_draft(
        svc,
        "みどり野交通株式会社が、みどり野駅を起点に市内外を結ぶ９路線を運行している。",
        "sector_plan",
        gaps=False,
    ).statements[0]
    assert same.verdict == "consistent", same.explanation
    other = check_draft(
        svc,
        "みどり野交通株式会社が、みどり野駅を起点に市内外を結ぶ12路線を運行している。",
        "sector_plan",
        gaps=False,
    ).statements[0]
    assert other.verdict == "conflict", other.explanation
    assert "12" in " ".join(other.draft_values) and "9" in " ".join(other.evidence_values)


def test_bare_numbers_and_units_as_values():
    a = values_of("本市の合計特殊出生率は1.38（令和４年）である。")
    b = values_of("合計特殊出生率は1.42（令和４年）となっています。", responsible_only=False)
    c = compare_values(a, b)
    assert c.outcome == "conflict" and c.differ[0][1:] == ("1.38", "1.42")
    grams = compare_values(values_of("ごみ排出量は912ｇ"), values_of("ごみ排出量は0.912kg"))
    assert grams.outcome == "support"


def test_statement_without_numbers(svc):
    said = check_draft(
        svc,
        "バスロケーションシステムの導入と、経路検索サービスへの時刻表データの提供により、"
        "分かりやすい情報提供を行う。",
        "sector_plan",
        gaps=False,
    ).statements[0]
    assert said.verdict == "consistent", said.explanation
    assert said.evidence[0].passage.doc_id == "midorino_chiiki_koukyou_koutsuu_keikaku"
    assert "バスロケーションシステム" in said.evidence[0].sentence
    unsaid = check_draft(
        svc, "市内の全ての公園に公衆無線LANを整備し、観光客の利便性を高める。", "sector_plan", gaps=False
    ).statements[0]
    assert unsaid.verdict == "unsupported" and unsaid.evidence == []


def test_gannen_without_era_is_not_judged(svc):
    report = check_draft(svc, "元年度に策定した計画の見直しを行う。", "all", gaps=False)
    [r] = report.statements
    assert r.verdict == "not_judged" and "元年" in r.explanation
    fine = check_draft(svc, "令和元年東日本台風では、みどり野川が氾濫危険水位を超えた。", "all", gaps=False)
    assert fine.statements[0].verdict != "not_judged"


def test_fragments_are_not_judged(svc):
    report = check_draft(svc, "第１章　総論\n令和５年11月\nみどり野市\n", "all", gaps=False)
    assert [r.verdict for r in report.statements] == ["not_judged", "not_judged"]


@pytest.mark.parametrize("draft", ["", "   \n\u3000\n"])
def test_empty_draft_is_a_bad_request(svc, draft):
    with pytest.raises(BadRequest, match="空"):
        check_draft(svc, draft)


def test_unknown_against_is_a_bad_request(svc):
    with pytest.raises(BadRequest):
        check_draft(svc, "計画期間は令和６年度から令和10年度までとする。", against="budget")


# --- a whole draft: sections, progress, gaps, report formats -----------------------------------


DRAFT = """第４章　施策の展開
１　公共交通
（１）計画の期間
みどり野市地域公共交通計画の計画期間は、令和５年度から令和９年度までである。
（２）利用者数
路線バスとコミュニティバスを合わせた年間利用者数を、令和10年度に120万人とすることを目標とする。
２　福祉
・認知症サポーターの養成は、福祉課が中心となって進める。
・学校給食費を令和７年度から完全無償化する。
"""


def test_whole_draft_report(svc):
    calls = []
    report = check_draft(
        svc, DRAFT, "sector_plan", progress=lambda done, total: calls.append((done, total)), batch_size=2
    )
    assert calls[-1] == (4, 4) and len(calls) == 2
    d = report.to_dict()
    assert set(d) >= {"statements", "gaps", "summary"}
    assert d["summary"] == {"consistent": 1, "conflict": 2, "unsupported": 1, "not_judged": 0}
    first = d["statements"][0]
    assert set(first) >= {
        "id",
        "text",
        "section",
        "verdict",
        "explanation",
        "draft_values",
        "evidence_values",
        "evidence",
    }
    assert first["id"] == "s1" and first["section"] == "第４章　施策の展開 > １　公共交通 > （１）計画の期間"
    assert d["statements"][2]["section"] == "第４章　施策の展開 > ２　福祉"
    shown = [e for s in d["statements"] for e in s["evidence"]]
    assert shown and all(set(e) >= EVIDENCE_KEYS for e in shown)
    # targets of the documents the draft relies on that it never mentions
    assert 0 < len(d["gaps"]) <= 50
    assert all(set(g) == {"doc", "title", "section", "page", "text", "values"} for g in d["gaps"])
    assert any("収支率" in g["text"] for g in d["gaps"])
    assert not any("年間利用者数" in g["text"] and "1,200" in g["text"] for g in d["gaps"])
    assert report.to_csv().splitlines()[0].startswith("kind,id,section,text,verdict")
    md = report.to_markdown()
    assert "相違あり" in md and "原案に反映されていない" in md


def test_split_statements_keeps_sections_items_and_wrapped_lines():
    text = (
        "第１章　総論\n１　計画の期間\n本計画の計画期間は、令和６年度から令和10年度\nまでの５年間とします。"
        "実施計画は毎年度見直します。\n・地域の支え合いを進めます\n①　公共交通を確保します\n"
        "| 指標 | 現状値 | 目標値 |\n|---|---|---|\n| 利用者数 | 108万人 | 120万人 |\n"
    )
    st = split_statements(text)
    assert [s.text for s in st] == [
        "本計画の計画期間は、令和６年度から令和10年度までの５年間とします。",
        "実施計画は毎年度見直します。",
        "・地域の支え合いを進めます",
        "①　公共交通を確保します",
        "利用者数 / 108万人 / 120万人",
    ]
    assert st[0].section == "第１章　総論 > １　計画の期間"
    assert [s.kind for s in st] == ["sentence", "sentence", "item", "item", "row"]
    wrapped = "若い世代を対象としたワークショップなどを実施し、これまでの市の取組や今後\n\nの取組などに対する意向を把握します。"
    assert [u.text for u in units(wrapped + "（担当課：企画課）")] == [
        wrapped.replace("\n", ""),
        "（担当課：企画課）",
    ]


# --- the command line ------------------------------------------------------------------------


def test_cli_batch_jsonl(svc, tmp_path, capsys, monkeypatch):
    cases = tmp_path / "cases.jsonl"
    lines = [{"id": c["id"], "draft": c["draft"]} for c in CASES[:4] + CASES[-1:]] + [
        {"id": "empty", "draft": ""}
    ]
    cases.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    code, out, _ = _run_cli(
        svc, ["check", "--batch", str(cases), "--json", "--exclude-doc", PLAN], capsys, monkeypatch
    )
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["id"] for x in lines] == ["p01", "p02", "p03", "p04", "p10", "empty"]
    assert [x["verdict"] for x in lines] == [
        "conflict",
        "conflict",
        "consistent",
        "conflict",
        "unsupported",
        "not_judged",
    ]
    assert "空" in lines[-1]["explanation"]
    for x in lines:
        assert set(x) == {"id", "verdict", "evidence", "explanation"}
        assert all(set(e) == {"doc", "title", "section", "page", "page_label", "text"} for e in x["evidence"])
    assert any(x["evidence"] for x in lines)  # the key check above ran on some evidence
    assert lines[-2]["evidence"] == [] and lines[-1]["evidence"] == []


def test_cli_check_text_and_file(svc, tmp_path, capsys, monkeypatch):
    code, out, _ = _run_cli(
        svc, ["check", "--text", CASES[1]["draft"], "--json", "--against", "sector_plan"], capsys, monkeypatch
    )
    assert code == 0
    report = json.loads(out)
    assert report["statements"][0]["verdict"] == "conflict" and report["summary"]["conflict"] == 1
    draft = tmp_path / "draft.md"
    draft.write_text(DRAFT, encoding="utf-8")
    code, out, _ = _run_cli(
        svc, ["check", str(draft), "--against", "sector_plan", "--csv"], capsys, monkeypatch
    )
    assert code == 0 and out.count("\nstatement,") == 4
    code, out, err = _run_cli(svc, ["check", str(tmp_path / "missing.txt")], capsys, monkeypatch)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "missing.txt" in err


@pytest.mark.parametrize(
    ("draft", "sentence", "outcome"),
    [
        # sentences as the corpus writes them (広報, 給与・定員管理等): an amount's basis is part of its unit
        ("課長職の管理職手当は年額30,000円である。", "管理職手当 課長職:月額30,000円", "conflict"),
        ("課長職の管理職手当は月額30,000円である。", "管理職手当 課長職:月額30,000円", "support"),
        ("課長職の管理職手当は年額360,000円である。", "管理職手当 課長職:月額30,000円", "support"),  # twelve months
        ("住居手当は月額7,000円を支給する。", "自己の住宅を所有している職員の住居手当:7,000円", "support"),  # no basis
        ("最低賃金は日額960円である。", "◇最低賃金額:時間額 960円", "conflict"),
    ],
)
def test_an_amounts_basis_is_compared(draft: str, sentence: str, outcome: str) -> None:
    c = compare_values(values_of(draft), values_of(sentence, responsible_only=False))
    assert c.outcome == outcome, (c.same, c.differ, c.missing)
    if outcome == "conflict":
        assert any("額" in d[1] and "額" in d[2] for d in c.differ), c.differ  # both shown with their basis
