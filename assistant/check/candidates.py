"""Evidence candidates: the sentences, list items and table rows of the retrieved passages, each
with what the same-subject score reads besides its own words (document title, section path,
table header, the sentence before) and the values it states.

A table row's figures are said of its first cell, not of the cell before, and a
「（担当課：…）」 label shortly after a sentence names the department in charge of it. A list
flattened into one line (「①家庭用:基本料金1,540円(8m3まで) ②事業用:…」, as PDFs and tables often
give it) is read item by item, each item with the words before the list as its context, so that
values are compared within one item and not across items. A table row indexed as a record
(「名称: …」「定員: 350」, one field a line) is read as one row, and its field lines are no candidates
of their own: 「平均月額: 320,000円」 without the row's first cell (区分: 県) no longer says whose figure
it is. A bare number in a cell takes its unit from the column's name. A list of things ending in the same word (「A業務、B業務、C業務を
委託」) states how many there are (`values.enumeration_counts`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.check.values import Values, enumeration_counts, values_of
from assistant.evidence import WordWeights
from assistant.text.facts import Fact, extract_facts
from assistant.text.numerals import plain
from assistant.text.roles import DEPARTMENT_LABEL, departments
from assistant.text.sentences import FIELD, Unit, units
from assistant.types import Passage

MIN_SENTENCE_CHARS = 4  # shorter pieces of a passage are labels
LABEL_REACH = 200  # a 「（担当課：…）」 label this far after a sentence names its department
LABEL_ANCHOR = 12  # characters of a unit searched for to place it in its passage
# an item marker inside a line: a circled number or ※ after a space or punctuation, not a range (①~⑦)
_INNER_ITEM = re.compile(r"(?<=[\s　:：、。,，)）/])(?<![~〜～\-])(?=(?:[①-⑳⑴-⒇](?![~〜～\-])|※))")
CELL_SEPARATOR = " / "  # how `text.sentences.units` joins a row's cells
MIN_INNER_ITEMS = 2
MIN_RECORD_FIELDS = 2  # 「名前: 値」 lines a record needs to be read as one row
COUNTER_REACH = 2  # last characters of a column's name tried as the unit of its bare numbers (定員 → 人)
_BARE_CELL = re.compile(r"\s*(?:約\s*)?(?P<num>\d[\d,]*(?:\.\d+)?)\s*")
_UNIT_IN_NAME = re.compile(r"[(（](?P<unit>[^()（）]{1,6})[)）]$")  # markers a line needs to be read as a flattened list


@dataclass
class Candidate:
    passage: Passage
    text: str
    plain: str
    context: str  # title, section, table header, the sentence before
    tokens: frozenset[str]
    context_tokens: frozenset[str]
    values: Values
    previous: str = ""
    previous_tokens: frozenset[str] = frozenset()
    title: str = ""  # documents call themselves 本計画: the title belongs to every sentence
    title_tokens: frozenset[str] = frozenset()
    kind: str = "sentence"  # sentence | item | row | heading
    header: str = ""  # a table row's header row
    passage_values: Values | None = None  # every fact of the passage (a figure stated nearby confirms weakly)


def passage_candidates(p: Passage, words: WordWeights) -> list[Candidate]:
    """The candidates of one passage, in reading order."""
    out = []
    labels = [(m.start(), m["list"]) for m in DEPARTMENT_LABEL.finditer(p.text)]
    context_base = f"{p.title}\n{p.section}"
    title, title_tokens = plain(p.title), words.tokens(p.title)
    pos = 0
    previous = ""
    for u, lead in _pieces(p.text):
        if len(u.text) < MIN_SENTENCE_CHARS:
            continue
        previous = lead or previous
        values = values_of(u.text, responsible_only=False)
        values.facts = sorted(values.facts + enumeration_counts(u.text), key=lambda f: f.start)
        if u.kind == "row":  # a table row's figures are said of its first cell, not of the cell before
            values.facts = [
                Fact(f.kind, f.value, f.unit, f.surface, f.start, f.end, "") for f in values.facts
            ]
            values.cells = row_cells(u.text, u.header)
            _column_units(values)
        # 「（担当課：地域包括ケア推進課）」 after the sentence names its department
        at = p.text.find(u.text[:LABEL_ANCHOR], pos)
        pos = at if at >= 0 else pos
        for start, names in labels:
            if start >= pos and start - pos < len(u.text) + LABEL_REACH:
                values.departments += [
                    d for d in departments(plain(names), False) if d not in values.departments
                ]
                break
        # the subject is often named once, in the sentence before (「協議会は…組織です。令和４年度末現在で…」)
        context = f"{context_base}\n{u.header}\n{previous}"
        out.append(
            Candidate(
                p, u.text, plain(u.text), plain(context), words.tokens(u.text), words.tokens(context), values,
                plain(previous), words.tokens(previous), title, title_tokens, u.kind, u.header,
            )
        )
        previous = u.text
    if p.is_record:
        row = _record(p, words, title, title_tokens)
        if row:  # a field line alone has lost the row's subject (its first cell): the row speaks for it
            out = [c for c in out if not FIELD.fullmatch(c.text)]
        out += row
    facts = Values([f for c in out for f in c.values.facts], [], [])
    for c in out:
        c.passage_values = facts
    return out


def _record(p: Passage, words: WordWeights, title: str, title_tokens: frozenset[str]) -> list[Candidate]:
    """A table row indexed as a record (「名称: 中央公民館(ホール)」「定員: 350」 one per line) read
    as one row too, so that its values are compared with the row's subject."""
    fields = [(m["name"].strip(), m["value"].strip()) for m in FIELD.finditer(p.text)]
    if len(fields) < MIN_RECORD_FIELDS:
        return []
    text = CELL_SEPARATOR.join(f"{name}: {value}" for name, value in fields)
    values = values_of(text, responsible_only=False)
    values.facts = [Fact(f.kind, f.value, f.unit, f.surface, f.start, f.end, "") for f in values.facts]
    at = 0
    for name, value in fields:
        start = at + len(name) + len(": ")
        values.cells.append((start, start + len(value), name))
        at = start + len(value) + len(CELL_SEPARATOR)
    values.facts = [f for f in values.facts if any(a <= f.start < b for a, b, _ in values.cells)]  # not 千円 of 金額（千円）
    _column_units(values)
    context = f"{p.title}\n{p.section}"
    return [Candidate(p, text, plain(text), plain(context), words.tokens(text), words.tokens(context), values,
                      "", frozenset(), title, title_tokens, "record")]


