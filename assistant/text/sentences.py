"""The one sentence splitter, and the units a draft or a passage is read in.

A sentence ends after 。！？!? unless a closing bracket follows (「…です。」 ends after 」), and at
a line break. English text (a generated English answer) also ends a sentence at a full stop
followed by a space. `units()` reads text line by line the way a person reads a plan: lines
wrapped by a PDF or a word processor are joined back until the sentence ends; headings, list
items and table rows stand alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.text.layout import BULLET, NOISE_LINE, TABLE_RULE, heading_style

# zero-width, so that splitting keeps every character (a streamed answer is the same text)
SENTENCE_BOUNDARY = re.compile(r"(?<=[。！？!?])(?![」』）)\]】。])|(?<=\n)")
_ENGLISH_BOUNDARY = re.compile(r"(?<=[.])\s+(?=[A-Z])")  # not inside "p. 3" or "1.5"
# a table row indexed as a record is one 「column: value」 line per cell (after its caption line)
FIELD = re.compile(r"^(?P<name>[^:：\n]{1,30})[:：][ \t　]*(?P<value>[^\n]+)$", re.MULTILINE)
_NUMBER_ONLY = re.compile(r"[\s0-9０-９.,，．()（）#＃-]*|(?:No|NO|no|№)\.?\s*[0-9０-９]+")
_ENDS_SENTENCE = ("。", "！", "？", "!", "?", "：", ":")
_DECIMAL = re.compile(r"^[0-9０-９]+[.．,，][0-9０-９]")
_PREDICATE_END = re.compile(r"(?:ます|ました|ません|する|した|される|されている|です|である|いる|ない|なる|図る|進める)$")
_FIXED_STYLES = {"hen", "chapter", "section", "item"}
WRAP_MIN = 25  # a line at least this long that does not end a sentence continues on the next
MAX_UNIT_CHARS = 400  # a run-on "sentence" (a table flattened into one line) is cut here


def split_sentences(text: str, english: bool = False) -> list[str]:
    """The sentences of `text`, stripped, in order."""
    pieces = SENTENCE_BOUNDARY.split(text or "")
    if english:
        pieces = [q for p in pieces for q in _ENGLISH_BOUNDARY.split(p)]
    return [p.strip() for p in pieces if p.strip()]


def cut(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at sentence ends where possible."""
    out: list[str] = []
    for part in (p for p in SENTENCE_BOUNDARY.split(text) if p):
        while len(part) > limit:  # a single run-on sentence: cut hard
            out.append(part[:limit])
            part = part[limit:]
        out.append(part)
    return out


def table_cells(line: str) -> list[str]:
    """The cells of a markdown-style table row (`| a | b |`)."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _join(a: str, b: str) -> str:
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    return a + b


@dataclass
class Unit:
    """A piece of text read as one: a heading, a sentence, a list item or a table row."""

    kind: str  # heading | sentence | item | row
    text: str
    line: int
    style: str = ""  # heading style
    header: str = ""  # a table row's header row


def units(text: str) -> Iterator[Unit]:
    """The `Unit`s of `text` in reading order."""
    buffer, start, kind = "", 0, "sentence"
    header: str | None = None

    def flush() -> Iterator[Unit]:
        nonlocal buffer
        pieces = split_sentences(buffer) if buffer else []
        buffer = ""
        for p in pieces:
            while len(p) > MAX_UNIT_CHARS:
                yield Unit(kind, p[:MAX_UNIT_CHARS], start)
                p = p[MAX_UNIT_CHARS:]
            if p:
                yield Unit(kind, p, start)

    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip()
        if not line or NOISE_LINE.match(line):
            continue  # a blank line or page number inside a wrapped sentence
        if line.startswith("|"):
            yield from flush()
            if TABLE_RULE.match(line):
                continue
            cells = [c for c in table_cells(line) if c]
            if header is None:
                header = " / ".join(cells)
                continue
            yield Unit("row", " / ".join(cells), n, header=header)
            continue
        header = None
        style = heading_style(line)
        if style and style[0] == "num" and _DECIMAL.match(line):
            style = None  # 「95.0%」 is a figure, not heading 95
        if style and style[0] not in _FIXED_STYLES and _PREDICATE_END.search(line):
            style = None  # 「①　公共交通を確保します」 is a list item that says something, not a heading
        if style and not line.endswith(_ENDS_SENTENCE):
            yield from flush()
            yield Unit("heading", style[1], n, style=style[0])
            continue
        if BULLET.match(line):
            yield from flush()
        if not buffer:
            start, kind = n, "item" if BULLET.match(line) else "sentence"
        buffer = _join(buffer, line)
        if line.endswith(_ENDS_SENTENCE) or (len(line) < WRAP_MIN and "、" not in line):
            yield from flush()  # a short line without a comma is a label, not half a sentence
    yield from flush()


def row_label(record_text: str) -> str:
    """The line that names a table row (the first 「column: value」 line whose value is not a bare number:
    「工事・事業名: …」, 「区分: 国」, not 「No.: 3」); a value read alone has lost it. "" when the
    text has no such line."""
    for m in FIELD.finditer(record_text):
        if not _NUMBER_ONLY.fullmatch(m["value"]):
            return m.group(0).strip()
    return ""
