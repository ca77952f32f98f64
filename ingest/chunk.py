"""Pages → chunks that keep their section path and page numbers.

Headings and their nesting are read the way `assistant.text.layout` reads them (第１章, １, （１）,
ア, ①, ■, markdown `#` …). A heading always stays with the body that follows it, table lines are
never split, and long paragraphs break at sentence ends (`assistant.text.sentences.cut`).
A chunk with text from pages read by OCR carries the lowest of their confidences (`Chunk.ocr`), so
a citation can tell the reader the text may hold misreadings; table records never come from OCR.
Table records (CSV/XLSX rows, PDF table rows) are one chunk each; a PDF row's section path is its
table's caption, then the row number.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.text.layout import SectionStack, heading_style
from assistant.text.sentences import cut
from assistant.types import Chunk, LoadedDocument, Record

TARGET_CHARS = 400
MAX_CHARS = 600


@dataclass
class _Block:
    text: str
    pages: set[int]
    is_table: bool = False


class _ChunkBuilder:
    def __init__(self, doc_id: str, target: int, maximum: int, ocr: dict[int, float] | None = None) -> None:
        self.doc_id, self.target, self.maximum = doc_id, target, maximum
        self.ocr = ocr or {}  # page number → OCR confidence, for the pages read by OCR
        self.labels: dict[int, str] = {}  # page number → printed page number (Page.label), where known
        self.chunks: list[Chunk] = []
        self.lines: list[str] = []
        self.pages: set[int] = set()
        self.section = ""
        self.has_body = False

    @property
    def size(self) -> int:
        return sum(len(x) + 1 for x in self.lines)

    def flush(self) -> None:
        if self.lines and self.has_body:
            read = [self.ocr[n] for n in self.pages if n in self.ocr]
            pages = sorted(self.pages)
            self.chunks.append(Chunk(self.doc_id, len(self.chunks), "\n".join(self.lines),
                                     self.section, pages, ocr=min(read) if read else None,
                                     page_label=self.labels.get(pages[0]) if pages else None))
        if self.has_body:
            self.lines, self.pages, self.has_body = [], set(), False

    def heading(self, text: str, page: int, section: str) -> None:
        if self.has_body:
            self.flush()
        self.section = section
        self.lines.append(text)
        self.pages.add(page)

    def body(self, block: _Block) -> None:
        pieces = [block.text] if block.is_table or len(block.text) <= self.maximum \
            else cut(block.text, self.maximum)
        for piece in pieces:
            if self.has_body and self.size + len(piece) > self.target:
                self.flush()
            self.lines.append(piece)
            self.pages |= block.pages
            self.has_body = True


def _blocks(doc: LoadedDocument):
    """Yield ("heading", style, text, page) or ("body", _Block) in reading order."""
    table: _Block | None = None
    for page in doc.pages:
        for raw in page.text.split("\n"):
            line = raw.strip()
            if line.startswith("|"):
                if table is None:
                    table = _Block(line, {page.number}, is_table=True)
                elif len(table.text) + len(line) > MAX_CHARS:
                    yield ("body", table)
                    table = _Block(line, {page.number}, is_table=True)
                else:
                    table.text += "\n" + line
                    table.pages.add(page.number)
                continue
            if table is not None:
                yield ("body", table)
                table = None
            if not line:
                continue
            style = heading_style(line)
            if style:
                yield ("heading", style[0], style[1], page.number)
            else:
                yield ("body", _Block(line, {page.number}))
    if table is not None:
        yield ("body", table)


def chunk_document(doc: LoadedDocument, doc_id: str, target: int = TARGET_CHARS,
                   maximum: int = MAX_CHARS) -> list[Chunk]:
    """Split a loaded document into chunks; table records become one chunk each."""
    ocr = {p.number: p.ocr_confidence for p in doc.pages if p.ocr_confidence is not None}
    builder = _ChunkBuilder(doc_id, target, maximum, ocr)
    builder.labels = {p.number: p.label for p in doc.pages if p.label}
    stack = SectionStack()
    for item in _blocks(doc):
        if item[0] == "heading":
            _, style, text, page = item
            stack.push(style, text)
            builder.heading(text, page, stack.path())
        else:
            builder.body(item[1])
    builder.flush()
    if builder.lines:  # a document that is only headings
        builder.has_body = True
        builder.flush()
    chunks = builder.chunks
    for record in doc.records:
        chunks.append(Chunk(doc_id, len(chunks), record.text, _record_section(record), [record.page],
                            is_record=True, page_label=builder.labels.get(record.page)))
    return chunks


def _record_section(record: Record) -> str:
    """A record's section path: a PDF table row's caption, then the row number. The headings above
    the table are left out on purpose: every row of a table would match them, and together they
    outrank the page's own passage for questions about the text around the table."""
    return f"{record.section} > {record.row}行目" if record.section else f"{record.row}行目"
