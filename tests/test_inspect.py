"""The reading-fidelity report (`ingest.inspect`, `plan-assistant inspect`, `PlanAssistant.inspect`):
per page how the text was read, what of it is indexed, and why a page cannot be found.

Real files throughout: the typeset fixture PDF, a sample document ingested into a real service,
CSV/XLSX and PDFs made here. OCR is faked where the engine's output must be fixed (the fake goes
through the real PDF reader, so the notes it writes are the real ones); one real OCR run is `slow`.
The corpus test reads every file of ../shared/corpus and prints how long each took.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.errors import NotFound, UnreadableDocument
from assistant.types import LoadedDocument, Page
from ingest.inspect import OCR_SKIPPED, FileReport, inspect_file, page_reports
from ingest.load import iter_files
from ingest.readers import ocr
from ingest.readers.pdf import NEEDS_OCR
from tests.helpers import CORPUS, SAMPLE_DOCS, SHARED, require_corpus, scanned_pdf, service_settings
from ui.inspect import page_rows, page_text_html, summary_html

FIXTURE = SHARED / "fixtures" / "saku_houshin_typeset.pdf"
SAMPLE_PDF = SAMPLE_DOCS / "midorino_sogo_keikaku_kouki_soan.pdf"
SAMPLE_CSV = SAMPLE_DOCS / "midorino_kouki_soan_pubcome_kekka.csv"


def need_fixture() -> Path:
    if not FIXTURE.exists():
        pytest.skip(f"{FIXTURE} is absent: the fixtures live in ../shared next to the repository")
    return FIXTURE


def pdf_pages(path: Path, pattern: str) -> Path:
    """`scanned_pdf` whose text pages open with a chapter heading, so their chunks carry a section path."""
    return scanned_pdf(path, pattern, lambda n: ["第1章 市民協働の推進",
                                                f"第{n}頁の本文です。市民協働を推進し、地域の課題を市民とともに解決します。"])


@pytest.fixture
def no_ocr(monkeypatch):
    monkeypatch.setattr(ocr, "ocr_available", lambda: False)


@pytest.fixture
def fake_ocr(monkeypatch):
    """An engine that reads every scanned page as vertical text turned 90°, with the confidence given."""
    confidence = {"value": 0.81}

    def read(pdf_page) -> ocr.OcrResult:
        return ocr.OcrResult("市民協働を推進します。地域の課題を解決します。", confidence["value"], True, 90)

    monkeypatch.setattr(ocr, "ocr_available", lambda: True)
    monkeypatch.setattr(ocr, "ocr_page", read)
    return confidence


# ---------------------------------------------------------------------- files
def test_typeset_fixture_reads_every_page_from_the_text_layer():
    report = inspect_file(need_fixture())
    assert report.kind == "pdf" and report.refused == "" and report.warnings == []
    assert [p.number for p in report.pages] == list(range(1, 10))
    for p in report.pages:
        assert (p.status, p.method, p.method_label) == ("ok", "text_layer", "テキスト層")
        assert p.ocr_confidence is None and p.reading == "" and p.chunks and p.japanese > 0.8, p.number
        assert not p.warnings, (p.number, p.warnings)
    # the text as indexed: page 2's chunks carry its section path and its words
    page2 = report.page(2)
    assert page2 is not None
    assert any(c.section.startswith("2 第二次佐久市総合計画の構成と期間") and "基本構想" in c.text for c in page2.chunks)
    # every chunk is on some page, and the pages' chunks are the chunks (a chunk may span two pages)
    numbers = {c.chunk_no for p in report.pages for c in p.chunks}
    assert numbers == set(range(report.chunks))


def test_csv_and_xlsx_report_their_rows_per_page_and_sheet(tmp_path):
    from openpyxl import Workbook

    csv = tmp_path / "iken.csv"
    csv.write_text("番号,意見の概要,市の考え方\n1,バスを増便してほしい,検討します\n2,歩道を広げてほしい,実施します\n"
                   ",,\n4,図書館の開館時間,延長します\n", encoding="utf-8")
    report = inspect_file(csv)
    assert report.kind == "csv" and report.records == 3 and report.chunks == 3
    [page] = report.pages
    assert (page.number, page.method, page.method_label, page.records) == (1, "table", "表の行", 3)
    assert all(c.is_record for c in page.chunks) and "意見の概要: バスを増便してほしい" in page.chunks[0].text
    assert page.warnings == []

    book = Workbook()
    first = book.active
    first.title = "交通"
    first.append(["施策", "目標"])
    first.append(["路線バス", "1,200千人"])
    second = book.create_sheet("福祉")
    second.append(["施策", "目標"])
    second.append(["認知症サポーター", "5,000人"])
    second.append(["見守り協定", "80事業所"])
    book.save(tmp_path / "mokuhyou.xlsx")
    report = inspect_file(tmp_path / "mokuhyou.xlsx")
    assert [(p.number, p.records, len(p.chunks)) for p in report.pages] == [(1, 1, 1), (2, 2, 2)]
    assert "シート: 福祉" in report.pages[1].chunks[0].text


def test_scanned_pages_without_ocr_are_named_as_not_searchable(tmp_path, no_ocr):
    report = inspect_file(pdf_pages(tmp_path / "mixed.pdf", "ts"))
    text, scan = report.pages
    assert (text.method, text.status, scan.method, scan.status) == ("text_layer", "ok", "none", "no_text_layer")
    assert scan.status_label == "テキスト層なし" and not scan.chunks
    assert scan.warnings == ["テキスト層がなく OCR もしていないため検索できません"]
    assert report.refused == "" and any("ページ 2" in w for w in report.warnings)

    only_scans = inspect_file(pdf_pages(tmp_path / "scan.pdf", "ss"))
    assert only_scans.refused == NEEDS_OCR and only_scans.chunks == 0
    assert all(p.method == "none" and p.warnings for p in only_scans.pages)


def test_no_ocr_leaves_scans_unread_and_says_so(tmp_path, fake_ocr, capsys):
    engine = ocr.ocr_available
    report = inspect_file(pdf_pages(tmp_path / "mixed.pdf", "ts"), ocr=False)
    assert ocr.ocr_available is engine and report.ocr_skipped  # the switch is put back
    scan = report.pages[1]
    assert (scan.method, scan.status) == ("none", "no_text_layer")
    assert scan.warnings == ["テキスト層がありません（OCR は省略しました）: このままでは検索できません"]
    assert OCR_SKIPPED in report.warnings and not any(ocr.OCR_INSTALL_HINT in w for w in report.warnings)
    assert inspect_file(tmp_path / "mixed.pdf").pages[1].method == "ocr"  # and OCR is on again
    assert main(["inspect", str(tmp_path / "mixed.pdf"), "--no-ocr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pages"][1]["method"] == "none"
    assert main(["inspect", "--doc", "x", "--no-ocr"]) == 2
    assert "--no-ocr はファイル" in capsys.readouterr().err


def test_ocr_pages_show_confidence_direction_and_their_chunks(tmp_path, fake_ocr):
    report = inspect_file(pdf_pages(tmp_path / "mixed.pdf", "ts"))
    scan = report.pages[1]
    assert (scan.method, scan.method_label, scan.ocr_confidence) == ("ocr", "OCR", 0.81)
    assert (scan.vertical, scan.rotation, scan.reading) == (True, 90, "縦書き（90°回転）")
    assert scan.chunks and all(c.ocr == 0.81 for c in scan.chunks) and "市民協働" in scan.chunks[0].text
    assert any("OCR で読み取ったページです（信頼度 0.81）" in w for w in scan.warnings)
    assert report.pages[0].method == "text_layer" and not report.pages[0].warnings

    fake_ocr["value"] = 0.4
    low = inspect_file(pdf_pages(tmp_path / "low.pdf", "ts")).pages[1]
    assert (low.method, low.status, low.chunks) == ("none", "no_text_layer", [])
    assert low.warnings == [f"OCR の信頼度 0.40 が下限 {ocr.OCR_CONFIDENCE_FLOOR:.2f} 未満のため検索できません"]


def test_corrupt_and_missing_files_raise_a_clear_error(tmp_path, capsys):
    data = pdf_pages(tmp_path / "full.pdf", "tt").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableDocument, match="壊れているか途中で切れています"):
        inspect_file(cut)
    assert main(["inspect", str(cut)]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # (pypdf's own log lines may come first)
    assert last.startswith("error: PDF が壊れているか途中で切れています: cut.pdf") and "Traceback" not in err
    with pytest.raises(UnreadableDocument, match="見つかりません"):
        inspect_file(tmp_path / "nai.pdf")


def test_printed_label_and_page_fields_a_reader_adds_are_shown():
    from assistant.cli.inspect import page_line

    @dataclasses.dataclass
    class ColumnsPage(Page):
        columns: int = 0  # a field this module does not know by name

    page = ColumnsPage(1, "第1章 総論\n本文です。" * 3, columns=2)
    page.label = "iv"  # the printed page number (Page.label)
    [report] = page_reports(LoadedDocument("x.pdf", "pdf", pages=[page]), [])
    assert report.label == "iv" and report.extra == {"columns": 2}
    assert "このページの本文はどのチャンクにも入っていません" in report.warnings
    assert page_line(report).startswith("p.1（印刷 iv）") and "columns=2" in page_line(report)
    row = page_rows({"pages": [report.to_dict()]})[0]
    assert row[:2] == [1, "iv"] and row[-1] == "columns: 2"


def test_each_way_of_reading_a_pdf_page_has_its_label():
    notes = {"": "text_layer", "extracted with pypdfium2": "pdfium", "text ordered by position": "ordered"}
    pages = [Page(n, "第1章 総論\n市民協働を推進し、地域の課題を市民とともに解決します。", note=note)
             for n, note in enumerate(notes, 1)]
    pages.append(Page(4, "", "empty", "blank page"))
    pages.append(Page(5, "", "garbled", "mojibake (broken font map): 40 of 50 characters"))
    reports = page_reports(LoadedDocument("x.pdf", "pdf", pages=pages), [])
    assert [r.method for r in reports] == [*notes.values(), "blank", "none"]
    assert [r.method_label for r in reports][2:] == ["テキスト層（文字の位置から並べ直し）", "白紙", "読み取れず"]
    assert reports[2].reading == "位置順（縦書きなど）" and reports[0].reading == ""
    assert reports[3].warnings == [] and reports[4].warnings[0].startswith("文字化けしているため検索できません")


def test_a_page_number_met_twice_is_one_page():
    """An HTML web edition's page marker may come back to a page (a figure placed after the next one)."""
    doc = LoadedDocument("x.html", "html", pages=[Page(4, "第1章 総論\n本文その一です。"), Page(5, "本文その二です。"),
                                                 Page(4, "図表の説明です。")])
    reports = page_reports(doc, [])
    assert [(r.number, r.text) for r in reports] == [(4, "第1章 総論\n本文その一です。\n図表の説明です。"),
                                                     (5, "本文その二です。")]
    assert not any("文字がほとんどありません" in w for r in reports for w in r.warnings)  # said of PDF pages only


