"""Where a measure is covered, over the bundled sample documents (real index, real models)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from assistant.cli import main
from assistant.errors import BadRequest
from assistant.types import DOC_TYPES
from assistant.where import to_table_csv, where_covered
from tests.helpers import TEST_VECTOR_CACHE, sample_service

PLAN = "midorino_sogo_keikaku_kouki_soan"
FUKUSHI = "midorino_chiiki_fukushi_keikaku"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    s = sample_service(tmp_path_factory.mktemp("where"))
    yield s
    s.close()


def test_groups_by_document_in_plan_hierarchy_order_with_pages(svc):
    report = svc.where("地域支え合い協議会の設置")
    d = report.to_dict()
    assert set(d) == {"measure", "documents"} and d["measure"] == "地域支え合い協議会の設置"
    docs = [x["doc"] for x in d["documents"]]
    assert docs[:2] == [PLAN, FUKUSHI]
    ranks = [DOC_TYPES.index(x["type"]) for x in d["documents"]]
    assert ranks == sorted(ranks)
    assert len(docs) == len(set(docs))  # one entry per document
    for doc in d["documents"]:
        assert set(doc) == {"doc", "title", "type", "sections"}
        for section in doc["sections"]:
            assert set(section) == {"section", "pages", "sentences", "targets"}
            assert section["pages"] and all(isinstance(p, int) for p in section["pages"])
            assert section["sentences"]
    fukushi = next(x for x in d["documents"] if x["doc"] == FUKUSHI)
    sentences = [s for sec in fukushi["sections"] for s in sec["sentences"]]
    assert any("令和11年度までに全13小学校区での設置を目指します" in s for s in sentences)
    targets = [t for sec in fukushi["sections"] for t in sec["targets"]]
    assert any("令和11年度" in t for t in targets) and any("13" in t for t in targets)
    assert any("施策1" in sec["section"] for sec in fukushi["sections"])


def test_keeps_only_passages_that_speak_of_the_measure(svc):
    report = where_covered(svc, "公用車の電動化", k=40)
    assert [d.doc for d in report.documents] == ["midorino_kankyo_kihon_keikaku"]
    [section] = report.documents[0].sections
    assert "公用車の電動化" in section.section
    assert "40%" in section.targets or "40％" in section.targets


def test_a_measure_no_document_covers(svc):
    report = where_covered(svc, "学校給食費の完全無償化")
    assert report.documents == []
    assert "見つかりませんでした" in report.to_text()


def test_empty_measure_is_a_bad_request(svc):
    with pytest.raises(BadRequest):
        where_covered(svc, "  ")


def test_measure_by_document_matrix(svc):
    reports = [where_covered(svc, m) for m in ("デマンド型交通の導入", "公用車の電動化")]
    rows = list(csv.reader(io.StringIO(to_table_csv(reports))))
    assert rows[0][0] == "施策・事業" and len(rows) == 3
    header = rows[0][1:]
    assert "みどり野市地域公共交通計画" in header and "第２次みどり野市環境基本計画【改定版】" in header
    demand = dict(zip(header, rows[1][1:]))
    assert "施策2" in demand["みどり野市地域公共交通計画"] and "p.1" in demand["みどり野市地域公共交通計画"]
    assert demand["第２次みどり野市環境基本計画【改定版】"] == ""


def test_cli_where_json_and_csv(svc, capsys, monkeypatch):
    monkeypatch.setenv("PLAN_ASSISTANT_VECTOR_CACHE", str(TEST_VECTOR_CACHE))
    monkeypatch.setenv("PLAN_ASSISTANT_GENERATOR", "extractive")
    svc.close()
    try:
        capsys.readouterr()
        assert main(["--data-dir", str(svc.settings.data_dir), "where", "公用車の電動化", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert (
            main(
                [
                    "--data-dir",
                    str(svc.settings.data_dir),
                    "where",
                    "公用車の電動化",
                    "デマンド型交通の導入",
                    "--csv",
                ]
            )
            == 0
        )
        matrix = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    finally:
        svc.start()
    assert report["documents"][0]["doc"] == "midorino_kankyo_kihon_keikaku"
    assert [r[0] for r in matrix[1:]] == ["公用車の電動化", "デマンド型交通の導入"]


def test_pages_are_cited_by_their_printed_number_where_a_passage_knows_it():
    from assistant.where import CoverageReport, DocumentCoverage, SectionCoverage
    from ui.reports import where_html, where_rows

    sec = SectionCoverage("第2章 > 第1節", pages=[14, 15], sentences=["地域の見守り活動を支援します。"],
                          page_labels={14: "12"})
    report = CoverageReport("見守り", [DocumentCoverage("plan", "総合計画", "comprehensive_plan", [sec])])
    assert sec.page_refs() == "p.12（PDF 14ページ）, p.15"  # 15's printed number is unknown: its PDF page
    assert "p.12（PDF 14ページ）, p.15" in report.to_text()
    d = report.to_dict()["documents"][0]["sections"][0]
    assert d["pages"] == [14, 15] and d["page_labels"] == {"14": "12"}
    assert where_rows(report.to_dict())[0][4] == "p.12（PDF 14ページ）, p.15"
    assert "p.12（PDF 14ページ）" in where_html(report.to_dict())
    assert "p.12" not in to_table_csv([CoverageReport("見守り", [DocumentCoverage(
        "plan", "総合計画", "comprehensive_plan", [SectionCoverage("第2章", pages=[14])])])])
