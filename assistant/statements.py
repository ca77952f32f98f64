"""Draft text → statements: sentences and list items, each with its section path.

A draft is read line by line. Headings (第１章, １, （１）, ア, ①, ■, markdown `#` …, recognised by
`ingest.chunk.heading_style`) open sections; a heading that states figures is a statement too.
Lines wrapped by a PDF or a word processor are joined back until the sentence ends; list items
(・, ●, ①, (1), 1. …) and table rows stand alone. The same splitter cuts retrieved passages
into sentences (`split_sentences`), so a sentence wrapped across lines is compared whole.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from ingest.chunk import heading_style

__all__ = ["Statement", "Unit", "split_sentences", "split_statements", "table_cells", "units"]

_SENTENCE_END = re.compile(r"(?<=[。！？!?])(?![」』）)\]】。])")
_ENDS_SENTENCE = ("。", "！", "？", "!", "?", "：", ":")
_BULLET = re.compile(
    r"^(?:[・●○◎◆◇■□▪▫•‣※＊*]|[-‐－](?=\s)|[①-⑳]|[(（][0-9０-９一二三四五六七八九十]{1,2}[)）]"
    r"|[0-9０-９]{1,2}[.．)）](?=\s|\D)|[ア-ン][\s　.、．])"
)
_TABLE_RULE = re.compile(r"^\|?[\s|:：\-－—]+\|?$")
_NOISE = re.compile(
    r"^(?:<!--.*-->|[-－ー—=＝_]{3,}|[・･…‥.．\s]{3,}|[-－ー—]?\s*[0-9０-９]{1,4}\s*[-－ー—]?|\d+\s*/\s*\d+)$"
)
_DECIMAL = re.compile(r"^[0-9０-９]+[.．,，][0-9０-９]")
_PREDICATE_END = re.compile(
    r"(?:ます|ました|ません|する|した|される|されている|です|である|いる|ない|なる|図る|進める)$"
)
_FIXED_STYLES = {"hen", "chapter", "section", "item"}
_WRAP_MIN = 25  # a line at least this long that does not end a sentence continues on the next
_MAX_STATEMENT = 400


@dataclass
class Statement:
    id: str
    text: str
    section: str  # section path joined with " > "
    line: int  # 1-based line of the draft where the statement starts
    kind: str = "sentence"  # sentence | item | row | heading


def table_cells(line: str) -> list[str]:
    """The cells of a markdown-style table row (`| a | b |`)."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _join(a: str, b: str) -> str:
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    return a + b


class _Sections:
    """The section path: a heading style seen before closes everything below it."""

    _FIXED: ClassVar[dict[str, int]] = {"hen": 0, "chapter": 1, "section": 2, "item": 3}

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def push(self, style: str, text: str) -> None:
        keys = [k for k, _ in self.entries]
        if style in keys:
            del self.entries[keys.index(style) :]
        elif style.startswith("md"):
            level = int(style[2:])
            while (
                self.entries
                and self.entries[-1][0].startswith("md")
                and int(self.entries[-1][0][2:]) >= level
            ):
                self.entries.pop()
        elif style in self._FIXED:
            while self.entries and self._FIXED.get(self.entries[-1][0], 99) >= self._FIXED[style]:
                self.entries.pop()
        self.entries.append((style, text))

    def path(self) -> str:
        return " > ".join(text for _, text in self.entries)


@dataclass
class Unit:
    kind: str  # heading | sentence | item | row
    text: str
    line: int
    style: str = ""  # heading style
    header: str = ""  # a table row's header row


def units(text: str):
    """Yield the `Unit`s of `text` in reading order."""
    buffer, start, kind = "", 0, "sentence"
    header: str | None = None

    def flush():
        nonlocal buffer
        pieces = [p.strip() for p in _SENTENCE_END.split(buffer)] if buffer else []
        buffer = ""
        for p in pieces:
            while len(p) > _MAX_STATEMENT:
                yield Unit(kind, p[:_MAX_STATEMENT], start)
                p = p[_MAX_STATEMENT:]
            if p:
                yield Unit(kind, p, start)

    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip()
        if not line or _NOISE.match(line):
            continue  # a blank line or page number inside a wrapped sentence
        if line.startswith("|"):
            yield from flush()
            if _TABLE_RULE.match(line):
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
        if _BULLET.match(line):
            yield from flush()
        if not buffer:
            start, kind = n, "item" if _BULLET.match(line) else "sentence"
        buffer = _join(buffer, line)
        if line.endswith(_ENDS_SENTENCE) or (len(line) < _WRAP_MIN and "、" not in line):
            yield from flush()  # a short line without a comma is a label, not half a sentence
    yield from flush()


_HEADING_LABEL = re.compile(
    r"^(?:#+\s*)?(?:"
    r"(?:基本目標|政策|基本施策|施策|基本方針|目標|重点施策|重点プロジェクト)[0-9０-９一二三四五六七八九十－\-ー・.．]+"
    r"|第[0-9０-９一二三四五六七八九十]+[編章節項款]|[0-9０-９]{1,2}|[(（][0-9０-９ア-ン]{1,2}[)）]"
    r"|[ア-ンｱ-ﾝ]|[①-⑳◇◆■□])[\s　.、．]*"
)
_LIST_STYLES = {"kata", "paren_kata", "circled", "diamond", "square"}


def _states_figures(heading: str) -> bool:
    from assistant.facts import extract_facts

    return any(f.kind != "ordinal" for f in extract_facts(_HEADING_LABEL.sub("", heading)))


def split_statements(draft: str) -> list[Statement]:
    """The statements of a draft in reading order, numbered s1, s2, …"""
    sections = _Sections()
    out: list[Statement] = []
    for u in units(unicodedata.normalize("NFC", draft or "")):
        kind = u.kind
        if kind == "heading":
            figures = _states_figures(u.text)
            if figures and u.style in _LIST_STYLES:
                kind = "item"  # 「◇　○○計画（令和５年度～令和９年度）」 is a list item, not a section
            else:
                sections.push(u.style, u.text)
                if not figures:
                    continue
        out.append(Statement(f"s{len(out) + 1}", u.text, sections.path(), u.line, kind))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage: wrapped lines joined, headings, list items and table rows apart."""
    return [u.text for u in units(text or "")]
