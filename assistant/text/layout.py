"""How Japanese plan documents lay out their text: heading styles, list bullets, lines that carry
no text (page numbers, rules, leaders), and the section stack that turns headings into a path.

Headings come in the numbering styles plans use (第１部, 第１章, 第２節, 第１款, 資料編, 資料３,
基本目標１, 施策２, 重点プロジェクト, １, （１）, ア, ①, ◇, ■, 【…】 and markdown `#`). Their nesting is
inferred per document: a style seen for the first time goes one level below the current one; a
style already on the stack closes everything under it; 部 > 編 > 章 > 節 > 項・款 have fixed ranks
(資料編 ranks as a 部, its 資料N as chapters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_HEADING_CHARS = 60

_N = "[0-9０-９一二三四五六七八九十]+"
# (style key, pattern). Order matters: first match wins.
HEADING_STYLES: list[tuple[str, re.Pattern[str]]] = [
    ("part", re.compile(rf"^第{_N}部(?![第、,の])[\s　]*\S")),
    ("hen", re.compile(rf"^第{_N}編(?![第、,の])[\s　]*\S")),
    ("chapter", re.compile(rf"^第{_N}章(?![第、,の])[\s　]*\S")),
    ("section", re.compile(rf"^第{_N}節(?![第、,の])[\s　]*\S")),
    ("item", re.compile(rf"^第{_N}(?:項|款)[\s　]*\S")),
    # 資料編 / 参考資料 (the appendix part), then 資料1 / 資料２ inside it
    ("appendix", re.compile(r"^(?:資料編|参考資料編?|附属資料|付属資料)(?:[\s　]|$)")),
    ("appendix_no", re.compile(rf"^(?:資料|参考資料){_N}[\s　:：.．、]*\S")),
    # the plan's own hierarchy: 基本目標 > 施策 (基本施策, 重点施策); 重点プロジェクト on its own
    ("goal", re.compile(rf"^(?:基本目標|政策|基本方針|目標){_N}[\s　:：.．、]*\S")),
    ("measure", re.compile(rf"^(?:施策|基本施策|重点施策){_N}[\s　:：.．、]*\S")),
    ("project", re.compile(rf"^重点プロジェクト(?:{_N}[\s　:：.．、]*\S|[\s　:：.．、]|$)")),
    # 「1 はじめに」「２．計画の位置づけ」, not a decimal figure (「48.6歳」「3.5%」: a table's cell)
    ("num", re.compile(r"^[0-9０-９]{1,2}(?![.．][0-9０-９])[\s　.、．]+\S")),
    ("paren_num", re.compile(r"^[(（][0-9０-９]{1,2}[)）][\s　]*\S")),
    ("kata", re.compile(r"^[ア-ンｱ-ﾝ][\s　.、．]+\S")),
    ("paren_kata", re.compile(r"^[(（][ア-ン][)）][\s　]*\S")),
    ("circled", re.compile(r"^[①-⑳][\s　]*\S")),
    ("diamond", re.compile(r"^[◇◆][\s　]*\S")),
    ("square", re.compile(r"^[■□][\s　]*\S")),
    # a line that is only a bracketed title: 【基本方針】, 【施策の方向性】 (not 【担当課】企画課)
    ("bracket", re.compile(r"^【[^】]{1,30}】$")),
]
# 部 > 編 > 章 > 節 > 項/款 have fixed ranks; 資料編 is a part of its own, its 資料N are chapters
FIXED_RANK = {"part": 0, "appendix": 0, "hen": 1, "chapter": 2, "appendix_no": 2, "section": 3, "item": 4}
# styles that also mark list items: a line in them that states figures is an item, not a section
LIST_STYLES = {"kata", "paren_kata", "circled", "diamond", "square"}
_MD_HEADING = re.compile(r"^(#{1,8})\s+(.*\S)")

# the numbering in front of a heading (「施策３」「第２章」「（１）」「ア」), to read what it says
HEADING_LABEL = re.compile(
    r"^(?:#+\s*)?(?:"
    r"(?:基本目標|政策|基本施策|施策|基本方針|目標|重点施策|重点プロジェクト|資料|参考資料)[0-9０-９一二三四五六七八九十－\-ー・.．]+"
    r"|第[0-9０-９一二三四五六七八九十]+[部編章節項款]|[0-9０-９]{1,2}|[(（][0-9０-９ア-ン]{1,2}[)）]"
    r"|[ア-ンｱ-ﾝ]|[①-⑳◇◆■□])[\s　.、．]*"
)
# a list item's marker: ・ ● ① (1) 1. ア …
BULLET = re.compile(
    r"^(?:[・●○◎◆◇■□▪▫•‣※＊*]|[-‐－](?=\s)|[①-⑳]|[(（][0-9０-９一二三四五六七八九十]{1,2}[)）]"
    r"|[0-9０-９]{1,2}[.．)）](?=\s|\D)|[ア-ン][\s　.、．])"
)
# a markdown table's rule line (|---|:--|)
TABLE_RULE = re.compile(r"^\|?[\s|:：\-－—]+\|?$")
# a line that carries no text: an HTML comment, a rule, a leader, a page number (- 12 -, 3/40)
NOISE_LINE = re.compile(
    r"^(?:<!--.*-->|[-－ー—=＝_]{3,}|[・･…‥.．\s]{3,}|[-－ー—]?\s*[0-9０-９]{1,4}\s*[-－ー—]?|\d+\s*/\s*\d+)$"
)


# --- lines of an extracted page, before line breaks are reflowed (`ingest.normalize`; digits ASCII) ---
LINE_BULLETS = "◇◆■□●○◎・▼▽▲△▶►‣※★☆【〔<≪《"
CIRCLED = "\u2460-\u2473\u24b6-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf"
COUNTER_CHARS = "年月日度人件回%円歳ヶか箇時分秒万億千百十倍点名社校戸"
LINE_MARKER = re.compile(
    r"(?:#{1,8}\s"  # markdown / HTML headings
    r"|\|\s"  # table rows
    r"|[-*+]\s"  # markdown list items
    r"|第[0-9一二三四五六七八九十百]+[部編章節款項条]"
    r"|(?:基本目標|基本施策|重点施策|施策|資料)\d{1,2}(?!\d)|資料編(?=\s|$)|重点プロジェクト(?=\s|\d|$)"
    rf"|\d{{1,2}}(?:\.\d{{1,2}})*(?:\s++|[.、．](?!\d))(?![{COUNTER_CHARS}])"  # 1 / 1.2 / 1.
    r"|[(][0-9a-zA-Zア-ンｱ-ﾝ一二三四五六七八九十]{1,3}[)]"  # (1) (ア) (a)
    r"|\d{1,2}[)]"  # 1)
    r"|[ア-ン]\s"  # ア
    rf"|[{CIRCLED}]"
    rf"|[{LINE_BULLETS}]"
    r")"
)
MARKER_PREFIX = re.compile(  # markers whose following space is kept: "## 第1章 総論", "ア 対応"
    rf"(?:#{{1,8}}\s+)?(?:第[0-9一二三四五六七八九十百]+[部編章節款項]\s+"
    r"|(?:基本目標|基本施策|重点施策|施策|資料|重点プロジェクト)\d{1,2}\s+"
    rf"|\d{{1,2}}(?:\.\d{{1,2}})*\s++(?![{COUNTER_CHARS}])"
    r"|[ア-ン]\s+)?"
)
NUMBERED_LINE = re.compile(
    r"(?:第[0-9一二三四五六七八九十百]+[部編章節款項条]|(?:基本目標|基本施策|重点施策|施策|資料)\d{1,2}(?!\d)|資料編$|【[^】]{1,30}】$|\d{1,2}(?:\.\d{1,2})*\s"
    r"|[(][0-9a-zA-Zア-ン一二三四五六七八九十]{1,3}[)]|\d{1,2}[)]|[ア-ン]\s|#)"
)
PAGE_NUMBER_LINE = re.compile(
    r"^\s*(?:[-–—―ー]\s*\d{1,4}\s*[-–—―ー]|\d{1,4}\s*/\s*\d{1,4}|[Pp]\.?\s*\d{1,4}|\d{1,4}\s*ページ)\s*$"
)
LONE_NUMBER_LINE = re.compile(r"^\s*\d{1,4}\s*$")
DOT_LEADER = re.compile(r"(?:[・･.‥…⋯·]\s?){4,}|[-−―─_]{6,}")
# text pulled out of a PDF: a line of ・・・・・・ leaders, or a lone printed page number, marks a page break
PAGE_BREAK_LEADER = re.compile(r"^[ \u3000]*[・･]{6,}[ \u3000]*$")
PRINTED_PAGE_NUMBER = re.compile(r"^[ \u3000]*([0-9０-９]{1,3})[ \u3000]*$")


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
    for key, pattern in HEADING_STYLES:
        if pattern.match(s):
            return key, s
    return None


@dataclass
class SectionStack:
    """The open headings, outermost first: a heading style seen before closes everything below it."""

    entries: list[tuple[str, str]] = field(default_factory=list)  # (style, text)

    def push(self, style: str, text: str) -> None:
        keys = [k for k, _ in self.entries]
        if style in keys:
            del self.entries[keys.index(style):]
        elif style.startswith("md"):
            level = int(style[2:])
            while self.entries and self.entries[-1][0].startswith("md") and int(self.entries[-1][0][2:]) >= level:
                self.entries.pop()
        elif style in FIXED_RANK:
            rank = FIXED_RANK[style]
            while self.entries and FIXED_RANK.get(self.entries[-1][0], 99) >= rank:
                self.entries.pop()
        self.entries.append((style, text))

    def path(self) -> str:
        return " > ".join(text for _, text in self.entries)
