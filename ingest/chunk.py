"""Pages → chunks that keep their section path and page numbers.

Headings and their nesting are read the way `assistant.text.layout` reads them (第１章, １, （１）,
ア, ①, ■, markdown `#` …). A heading always stays with the body that follows it, table lines are
never split, and long paragraphs break at sentence ends (`assistant.text.sentences.cut`).
A chunk with text from pages read by OCR carries the lowest of their confidences (`Chunk.ocr`), so
a citation can tell the reader the text may hold misreadings; table records never come from OCR.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.text.layout import SectionStack, heading_style
from assistant.text.sentences import cut
from assistant.types import Chunk, LoadedDocument

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
            self.chunks.append(Chunk(self.doc_id, len(self.chunks), "\n".join(self.lines),
                                     self.section, sorted(self.pages), ocr=min(read) if read else None))
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
        chunks.append(Chunk(doc_id, len(chunks), record.text, f"{record.row}行目", [record.page],
                            is_record=True))
    return chunks
