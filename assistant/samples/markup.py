"""The small Markdown dialect the PDF and HTML samples are written in.

``#``-``####`` headings, ``<!-- pagebreak -->``, pipe tables (first row is the header),
list items opened by ◇ ■ ・ ①… or a katakana marker (ア　…), and one paragraph per line.
A ``（１）`` or ``ア　`` line without a full stop is a minor heading, as in real plans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PAGEBREAK = "<!-- pagebreak -->"
_ITEM_MARKS = "◇■・●" + "".join(chr(c) for c in range(ord("①"), ord("⑳") + 1))
_KANA_MARK = re.compile(r"^[ア-ン]　")
_PAREN_MARK = re.compile(r"^（[０-９0-9]+）")
_TABLE_RULE = re.compile(r"^\|[\s\-:|]+\|$")


@dataclass
class Block:
    kind: str  # h1..h6 | p | item | table | pagebreak
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


def parse(source: str) -> list[Block]:
    blocks: list[Block] = []
    for line in (raw.strip() for raw in source.splitlines()):
        if not line:
            continue
        if line == PAGEBREAK:
            blocks.append(Block("pagebreak"))
        elif line.startswith("|"):
            if _TABLE_RULE.match(line):
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not blocks or blocks[-1].kind != "table":
                blocks.append(Block("table"))
            blocks[-1].rows.append(cells)
        elif line.startswith("#"):
            marks, _, text = line.partition(" ")
            blocks.append(Block(f"h{len(marks)}", text.strip()))
        elif _PAREN_MARK.match(line) and "。" not in line:
            blocks.append(Block("h5", line))
        elif _KANA_MARK.match(line) and "。" not in line:
            blocks.append(Block("h6", line))
        elif line[0] in _ITEM_MARKS or _KANA_MARK.match(line):
            blocks.append(Block("item", line))
        else:
            blocks.append(Block("p", line))
    return blocks


def split_cover(blocks: list[Block]) -> tuple[list[Block], list[Block]]:
    """Blocks before the first chapter heading (``##``) form the cover."""
    for i, block in enumerate(blocks):
        if block.kind == "h2":
            cover = [b for b in blocks[:i] if b.kind != "pagebreak"]
            return cover, blocks[i:]
    return [], blocks
