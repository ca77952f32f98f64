"""PDFs whose printed page numbers differ from the PDF page: the printed number is read (catalog
page labels, else the page's own "- 12 -" footer, only where consecutive pages agree), carried
into chunks and citations, and shown beside the PDF page (ingest.readers.page_labels)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter

from assistant.types import Citation, Passage
from ingest.chunk import chunk_document
from ingest.load import load_file
from ingest.readers.page_labels import printed_labels
from ui.render import citation_label, page_label


def _plan_pdf(dst: Path) -> Path:
    """2 unnumbered front pages (the second ends with a table total "3"), 4 body pages with
    "- 1 -"… footers, then a 資料編 whose pages start again at "資料-1"."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    c = canvas.Canvas(str(dst), pagesize=A4)
    pages = [("みどり野市総合計画", None), ("目次 第1章 総論 合計", "3")]
    pages += [(f"第{i}章 本文の見出し\n本文は第{i}章の内容を述べる。", f"- {i} -") for i in range(1, 5)]
    pages += [(f"資料{i} 用語集\n用語の説明を載せる。", f"資料-{i}") for i in range(1, 3)]
    for body, footer in pages:
        c.setFont("HeiseiMin-W3", 12)
        for k, line in enumerate(body.split("\n")):
            c.drawString(72, A4[1] - 90 - k * 20, line)
        if footer:
            c.drawCentredString(A4[0] / 2, 40, footer)
        c.showPage()
    c.save()
    return dst


def test_printed_numbers_are_read_and_never_invented(tmp_path: Path) -> None:
    doc = load_file(_plan_pdf(tmp_path / "plan.pdf"))
    assert [p.label for p in doc.pages] == [None, None, "1", "2", "3", "4", "資料-1", "資料-2"]


def test_labels_need_a_neighbour_that_agrees() -> None:
    footers = ["本文\n3", "本文\n7", "本文\n- 14 -", "本文\n- 15 -", "本文\n2024"]
    assert printed_labels(footers) == [None, None, "14", "15", None]
    # two pages both reading the same number (a figure, not a page number) agree with nothing
    assert printed_labels(["表\n5", "表\n5"]) == [None, None]


def test_catalog_page_labels_win(tmp_path: Path) -> None:
    src = PdfReader(_plan_pdf(tmp_path / "plan.pdf"))
    writer = PdfWriter()
    for page in src.pages:
        writer.add_page(page)
    writer.set_page_label(0, 1, style="/r")  # i, ii
    writer.set_page_label(2, 7, style="/D", start=1)  # 1 … 6
    path = tmp_path / "labelled.pdf"
    with path.open("wb") as f:
        writer.write(f)
    doc = load_file(path)
    assert [p.label for p in doc.pages] == ["i", "ii", "1", "2", "3", "4", "5", "6"]


def test_chunks_and_citations_carry_the_printed_page(tmp_path: Path) -> None:
    doc = load_file(_plan_pdf(tmp_path / "plan.pdf"))
    chunks = chunk_document(doc, "plan", target=20, maximum=40)
    third = next(c for c in chunks if "第3章の内容" in c.text)
    assert third.pages == [5] and third.page_label == "3"
    glossary = next(c for c in chunks if "用語の説明" in c.text and c.pages == [8])
    assert glossary.page_label == "資料-2"
    cover = next(c for c in chunks if "総合計画" in c.text)
    assert cover.page_label is None

    passage = Passage("plan", "総合計画", third.section, third.pages, third.text, 1.0, page_label=third.page_label)
    cited = Citation(1, passage).to_dict()
    assert cited["page"] == 5 and cited["page_label"] == "3"
    assert "p.3（PDF 5ページ）" in citation_label(cited)
    assert "page_label" not in Passage("plan", "t", "", [1], "x", 1.0).to_dict()  # unchanged key set without one
    assert page_label(1) == "p.1" and page_label(4, "4") == "p.4" and page_label(None) == "ページ情報なし"
