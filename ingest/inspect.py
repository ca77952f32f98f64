"""A reading-fidelity report: how each page of a file was read and what of it is indexed.

`inspect_file` runs what ingestion runs — `ingest.load.load_file` (the reader for the format,
pypdfium2 fallback and OCR included) and `ingest.chunk.chunk_document` with the same chunk sizes —
and writes nothing. Per page it says how the text was obtained (text layer, pypdfium2 fallback,
OCR with its confidence and reading direction, or not at all), the table rows found there, the
chunks that carry the page (with their section path: the text as indexed) and what a member of
staff should look at ("why is this page never found?"). Document warnings are the reader's own.

The report is built from the `Page` and `Record` fields by name where it knows them; any other
`Page` field is passed through in `PageReport.extra`, so a field a reader adds later shows up in
the CLI, the JSON and the UI without a change here.

OCR is what makes a report slow (measured on ../shared/corpus: 194 s for all 38 files, 160 s of it
the 5 pages of the two image-only flyers). `inspect_file(..., ocr=False)` (`inspect --no-ocr`)
leaves pages without a text layer unread and says so. The readers have no per-call switch, so it
turns OCR off for the whole process while the file is read: for the command line and tests, never
for a running service (`PlanAssistant.inspect` always reads as ingestion does).
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.types import Chunk, DocumentMeta, LoadedDocument, Page
from ingest.chunk import TARGET_CHARS, chunk_document
from ingest.load import MAX_FILE_BYTES, load_file
from ingest.normalize import japanese_ratio
from ingest.readers import ocr as ocr_engine
from ingest.readers.pdf import NEEDS_OCR, needs_ocr

# How a page was read, with the label the CLI and the UI show.
METHOD_LABELS: dict[str, str] = {
    "text_layer": "テキスト層",
    "pdfium": "テキスト層（pypdfium2 で再抽出）",
    "ordered": "テキスト層（文字の位置から並べ直し）",
    "ocr": "OCR",
    "text": "本文（テキスト・HTML）",
    "table": "表の行",
    "blank": "白紙",
    "none": "読み取れず",
}
STATUS_LABELS: dict[str, str] = {"ok": "読み取り済み", "empty": "白紙", "no_text_layer": "テキスト層なし",
                                 "garbled": "文字化け"}
# The Page fields this module reads by name; any other field is reported as it is (`extra`).
KNOWN_PAGE_FIELDS = ("number", "text", "status", "note", "ocr_confidence", "label")
# Page.note set by ingest.readers.pdf: the pypdfium2 fallback, and text rebuilt in reading order
# from the characters' positions (vertical or scrambled text; ingest.readers.vertical)
PDFIUM_NOTE = "extracted with pypdfium2"
ORDERED_NOTE = "text ordered by position"

# A read page whose text is under this share of Japanese characters is flagged. ingest/readers/pdf.py
# measured whole newsletters: broken font maps give 0.07–0.41, clean extractions 0.73–0.90; 0.5 sits
# in that gap (a page of figures or English text is flagged too: the warning says so).
LOW_JAPANESE = 0.5
# …but only when it has at least this many characters: a cover with a date and a logo is no alarm.
# Chosen by hand, not measured.
MIN_CHARS_FOR_RATIO = 40
# A PDF page read with fewer characters than this is probably a figure or a photo whose words are
# drawn, not text; chosen by hand (a title page has 20+ characters).
FEW_CHARS = 20
PDF_METHODS = ("text_layer", "pdfium", "ordered", "ocr")

OCR_SKIPPED = "OCR を省略しました（--no-ocr）: テキスト層のないページは OCR をすれば読める可能性があります"

_OCR_DETAIL = re.compile(r"confidence (?P<conf>[\d.]+)(?P<rest>[^)]*)\)")
_TURNED = re.compile(r"turned (\d+)°")
_BELOW_FLOOR = re.compile(r"OCR confidence ([\d.]+) below the floor")


@dataclass
class ChunkView:
    """One chunk as it is indexed (the title is added at indexing time, `pipeline.index_text`)."""

    chunk_no: int
    section: str
    pages: list[int]
    text: str
    is_record: bool = False
    ocr: float | None = None


@dataclass
class PageReport:
    number: int
    status: str  # PageStatus, or "ok" for a page that holds only table records
    method: str  # a key of METHOD_LABELS
    note: str = ""
    label: str | None = None  # the printed page number, where the reader found one that differs (Page.label)
    ocr_confidence: float | None = None
    vertical: bool = False  # read by OCR as vertical text (tategaki)
    rotation: int = 0  # degrees the page was turned before OCR read it
    chars: int = 0  # non-space characters of the page text as read
    japanese: float = 0.0  # share of them that are Japanese
    table_lines: int = 0  # `| a | b |` lines in the page text
    records: int = 0  # table rows (Record) on this page, each one chunk
    text: str = ""
    chunks: list[ChunkView] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # Page fields not known here by name

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)

    @property
    def reading(self) -> str:
        """The reading order where it is known: OCR's 縦書き/横書き and turn, or text put in order by position."""
        if self.method == "ordered":
            return "位置順（縦書きなど）"
        if self.method != "ocr":
            return ""
        return ("縦書き" if self.vertical else "横書き") + (f"（{self.rotation}°回転）" if self.rotation else "")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.update(status_label=self.status_label, method_label=self.method_label, reading=self.reading)
        return out