# ---------------------------------------------------------------------- the command line
def test_cli_prints_pages_json_and_one_page_in_full(tmp_path, capsys):
    path = str(need_fixture())
    assert main(["inspect", path]) == 0
    out = capsys.readouterr().out
    assert "ページ 9・チャンク 44" in out and "p.3" in out and "読み取り済み・テキスト層" in out
    assert main(["inspect", path, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chunks"] == sum(1 for _ in {c["chunk_no"] for p in data["pages"] for c in p["chunks"]})
    assert data["pages"][0]["status_label"] == "読み取り済み" and data["pages"][0]["method"] == "text_layer"
    assert main(["inspect", path, "--page", "2"]) == 0
    page = capsys.readouterr().out
    assert "── チャンク" in page and "2 第二次佐久市総合計画の構成と期間 > (1)基本構想" in page
    assert "時代の潮流や本市の特性を踏まえ" in page  # the full text, not a preview
    small = str(pdf_pages(tmp_path / "small.pdf", "tt"))
    assert main(["inspect", small, "--page", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["number"] == 2
    assert main(["inspect", small, "--page", "9"]) == 2
    assert "ページ 9 はありません（この文書のページ: 1〜2）" in capsys.readouterr().err
    assert main(["inspect"]) == 2
    assert "--doc" in capsys.readouterr().err


def test_cli_doc_id_goes_through_the_service(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAN_ASSISTANT_VECTOR_CACHE", str(tmp_path / "vectors.sqlite"))
    assert main(["--data-dir", str(tmp_path / "data"), "inspect", "--doc", "nai"]) == 2
    assert capsys.readouterr().err.strip().endswith("error: 文書が見つかりません: nai")


# ---------------------------------------------------------------------- an indexed document
@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    from assistant.service import PlanAssistant

    service = PlanAssistant(service_settings(tmp_path_factory.mktemp("inspect"))).start()
    docs = tmp_path_factory.mktemp("docs")
    for src in (SAMPLE_PDF, SAMPLE_CSV):
        (docs / src.name).write_bytes(src.read_bytes())
    results = service.ingest([docs], manifest=SAMPLE_DOCS / "manifest.json")
    assert [r.status for r in results] == ["added", "added"], results
    service.docs_dir = docs
    yield service
    service.close()


def test_indexed_document_report_matches_the_index(svc):
    doc_id = SAMPLE_PDF.stem
    report = svc.inspect(doc_id)
    meta = next(d for d in svc.documents() if d.doc_id == doc_id)
    assert report.indexed == {"doc_id": doc_id, "title": meta.title, "pages": meta.pages, "chunks": meta.chunks,
                              "notes": meta.notes, "file_unchanged": True}
    assert report.chunks == meta.chunks and len(report.pages) == meta.pages and not report.warnings
    # what search returns is, word for word, a chunk the report shows on the cited page
    passages = [p for p in svc.search("後期基本計画の計画期間", k=5) if p.doc_id == doc_id]
    assert passages
    for passage in passages:
        page = report.page(passage.page or 0)
        assert page is not None and any(c.text == passage.text and c.section == passage.section
                                         for c in page.chunks), passage
    csv = svc.inspect(SAMPLE_CSV.stem)
    assert csv.records == csv.chunks and csv.pages[0].method == "table"


def test_indexed_document_errors_and_a_changed_file(svc):
    with pytest.raises(NotFound, match="文書が見つかりません"):
        svc.inspect("no_such_doc")
    path = svc.docs_dir / SAMPLE_CSV.name
    original = path.read_bytes()
    try:
        path.write_bytes(original + "99,追加の意見,検討します\n".encode())
        report = svc.inspect(SAMPLE_CSV.stem)
        assert report.indexed and report.indexed["file_unchanged"] is False
        assert report.warnings[0].startswith("取り込んだ後にファイルが変わっています")
        path.unlink()
        with pytest.raises(NotFound, match="元のファイル"):
            svc.inspect(SAMPLE_CSV.stem)
    finally:
        path.write_bytes(original)


def test_ui_views_escape_document_text():
    doc = LoadedDocument("x.txt", "text", pages=[Page(1, "第1章 <script>alert(1)</script>\n本文<img src=x>です。")])
    from ingest.chunk import chunk_document

    report = FileReport("x.txt", "x", "text", "<b>題</b>", page_reports(doc, chunk_document(doc, "x")), 1, 0,
                        ["注意<i>"]).to_dict()
    html = page_text_html(report, 1) + summary_html(report)
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html and "第1章" in html
    assert page_rows(report)[0][:4] == [1, "—", "読み取り済み", "本文（テキスト・HTML）"]


# ---------------------------------------------------------------------- slow: real OCR, the corpus
@pytest.mark.slow
def test_real_ocr_page_is_reported_with_its_confidence(tmp_path):
    from eval.bench_ocr import image_only_pdf, renders_japanese

    need_fixture()
    if not ocr.ocr_available() or not renders_japanese(FIXTURE):
        pytest.skip(f"tesseract with Japanese data or a Japanese font is missing ({ocr.OCR_INSTALL_HINT})")
    report = inspect_file(image_only_pdf(FIXTURE, tmp_path / "scan.pdf", (2,)))
    [page] = report.pages
    assert page.method == "ocr" and page.reading == "横書き"
    assert page.ocr_confidence is not None and page.ocr_confidence >= ocr.OCR_CONFIDENCE_FLOOR
    assert any("基本構想" in c.text for c in page.chunks) and report.refused == ""


@pytest.mark.corpus
@pytest.mark.slow
def test_every_corpus_file_can_be_inspected(capsys):
    """Every file read without OCR; then, with OCR, the files that mix text pages with scanned ones.
    Image-only files (every page OCR'd, several readings each: 5 pages took 160 s of the 194 s the
    whole corpus took with OCR) stay without it; the real OCR path is the test above."""
    require_corpus()
    files = list(iter_files([CORPUS]))
    timings: list[tuple[float, str, FileReport]] = []
    started = time.perf_counter()
    for path in files:
        t = time.perf_counter()
        report = inspect_file(path, ocr=False)
        timings.append((time.perf_counter() - t, str(path.relative_to(CORPUS)), report))
        assert report.pages and report.ocr_skipped, path
        assert {x.chunk_no for p in report.pages for x in p.chunks} == set(range(report.chunks)), path
        assert not any(ocr.OCR_INSTALL_HINT in w for w in report.warnings), path
    plain = time.perf_counter() - started
    mixed = [(name, r) for _, name, r in timings if not r.refused and any(p.status == "no_text_layer" for p in r.pages)]
    image_only = [name for _, name, r in timings if r.refused == NEEDS_OCR]
    with capsys.disabled():
        print(f"\ninspect --no-ocr over {len(files)} corpus files: {plain:.1f} s; image-only: {', '.join(image_only)}")
        for seconds, name, report in sorted(timings, key=lambda x: x[0], reverse=True)[:8]:
            print(f"  {seconds:6.1f} s  {name}  ({len(report.pages)} pages, {report.chunks} chunks)")
        for name, before in mixed:
            t = time.perf_counter()
            report = inspect_file(CORPUS / name)
            read = [p for p in report.pages if p.method == "ocr"]
            print(f"  with OCR {time.perf_counter() - t:6.1f} s  {name}  ({len(read)} of "
                  f"{sum(p.status == 'no_text_layer' for p in before.pages)} scanned pages read by OCR)")
            assert report.chunks >= before.chunks and not report.ocr_skipped
            if ocr.ocr_available():  # every scanned page was tried: read, or below the floor, or failed
                tried = [report.page(p.number) for p in before.pages if p.status == "no_text_layer"]
                assert all(p is not None and (p.method == "ocr" or "OCR " in p.note) for p in tried), name
    assert len(timings) == len(files) and image_only
