"""PDF tables → one record per row with its header labels and caption (ingest/readers/pdf_tables.py).

The PDFs are built here with reportlab (ruled tables, as Word and Excel print them); the corpus
test reads a real fee table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunk import chunk_document
from ingest.load import load_file
from ingest.readers import pdf_tables
from tests.helpers import require_corpus

FONT = "HeiseiKakuGo-W5"


def _build(path: Path, story_of) -> Path:
    """A PDF from a platypus story; `story_of(paragraph, table)` returns the story."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    style = ParagraphStyle("ja", fontName=FONT, fontSize=10.5, leading=16)

    def paragraph(text: str):
        return Paragraph(text, style)

    def table(rows: list[list[str]], spans=(), repeat: int = 0):
        t = Table(rows, repeatRows=repeat)
        t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 9),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               *[("SPAN", a, b) for a, b in spans]]))
        return t

    SimpleDocTemplate(str(path), pagesize=A4).build(story_of(paragraph, table))
    return path


FEES = [["区分", "料金", ""],
        ["", "基本料金（10㎥まで）", "超過料金（1㎥につき）"],
        ["一般用", "1,650円", "180円"],
        ["営業用\n（店舗・事務所）", "2,100円", "〃"],
        ["学校用", "11,700円", "同上"]]
FEE_SPANS = [((0, 0), (0, 1)), ((1, 0), (2, 0))]  # 区分 over two header rows, 料金 over two columns
SITES = [["番号", "名称", "収容人員"]] + [[str(i), f"避難所{i}", f"{i * 10}人"] for i in range(1, 61)]


@pytest.fixture(scope="module")
def tables_pdf(tmp_path_factory) -> Path:
    """Page 1: a fee table with a merged header, a two-line cell, 〃 and 同上, and running text.
    Pages 2–3: a 60-row list that runs onto the next page without repeating its header.
    Page 4: a drawn grid with nothing written in it."""
    from reportlab.platypus import PageBreak, Spacer

    def story(paragraph, table):
        return [paragraph("１　使用料"), paragraph("農業集落排水使用料"), table(FEES, FEE_SPANS), Spacer(1, 20),
                paragraph("本文の段落です。使用料は条例で定めています。"), PageBreak(),
                paragraph("２　避難所"), paragraph("指定避難所一覧"), table(SITES), PageBreak(),
                table([[""] * 4 for _ in range(5)])]

    return _build(tmp_path_factory.mktemp("pdf") / "tables.pdf", story)


def test_a_row_is_one_record_with_its_merged_header_and_caption(tables_pdf):
    doc = load_file(tables_pdf)
    first = [r for r in doc.records if r.page == 1]
    assert [r.text.split("\n") for r in first[:1]] == [[
        "農業集落排水使用料",
        "区分: 一般用",
        "料金 / 基本料金(10m3まで): 1,650円",
        "料金 / 超過料金(1m3につき): 180円",
    ]]
    assert first[0].section == "農業集落排水使用料"
    # a two-line cell is one value; 〃 and 同上 take the value above
    assert "区分: 営業用(店舗・事務所)" in first[1].text
    assert first[1].text.endswith("料金 / 超過料金(1m3につき): 180円")
    assert first[2].text.endswith("料金 / 超過料金(1m3につき): 180円")
    assert len(first) == 3
    # the running text is kept: the table's cells and the paragraph are in the page text as well
    assert "1,650円" in doc.pages[0].text and "条例で定めています" in doc.pages[0].text


def test_a_table_continued_on_the_next_page_carries_its_header_and_caption(tables_pdf):
    doc = load_file(tables_pdf)
    sites = [r for r in doc.records if r.page in (2, 3)]
    assert len(sites) == len(SITES) - 1
    assert {r.page for r in sites} == {2, 3}
    last = sites[-1]
    assert last.page == 3 and last.row == 60
    assert last.text.split("\n") == ["指定避難所一覧", "番号: 60", "名称: 避難所60", "収容人員: 600人"]
    assert [r.row for r in sites] == list(range(1, 61))


def test_a_grid_without_text_gives_no_records_and_no_warning(tables_pdf):
    doc = load_file(tables_pdf)
    assert not [r for r in doc.records if r.page == 4]
    assert not [w for w in doc.warnings if "表" in w]