@dataclass
class FileReport:
    source: str
    doc_id: str
    kind: str
    title: str | None
    pages: list[PageReport]
    chunks: int
    records: int
    warnings: list[str]
    refused: str = ""  # why ingestion would refuse the file ("" when it would be indexed)
    seconds: float = 0.0  # time to load and chunk
    ocr_skipped: bool = False  # read with ocr=False: pages without a text layer were not tried
    indexed: dict[str, Any] | None = None  # what the registry holds, when inspected by document id

    def page(self, number: int) -> PageReport | None:
        return next((p for p in self.pages if p.number == number), None)

    def to_dict(self) -> dict:
        return {**{f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "pages"},
                "pages": [p.to_dict() for p in self.pages]}


def inspect_file(path: str | Path, *, doc_id: str | None = None, chunk_chars: int = TARGET_CHARS,
                 max_bytes: int = MAX_FILE_BYTES, ocr: bool = True) -> FileReport:
    """Load and chunk one file as ingestion does (`chunk_chars` as `Settings.chunk_chars`) and report
    on it page by page. Raises what `load_file` raises (`UnreadableDocument` …) for a file it cannot read.
    `ocr=False`: see the module docstring."""
    path = Path(path)
    doc_id = doc_id or path.stem
    started = time.perf_counter()
    if ocr:
        doc = load_file(path, max_bytes=max_bytes)
    else:
        with _ocr_off():
            doc = load_file(path, max_bytes=max_bytes)
        # the reader took the engine for missing: say what really happened
        doc.warnings = [OCR_SKIPPED if ocr_engine.OCR_INSTALL_HINT in w else w for w in doc.warnings]
    chunks = chunk_document(doc, doc_id, target=chunk_chars, maximum=int(chunk_chars * 1.5))  # as the Indexer
    seconds = time.perf_counter() - started
    refused = NEEDS_OCR if needs_ocr(doc) else ("" if chunks else "テキストが見つかりません: no text found in the file")
    return FileReport(source=str(path), doc_id=doc_id, kind=doc.kind, title=doc.title,
                      pages=page_reports(doc, chunks, ocr_skipped=not ocr), chunks=len(chunks), records=len(doc.records),
                      warnings=list(doc.warnings), refused=refused, seconds=round(seconds, 3), ocr_skipped=not ocr)


_OCR_SWITCH = threading.Lock()


@contextmanager
def _ocr_off() -> Iterator[None]:
    """The PDF reader asks `ocr.ocr_available()` before OCR; it answers False inside this block."""
    with _OCR_SWITCH:
        available = ocr_engine.ocr_available
        ocr_engine.ocr_available = _no_engine  # type: ignore[assignment]
        try:
            yield
        finally:
            ocr_engine.ocr_available = available


def _no_engine() -> bool:
    return False


def page_reports(doc: LoadedDocument, chunks: list[Chunk], *, ocr_skipped: bool = False) -> list[PageReport]:
    """One report per page of the document, and per page (sheet) that holds only table records."""
    by_page: dict[int, list[ChunkView]] = {}
    for c in chunks:
        view = ChunkView(c.chunk_no, c.section, list(c.pages), c.text, c.is_record, c.ocr)
        for n in c.pages:
            by_page.setdefault(n, []).append(view)
    rows: dict[int, int] = {}
    for r in doc.records:
        rows[r.page] = rows.get(r.page, 0) + 1
    pages: dict[int, Page] = {}  # an HTML page marker may come back to a page: one report per number
    for p in doc.pages:
        first = pages.get(p.number)
        pages[p.number] = p if first is None else dataclasses.replace(first, text=f"{first.text}\n{p.text}".strip())
    reports = [_page_report(p, doc.kind, rows.get(n, 0), by_page.get(n, [])) for n, p in pages.items()]
    seen = set(pages)
    for n in sorted(set(rows) - seen):
        reports.append(PageReport(n, "ok", "table", records=rows[n], chunks=by_page.get(n, [])))
    reports.sort(key=lambda p: p.number)
    for report in reports:
        report.warnings = page_warnings(report, ocr_skipped=ocr_skipped)
    return reports


