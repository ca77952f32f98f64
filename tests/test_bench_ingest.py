"""`bench --what ingest` (eval/bench_ingest.py): pages counted and timed per kind, and a second pass that
reads and embeds nothing. Runs the real service on a small folder of PDFs built here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.bench_ingest import bench_ingest, format_report
from tests.helpers import scanned_pdf, service_settings

FONT = "HeiseiKakuGo-W5"
FEES = [["区分", "基本料金", "超過料金"], ["一般用", "1,650円", "180円"], ["営業用", "2,100円", "210円"],
        ["学校用", "11,700円", "250円"]]


def _table_pdf(path: Path) -> Path:
    """Page 1: a caption and a ruled fee table; page 2: running text only."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    style = ParagraphStyle("ja", fontName=FONT, fontSize=10.5, leading=16)
    table = Table(FEES)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    SimpleDocTemplate(str(path), pagesize=A4).build(
        [Paragraph("下水道使用料", style), table, PageBreak(),
         Paragraph("本文の段落です。使用料は条例で定めています。下水道の維持管理に充てます。", style)])
    return path


def _folder(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    scanned_pdf(docs / "plan.pdf", "ttt")  # three text-layer pages
    _table_pdf(docs / "fees.pdf")
    (docs / "memo.txt").write_text("地域福祉の推進について\n\n市民協働を進めます。", encoding="utf-8")
    return docs


def _kinds(report: dict) -> dict[str, int]:
    return {kind: row["pages"] for kind, row in report["first"]["kinds"].items() if row["pages"]}


def test_pages_are_counted_and_timed_per_kind_and_a_second_pass_reads_nothing(tmp_path):
    import pypdf

    from ingest.readers import pdf_tables

    originals = (pypdf.PageObject.extract_text, pdf_tables._read_page)
    report = bench_ingest(_folder(tmp_path), service_settings(tmp_path / "data"))
    first, second = report["first"], report["second"]

    assert _kinds(report) == {"text": 4, "table": 1, "html_text": 1}
    kinds = first["kinds"]
    assert kinds["text"]["text_s"] > 0 and kinds["table"]["table_s"] > 0  # per-page steps were timed
    assert kinds["text"]["table_s"] > 0  # a text page is looked at for tables too: part of its cost
    assert all(row["seconds"] > 0 for row in kinds.values() if row["pages"])
    # the per-kind seconds are the read stage as measured, nothing lost or counted twice
    assert sum(row["seconds"] for row in kinds.values()) == pytest.approx(first["read_s"], rel=1e-6)
    steps = sum(row[f"{step}_s"] for row in kinds.values() for step in ("text", "table", "ocr"))
    assert sum(first["functions"].values()) == pytest.approx(steps, rel=1e-6) and "_read_page" in first["functions"]
    assert first["added"] == 3 and first["chunks"] > 0 and first["write_s"] > 0
    assert first["embedded"] + first["from_cache"] == first["chunks"]

    assert second["skipped"] == 3 and second["added"] == 0
    assert second["files_read"] == 0  # unchanged files are not even opened…
    assert second["embedded"] == 0 and second["from_cache"] == 0  # …so no chunk is embedded or looked up

    assert (pypdf.PageObject.extract_text, pdf_tables._read_page) == originals  # the probe put everything back
    text = format_report(report)
    assert "PDF table page" in text and "pass 2" in text and "0 chunks embedded" in text


def test_the_command_prints_both_passes(tmp_path, capsys, monkeypatch):
    from assistant.cli import main

    docs = tmp_path / "docs"
    docs.mkdir()
    scanned_pdf(docs / "notice.pdf", "tt")
    monkeypatch.chdir(tmp_path)  # --cold: a new vector cache in the temporary data directory, ./data untouched
    assert main(["bench", "--what", "ingest", "--corpus", str(docs), "--cold"]) == 0
    out = capsys.readouterr().out
    assert "PDF text page               2" in out
    assert re.search(r"(\d+) chunks in [\d.]+ s \([\d.]+ chunks/s\); embedded \1 ", out)  # every chunk embedded afresh
    assert "pass 2 (same files, same data directory): 1 of 1 files skipped as unchanged, 0 read, 0 chunks embedded" \
        in out
    assert not (tmp_path / "data").exists()


def test_a_page_read_by_ocr_is_counted_as_an_ocr_page(tmp_path):
    from eval.bench_ocr import image_only_pdf
    from ingest.readers import ocr

    if not ocr.ocr_available():
        pytest.skip(f"tesseract with Japanese data is not installed ({ocr.OCR_INSTALL_HINT}): OCR bench test skipped")
    docs = tmp_path / "docs"
    docs.mkdir()
    lines = ["第1章 計画の目的", "市民協働を推進します。", "地域の安全を守ります。"]
    src = scanned_pdf(tmp_path / "src.pdf", "t", lines=lambda n: lines)
    image_only_pdf(src, docs / "scan.pdf", (1,), dpi=200)  # one page, an image only: OCR's
    scanned_pdf(docs / "notice.pdf", "t")

    report = bench_ingest(docs, service_settings(tmp_path / "data"))

    assert _kinds(report) == {"ocr": 1, "text": 1}
    ocr_row = report["first"]["kinds"]["ocr"]
    assert ocr_row["ocr_s"] > 0 and ocr_row["text_s"] < ocr_row["ocr_s"]
    assert ocr_row["ocr_kept"] == 1, "the rendered page should read above the confidence floor"
    assert report["second"]["files_read"] == 0 and report["second"]["embedded"] == 0