def test_a_repeated_header_is_not_a_row(tmp_path):
    def story(paragraph, table):
        return [paragraph("指定避難所一覧"), table(SITES, repeat=1)]

    doc = load_file(_build(tmp_path / "repeat.pdf", story))
    assert len(doc.records) == len(SITES) - 1
    assert not [r for r in doc.records if "番号: 番号" in r.text]
    assert doc.records[-1].page == 2 and doc.records[-1].text.startswith("指定避難所一覧\n番号: 60")


def test_a_part_label_under_a_heading_carries_the_heading(tmp_path):
    """「①…」 right above a table names one part of what the heading above it titles: the rows carry both;
    a part label under running text carries only itself."""
    rows = [["区分", "平均年齢", "平均月額"], ["本市", "40.1歳", "300,000円"], ["県", "42.0歳", "320,000円"]]

    def story(paragraph, table):
        return [paragraph("（１）職員の平均月額の状況（令和6年4月1日現在）"), paragraph("①事務職"), table(rows),
                paragraph("本文の段落です。以下は参考の表です。"), paragraph("②技術職"), table(rows)]

    doc = load_file(_build(tmp_path / "parts.pdf", story))
    captions = [r.section for r in doc.records]
    assert captions == ["(1)職員の平均月額の状況(令和6年4月1日現在) ①事務職"] * 2 + ["②技術職"] * 2
    assert doc.records[0].text.split("\n")[:2] == [captions[0], "区分: 本市"]


def test_rows_become_chunks_with_the_section_path(tables_pdf):
    doc = load_file(tables_pdf)
    chunks = [c for c in chunk_document(doc, "t") if c.is_record]
    assert len(chunks) == len(doc.records)
    fee = next(c for c in chunks if "1,650円" in c.text)
    assert fee.pages == [1]
    assert fee.section == "農業集落排水使用料 > 1行目"
    assert fee.text.startswith("農業集落排水使用料\n区分: 一般用")


def test_a_page_where_detection_fails_keeps_its_text_and_is_named(tables_pdf, monkeypatch):
    import pdfplumber.page

    real = pdfplumber.page.Page.find_tables

    def failing(self, *args, **kwargs):
        if self.page_number == 1:
            raise ValueError("broken drawing")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pdfplumber.page.Page, "find_tables", failing)
    doc = load_file(tables_pdf)
    assert not [r for r in doc.records if r.page == 1]
    assert [r for r in doc.records if r.page == 2]  # the other pages are read as usual
    assert "1,650円" in doc.pages[0].text
    assert pdf_tables.FAILED_PAGES.format(pages="1") in doc.warnings


@pytest.mark.slow
def test_a_2000_row_table_is_read_whole_and_bounded(tmp_path, monkeypatch):
    rows = [["番号", "地区", "世帯数"]] + [[str(i), f"地区{i}", f"{i}世帯"] for i in range(1, 2001)]

    def story(paragraph, table):
        return [paragraph("地区別世帯数"), table(rows, repeat=1)]

    path = _build(tmp_path / "long.pdf", story)
    doc = load_file(path)
    assert len(doc.records) == 2000
    assert doc.records[-1].text == "地区別世帯数\n番号: 2000\n地区: 地区2000\n世帯数: 2000世帯"
    monkeypatch.setattr(pdf_tables, "MAX_TABLE_ROWS", 100)
    report = pdf_tables.read_tables(path, list(range(1, 6)))
    assert len(report.records) == 100
    assert report.warnings == [pdf_tables.TOO_MANY_ROWS.format(limit=100)]


@pytest.mark.corpus
@pytest.mark.slow
def test_a_fee_row_of_the_sewerage_strategy_is_one_record():
    path = require_corpus() / "otoineppu" / "nousyuu_keieis.pdf"
    report = pdf_tables.read_tables(path, [1])
    # 条例上の使用料 and 実質的な使用料 (per 20 m3) for FY2014 are one row of the fee table
    row = [r for r in report.records if "平成26年度3,450円" in r.text]
    assert len(row) == 1
    lines = row[0].text.split("\n")
    assert row[0].page == 1 and lines[0] == "② 使用料"
    assert any(x.startswith("条例上の使用料") and x.endswith(": 平成26年度3,450円") for x in lines)
    assert any(x.startswith("実質的な使用料") and x.endswith(": 平成26年度3,849円") for x in lines)
    hospital = [r for r in report.records if "病院用200m3まで23,300円" in r.text]
    assert len(hospital) == 1 and "その他の使用料体系の概要・考え方:" in hospital[0].text
