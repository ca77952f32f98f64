"""OCR of pages without a text layer: what `load_file` makes of scans, with and without tesseract.

The engine-free tests fake `ocr_page`; the others need Debian's tesseract-ocr(-jpn, -jpn-vert)
(`make ocr`) and, to render the fixture's non-embedded fonts, a Japanese font. Each real page
costs ≈ 5 s on 2 cores, so only one runs by default; the rest are marked slow.
"""

from __future__ import annotations

import pytest

from eval.bench_ocr import (
    PROSE_PAGES,
    VERTICAL_TEXT,
    cer,
    image_only_pdf,
    page_text,
    renders_japanese,
    vertical_pdf,
)
from ingest.load import load_file
from ingest.readers import ocr
from ingest.readers.pdf import NEEDS_OCR
from tests.helpers import SHARED, scanned_pdf

FIXTURE = SHARED / "fixtures" / "saku_houshin_typeset.pdf"
MAX_CER = 0.03  # the goal of issue 8 on the typeset pages (measured 0.8 %, eval/bench_ocr.py)




def need_engine() -> None:
    if not FIXTURE.exists():
        pytest.skip(f"{FIXTURE} is absent: the fixtures live in ../shared next to the repository")
    if not ocr.ocr_available():
        pytest.skip(f"tesseract with Japanese data is not installed ({ocr.OCR_INSTALL_HINT}, or make ocr)")
    if not renders_japanese(FIXTURE):
        pytest.skip("no Japanese font to render the fixture (apt-get install fonts-ipafont-mincho, or make ocr)")


# --- without the engine, or with a faked one ---------------------------------------------


def test_missing_engine_keeps_needs_ocr_and_says_what_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ocr, "ocr_available", lambda: False)
    doc = load_file(scanned_pdf(tmp_path / "scan.pdf", "ss"))
    assert [(p.status, p.note) for p in doc.pages] == [("no_text_layer", "no text layer (needs OCR)")] * 2
    assert doc.warnings[0] == NEEDS_OCR and ocr.OCR_INSTALL_HINT in doc.warnings[1]


def test_faked_engine_reads_only_pages_without_text_and_survives_a_crash(tmp_path, monkeypatch) -> None:
    seen: list[object] = []

    def fake(pdf_page) -> ocr.OcrResult:
        seen.append(pdf_page)
        if len(seen) == 1:
            return ocr.OcrResult("市民協働を推進します。", 0.93, False)
        if len(seen) == 2:
            raise ocr.OcrError("tesseract (jpn) failed: Segmentation fault")
        return ocr.OcrResult("ぼやけた文字", 0.41, False)

    monkeypatch.setattr(ocr, "ocr_available", lambda: True)
    monkeypatch.setattr(ocr, "ocr_page", fake)
    doc = load_file(scanned_pdf(tmp_path / "mixed.pdf", "tssts"))
    assert len(seen) == 3  # pages 2, 3 and 5 only
    assert [p.status for p in doc.pages] == ["ok", "ok", "no_text_layer", "ok", "no_text_layer"]
    assert doc.pages[0].note == doc.pages[3].note == ""
    assert doc.pages[1].text == "市民協働を推進します。" and doc.pages[1].note == "OCR (confidence 0.93)"
    assert doc.pages[1].ocr_confidence == 0.93 and doc.pages[0].ocr_confidence is None
    assert "OCR failed: tesseract (jpn) failed" in doc.pages[2].note
    assert "0.41 below the floor" in doc.pages[4].note
    failed = [w for w in doc.warnings if w.startswith("OCR でも読み取れなかった")]
    assert len(failed) == 1 and "ページ 3 (読み取りエラー: tesseract (jpn) failed" in failed[0]
    assert "5 (信頼度 0.41)" in failed[0]
    assert any(w.startswith("OCR で読み取ったページです") and "ページ 2（信頼度 0.93" in w for w in doc.warnings)
    assert not any(ocr.OCR_INSTALL_HINT in w or NEEDS_OCR in w for w in doc.warnings)


def test_engine_failing_on_every_page_reports_each_page(tmp_path, monkeypatch) -> None:
    def crash(pdf_page) -> ocr.OcrResult:
        raise ocr.OcrError("tesseract cannot run: No such file or directory")

    monkeypatch.setattr(ocr, "ocr_available", lambda: True)
    monkeypatch.setattr(ocr, "ocr_page", crash)
    doc = load_file(scanned_pdf(tmp_path / "scan.pdf", "ss"))
    assert all(p.status == "no_text_layer" for p in doc.pages)
    assert doc.warnings[0].startswith("OCR でも読み取れなかったページ") and "ページ 1 (" in doc.warnings[0]
    assert "2 (読み取りエラー" in doc.warnings[0]


