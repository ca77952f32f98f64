"""Draft text → statements: sentences and list items, each with its section path.

A draft is read in units (`text.sentences.units`: wrapped lines joined back, list items and
table rows apart). Headings open sections (`text.layout.SectionStack`); a heading that states
figures is a statement too, and in a list style (◇, ①, ア …) it is an item, not a section.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from assistant.text.facts import extract_facts
from assistant.text.layout import HEADING_LABEL, LIST_STYLES, SectionStack
from assistant.text.sentences import units

__all__ = ["Statement", "split_statements"]


@dataclass
class Statement:
    id: str
    text: str
    section: str  # section path joined with " > "
    line: int  # 1-based line of the draft where the statement starts
    kind: str = "sentence"  # sentence | item | row | heading


def _states_figures(heading: str) -> bool:
    return any(f.kind != "ordinal" for f in extract_facts(HEADING_LABEL.sub("", heading)))


def split_statements(draft: str) -> list[Statement]:
    """The statements of a draft in reading order, numbered s1, s2, …"""
    sections = SectionStack()
    out: list[Statement] = []
    for u in units(unicodedata.normalize("NFC", draft or "")):
        kind = u.kind
        if kind == "heading":
            figures = _states_figures(u.text)
            if figures and u.style in LIST_STYLES:
                kind = "item"  # 「◇　○○計画（令和５年度～令和９年度）」 is a list item, not a section
            else:
                sections.push(u.style, u.text)
                if not figures:
                    continue
        out.append(Statement(f"s{len(out) + 1}", u.text, sections.path(), u.line, kind))
    return out