def _column_units(values: Values) -> None:
    """A cell whose value is a bare number takes its unit from the column's name: 「定員: 350」 is
    350人, 「金額（千円）: 1,200」 1,200千円."""
    for a, b, name in values.cells:
        m = _BARE_CELL.fullmatch(values.text, a, b)
        if not m or any(a <= f.start < b for f in values.facts):
            continue
        name = name.split(" ")[0]
        unit_m = _UNIT_IN_NAME.search(name)
        for unit in ([unit_m["unit"]] if unit_m else []) + list(reversed(name[-COUNTER_REACH:])):
            got = extract_facts(f"{m['num']}{unit}")
            if len(got) == 1 and got[0].kind in ("quantity", "percent") and got[0].end == len(m["num"]) + len(unit):
                values.facts.append(Fact(got[0].kind, got[0].value, got[0].unit, m["num"], m.start("num"),
                                         m.end("num"), ""))
                break
    values.facts.sort(key=lambda f: f.start)


def row_cells(row: str, header: str) -> list[tuple[int, int, str]]:
    """A row's cells (start, end, its column's header and the row's first cell): what names each value."""
    cells, heads = row.split(CELL_SEPARATOR), header.split(CELL_SEPARATOR) if header else []
    out, at = [], 0
    for i, cell in enumerate(cells):
        names = (heads[i] if i < len(heads) else "") + " " + cells[0]
        out.append((at, at + len(cell), names))
        at += len(cell) + len(CELL_SEPARATOR)
    return out


def _pieces(text: str) -> Iterator[tuple[Unit, str]]:
    """The units of a passage, a flattened list cut into its items: (unit, the words before the list
    for an item, else "")."""
    for u in units(text):
        cuts = [m.start() for m in _INNER_ITEM.finditer(u.text)]
        if len(cuts) < MIN_INNER_ITEMS:
            yield u, ""
            continue
        lead = u.text[: cuts[0]].strip()
        if lead:
            yield Unit(u.kind, lead, u.line, u.style, u.header), ""
        for a, b in zip(cuts, [*cuts[1:], len(u.text)]):
            yield Unit("item", u.text[a:b].strip(), u.line, u.style, u.header), lead
