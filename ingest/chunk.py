"""Pages → chunks that keep their section path and page numbers.

Headings are recognised in the numbering styles Japanese plans use (第１章, 第２節, １,
（１）, ア, ①, ◇, ■ and markdown `#`). Their nesting is inferred per document: a heading
style seen for the first time goes one level below the current one; a style already on
the stack closes everything under it. A heading always stays with the body that follows
it, table lines are never split, and long paragraphs break at sentence ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.types import Chunk, LoadedDocument

TARGET_CHARS = 400
MAX_CHARS = 600
MAX_HEADING_CHARS = 60

# (style key, pattern). Order matters: first match wins.
_HEADING_STYLES: list[tuple[str, re.Pattern[str]]] = [
    ("hen", re.compile(r"^第[0-9０-９一二三四五六七八九十]+編[\s　]*\S")),
    ("chapter", re.compile(r"^第[0-9０-９一二三四五六七八九十]+章[\s　]*\S")),
    ("section", re.compile(r"^第[0-9０-９一二三四五六七八九十]+節[\s　]*\S")),
    ("item", re.compile(r"^第[0-9０-９一二三四五六七八九十]+(?:項|款)[\s　]*\S")),
    ("measure", re.compile(r"^(?:基本目標|政策|施策|基本施策|基本方針|目標|重点施策|重点プロジェクト)[0-9０-９一二三四五六七八九十]+[\s　:：.．、]*\S")),
    ("num", re.compile(r"^[0-9０-９]{1,2}[\s　.、．]+\S")),
    ("paren_num", re.compile(r"^[(（][0-9０-９]{1,2}[)）][\s　]*\S")),
    ("kata", re.compile(r"^[ア-ンｱ-ﾝ][\s　.、．]+\S")),
    ("paren_kata", re.compile(r"^[(（][ア-ン][)）][\s　]*\S")),
    ("circled", re.compile(r"^[①-⑳][\s　]*\S")),
    ("diamond", re.compile(r"^[◇◆][\s　]*\S")),
    ("square", re.compile(r"^[■□][\s　]*\S")),
]
_FIXED_RANK = {"hen": 0, "chapter": 1, "section": 2, "item": 3}
_MD_HEADING = re.compile(r"^(#{1,8})\s+(.*\S)")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")


def heading_style(line: str) -> tuple[str, str] | None:
    """Return (style key, heading text) when `line` looks like a heading, else None."""
    s = line.strip()
    if not s:
        return None
    m = _MD_HEADING.match(s)
    if m:
        return f"md{len(m.group(1))}", m.group(2).strip()
    if len(s) > MAX_HEADING_CHARS or s.endswith(("。", "、", "，")):
        return None
    for key, pattern in _HEADING_STYLES:
        if pattern.match(s):
            return key, s
    return None


@dataclass
class _SectionStack:
    entries: list[tuple[str, str]] = field(default_factory=list)  # (style, text)

    def push(self, style: str, text: str) -> None:
        keys = [k for k, _ in self.entries]
        if style in keys:
            del self.entries[keys.index(style):]
        elif style.startswith("md"):
            level = int(style[2:])
            while self.entries and self.entries[-1][0].startswith("md") and int(self.entries[-1][0][2:]) >= level:
                self.entries.pop()
        elif style in _FIXED_RANK:
            rank = _FIXED_RANK[style]
            while self.entries and _FIXED_RANK.get(self.entries[-1][0], 99) >= rank:
                self.entries.pop()
        self.entries.append((style, text))

    def path(self) -> str:
        return " > ".join(text for _, text in self.entries)


@dataclass
class _Block:
    text: str
    pages: set[int]
    is_table: bool = False


def _split_sentences(text: str, limit: int) -> list[str]:
    parts = [p for p in _SENTENCE_END.split(text) if p]
    out: list[str] = []
    for part in parts:
        while len(part) > limit:  # a single run-on sentence: cut hard
            out.append(part[:limit])
            part = part[limit:]
        out.append(part)
    return out


class _ChunkBuilder:
    def __init__(self, doc_id: str, target: int, maximum: int) -> None:
        self.doc_id, self.target, self.maximum = doc_id, target, maximum
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
            self.chunks.append(Chunk(self.doc_id, len(self.chunks), "\n".join(self.lines),
                                     self.section, sorted(self.pages)))
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
            else _split_sentences(block.text, self.maximum)
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
    builder = _ChunkBuilder(doc_id, target, maximum)
    stack = _SectionStack()
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