def test_ocr_passage_round_trips_through_the_index_and_is_marked(tmp_path, monkeypatch) -> None:
    """Faked engine, real service: the payload keeps the confidence, search and ask give it back, and
    the citation the UI renders (and the CLI prints) says the text was read by OCR."""
    from assistant.service import PlanAssistant
    from tests.helpers import service_settings
    from ui.render import answer_message, citation_label

    monkeypatch.setattr(ocr, "ocr_available", lambda: True)
    monkeypatch.setattr(ocr, "ocr_page", lambda page: ocr.OcrResult("図書館の開館時間を午後九時まで延長します。", 0.874, False))
    svc = PlanAssistant(service_settings(tmp_path / "data")).start()
    try:
        for name, pattern in (("scan", "ts"), ("text", "t")):  # the scan's page 2 is read by the fake
            assert svc.ingest_one(scanned_pdf(tmp_path / f"{name}.pdf", pattern)).status == "added"
        hits = {p.doc_id: p for p in svc.search("市民協働 図書館 開館時間", k=5)}
        assert hits["scan"].ocr == 0.87 and hits["text"].ocr is None  # rounded as the page note says
        assert hits["scan"].to_dict()["ocr"] == 0.87 and "ocr" not in hits["text"].to_dict()
        answer = svc.ask("図書館の開館時間は何時まで延長しますか。").to_dict()
    finally:
        svc.close()
    cited = [c for c in answer["citations"] if c["doc"] == "scan"]
    assert cited and cited[0]["ocr"] == 0.87
    mark = "OCR で読み取った本文です（信頼度 0.87）"
    assert citation_label(cited[0]).endswith(" / p.1 / " + mark)
    html = answer_message(answer)
    assert f'<span class="pa-ocr">{mark}</span>' in html and html.count(mark) == 2 * len(
        [c for c in answer["citations"] if c.get("ocr") is not None])


def test_citation_without_ocr_is_unmarked() -> None:
    from ui.render import answer_message, citation_label

    c = {"n": 1, "doc": "d", "title": "計画", "section": "第1章", "page": 3, "text": "本文"}
    assert citation_label(c) == "計画 / 第1章 / p.3"
    assert "OCR" not in answer_message({"answer": "本文です[1]", "citations": [c]})


# --- the real engine -------------------------------------------------------------------------


def test_scanned_page_of_a_mixed_pdf_is_read_by_ocr(tmp_path) -> None:
    """Fixture page 1 with its text layer, then page 2 as a scan: OCR on page 2 only."""
    need_engine()
    from pypdf import PdfReader, PdfWriter

    scan = PdfReader(image_only_pdf(FIXTURE, tmp_path / "scan.pdf", (2,)))
    writer = PdfWriter()
    writer.add_page(PdfReader(FIXTURE).pages[0])
    writer.add_page(scan.pages[0])
    with (tmp_path / "mixed.pdf").open("wb") as f:
        writer.write(f)
    doc = load_file(tmp_path / "mixed.pdf")
    assert [p.status for p in doc.pages] == ["ok", "ok"]
    assert not doc.pages[0].note.startswith("OCR") and doc.pages[1].note.startswith("OCR (confidence 0.")
    assert cer(page_text(FIXTURE, 2), doc.pages[1].text) <= MAX_CER
    assert "最上位計画" in doc.pages[1].text


@pytest.mark.slow
def test_typeset_pages_read_by_ocr_within_the_cer_goal(tmp_path) -> None:
    need_engine()
    doc = load_file(image_only_pdf(FIXTURE, tmp_path / "scan.pdf", PROSE_PAGES))
    assert all(p.status == "ok" and p.note.startswith("OCR") for p in doc.pages)
    for number, page in zip(PROSE_PAGES, doc.pages):
        assert cer(page_text(FIXTURE, number), page.text) <= MAX_CER, number


@pytest.mark.slow
def test_page_scanned_sideways_is_turned_and_read(tmp_path) -> None:
    need_engine()
    doc = load_file(image_only_pdf(FIXTURE, tmp_path / "turned.pdf", (2,), rotate=90))
    assert doc.pages[0].status == "ok" and "turned" in doc.pages[0].note
    assert cer(page_text(FIXTURE, 2), doc.pages[0].text) <= MAX_CER


@pytest.mark.slow
def test_vertical_text_page_is_read_as_vertical(tmp_path) -> None:
    need_engine()
    src = vertical_pdf(tmp_path / "vertical_src.pdf")
    doc = load_file(image_only_pdf(src, tmp_path / "vertical.pdf", (1,)))
    assert doc.pages[0].status == "ok" and "vertical" in doc.pages[0].note
    assert cer("".join(VERTICAL_TEXT), doc.pages[0].text) <= MAX_CER


@pytest.mark.slow
def test_blank_grey_scan_gets_a_reason_not_an_index_entry(tmp_path) -> None:
    need_engine()
    doc = load_file(scanned_pdf(tmp_path / "scan.pdf", "ts"))
    assert [p.status for p in doc.pages] == ["ok", "no_text_layer"]
    assert any(w.startswith("OCR でも読み取れなかった") and "ページ 2 (" in w for w in doc.warnings)


@pytest.mark.slow
def test_real_ocr_page_keeps_its_confidence_in_the_index(tmp_path) -> None:
    need_engine()
    from assistant.service import PlanAssistant
    from tests.helpers import service_settings

    svc = PlanAssistant(service_settings(tmp_path / "data")).start()
    try:
        assert svc.ingest_one(image_only_pdf(FIXTURE, tmp_path / "scan.pdf", (2,))).status == "added"
        top = svc.search("最上位計画", k=3)
    finally:
        svc.close()
    assert top and all(p.ocr is not None and ocr.OCR_CONFIDENCE_FLOOR <= p.ocr <= 1 for p in top)