def _page_report(page: Page, kind: str, records: int, chunks: list[ChunkView]) -> PageReport:
    report = PageReport(page.number, page.status, _method(page, kind), page.note, getattr(page, "label", None),
                        page.ocr_confidence, records=records, text=page.text, chunks=chunks)
    detail = _OCR_DETAIL.search(page.note) if report.method == "ocr" else None
    if detail:
        report.vertical = "vertical" in detail["rest"]
        turned = _TURNED.search(detail["rest"])
        report.rotation = int(turned.group(1)) if turned else 0
    report.chars = sum(1 for ch in page.text if not ch.isspace())
    report.japanese = round(japanese_ratio(page.text), 3)
    report.table_lines = sum(1 for line in page.text.split("\n") if line.lstrip().startswith("|"))
    report.extra = {f.name: getattr(page, f.name) for f in dataclasses.fields(page)
                    if f.name not in KNOWN_PAGE_FIELDS}
    return report


def _method(page: Page, kind: str) -> str:
    if page.status != "ok":
        return "blank" if page.status == "empty" else "none"
    if page.ocr_confidence is not None or page.note.startswith(ocr_engine.OCR_NOTE):
        return "ocr"
    if kind != "pdf":
        return "text"
    if page.note.startswith(ORDERED_NOTE):
        return "ordered"
    return "pdfium" if page.note.startswith(PDFIUM_NOTE) else "text_layer"


def page_warnings(p: PageReport, *, ocr_skipped: bool = False) -> list[str]:
    """What staff should know about one page, in Japanese: why it is (partly) not searchable."""
    out: list[str] = []
    if p.status == "no_text_layer":
        below = _BELOW_FLOOR.search(p.note)
        if below:
            out.append(f"OCR の信頼度 {below.group(1)} が下限 {ocr_engine.OCR_CONFIDENCE_FLOOR:.2f} 未満のため検索できません")
        elif "OCR failed" in p.note:
            out.append("OCR に失敗したため検索できません")
        elif ocr_skipped:
            out.append("テキスト層がありません（OCR は省略しました）: このままでは検索できません")
        else:
            out.append("テキスト層がなく OCR もしていないため検索できません")
    elif p.status == "garbled":
        out.append("文字化けしているため検索できません（フォントの文字対応表が壊れています）")
    if p.status != "ok":
        return out
    if p.method == "ocr":
        out.append(f"OCR で読み取ったページです（信頼度 {p.ocr_confidence or 0:.2f}）: 誤認識を含むことがあります")
    if p.method in PDF_METHODS and p.chars < FEW_CHARS:
        out.append(f"文字がほとんどありません（{p.chars}文字）: 図や写真の中の文字は検索できません")
    elif p.method != "table" and p.chars >= MIN_CHARS_FOR_RATIO and p.japanese < LOW_JAPANESE:
        out.append(f"日本語の文字が少ないページです（{p.japanese:.0%}）: 数表や英文でなければ読み取りが崩れています")
    if (p.chars or p.records) and not p.chunks:
        out.append("このページの本文はどのチャンクにも入っていません")
    return out


def compare_with_index(report: FileReport, meta: DocumentMeta, content_hash: str) -> FileReport:
    """Add what the registry holds for the document (`report.indexed`), and a warning first when the
    file or the way it reads has changed since it was indexed, so the report may differ from the index."""
    unchanged = content_hash == meta.content_hash
    report.indexed = {"doc_id": meta.doc_id, "title": meta.title, "pages": meta.pages, "chunks": meta.chunks,
                      "notes": list(meta.notes), "file_unchanged": unchanged}
    if not unchanged:
        report.warnings.insert(0, "取り込んだ後にファイルが変わっています: この報告は今のファイルの読み取りです。"
                                  "索引に反映するには再取り込みしてください")
    elif meta.chunks != report.chunks:
        report.warnings.insert(0, f"索引のチャンク数（{meta.chunks}）と今の読み取り（{report.chunks}）が違います: "
                                  "読み取りの仕組みが変わったためです。再取り込みすると揃います")
    return report
