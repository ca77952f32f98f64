"""Does a PDF page read in order? A check of the text the ingester keeps, against where each
character sits on the page.

For every pair of consecutive characters in a page's text (spaces removed, NFKC on both sides)
the check asks whether the second can follow the first on the page:

- it is the next character of the same line: directly below in a column (vertical text) or
  directly to the right on a line (horizontal text; between a half-width character and its
  neighbour either direction, for numbers set across a column, 縦中横);
- or the first ends a line and the second starts one, without going back (to a column on the
  right, or to a line above, in the same stretch of text) and without skipping a line in between.

Characters appear many times on a page, so the text is followed as a path: the instances the
previous character can be are carried along, and a pair is in order when some instance of the
second character can follow some carried instance of the first. Characters of the text that are
not on the page (an OCR page, a replaced character) are skipped. Which block of text comes after
which is not judged: only that every column and line is whole and read in its direction, and the
lines of a block in theirs.

Where the geometry alone misjudges what a person reads, the check follows these rules (each one
found on corpus/otoineppu/kouhou, none of them naming a word or a page):

- rotated text (a word turned 90°, a URL up a margin) is judged along its own baseline, in the
  character's upright frame (`vertical.Char`); characters of different turns are never neighbours.
  Judged as if upright, a rotated word read along its baseline counted as out of order.
- display type set solid (covers, mastheads: line pitch as close as letter pitch) is too close to
  call: when the nearest vertical and horizontal neighbours are within `TIE` sizes, the orientation
  is the one the text layer follows (its next or previous character is that neighbour). Scrambled
  text still fails, since only the orientation is taken from the layer, never the order.
- one glyph that stands for several characters (⁉ as "!?"): its characters follow each other.
- a justified column (均等割り: 「九　月」 spread to the length of 「令和二年」 beside it) is read down
  like any column, although its characters are further apart than `REACH`.
- characters outside the visible page (`vertical.page_chars`) are not on the page.
- one character whose NFKC form is several (㈱ → "(株)", ㎡ → "m2"): the ingester's text holds the
  several, the page the one; such a run of the text is that one character (`_tokens`). Matched
  character by character, "㈱佐藤組" counted two pairs out of order, as "(" and ")" were looked
  for among the page's other brackets.

A page **reads in order** when at least `IN_ORDER` of its judged pairs are in order.

    python -m eval.reading_order ../shared/corpus/otoineppu/kouhou/*.pdf [--pages] [--json]
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pypdfium2

from ingest.readers.vertical import TIE, Char, page_chars

# A page reads in order when 97 % of its character pairs do: the newsletters' horizontal pages
# read through the text layer score 0.96–1.00 (breaks come from decorated headings, rotated
# words and running lines), their vertical pages as the text layer gives them 0.55–0.85.
IN_ORDER = 0.97
# Geometry of "next character", in character sizes: aligned within 0.4 across the line, the next
# centre at most 2 sizes on (gap under 1 size for horizontal text), sizes within 1.5×.
ALIGN, REACH, H_GAP, SIZES = 0.4, 2.0, 1.0, 1.5
# Lines of one stretch of text lie within 3 sizes of each other (a column or line pitch).
PITCH = 3.0
# Two characters within 0.1 of their size of each other stand at one spot (one glyph for both).
SAME_SPOT = 0.1
# A justified column is read beside a column 0.8–3 sizes away (the column pitch of `vertical`).
COLUMN_PITCH = (0.8, 3.0)


@dataclass
class PageOrder:
    page: int
    pairs: int  # judged pairs
    in_order: int
    sentences: int
    whole_sentences: int  # sentences (ending in 。) without a pair out of order

    @property
    def score(self) -> float:
        return self.in_order / self.pairs if self.pairs else 1.0

    @property
    def reads_in_order(self) -> bool:
        return self.score >= IN_ORDER


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _wide(c: Char) -> bool:
    return unicodedata.east_asian_width(c.text) in "WF"


class _Geometry:
    """For each character of a page: which characters may come next (see module)."""

    def __init__(self, chars: list[Char]) -> None:
        self.chars = chars
        n = len(chars)
        self.down: list[int | None] = [None] * n
        self.right: list[int | None] = [None] * n
        has_up, has_left = [False] * n, [False] * n
        near_v, near_h = [float("inf")] * n, [float("inf")] * n
        layer_v, layer_h = [False] * n, [False] * n  # a neighbour that is next in the text layer
        order = sorted(range(n), key=lambda k: chars[k].cx)
        xs = [chars[k].cx for k in order]
        for i, a in enumerate(chars):
            lo = bisect.bisect_left(xs, a.cx - ALIGN * SIZES * a.size)
            hi = bisect.bisect_right(xs, a.cx + (H_GAP + 2) * SIZES * a.size)
            for j in order[lo:hi]:
                b = chars[j]
                if i == j or a.turn is None or b.turn != a.turn or max(a.size, b.size) > SIZES * min(a.size, b.size):
                    continue
                s = a.size
                if abs(a.cx - b.cx) < ALIGN * s and 0 < a.cy - b.cy < REACH * s:
                    near_v[i] = min(near_v[i], a.cy - b.cy - s)
                    near_v[j] = min(near_v[j], a.cy - b.cy - s)
                    if abs(i - j) == 1:
                        layer_v[i] = layer_v[j] = True
                    if self.down[i] is None or chars[self.down[i]].cy < b.cy:  # type: ignore[index]
                        self.down[i] = j
                if abs(a.cy - b.cy) < ALIGN * s and b.cx > a.cx and b.left - a.right < H_GAP * s:
                    gap = max(b.left - a.right, 0.0)
                    near_h[i], near_h[j] = min(near_h[i], gap), min(near_h[j], gap)
                    if abs(i - j) == 1:
                        layer_h[i] = layer_h[j] = True
                    if self.right[i] is None or chars[self.right[i]].cx > b.cx:  # type: ignore[index]
                        self.right[i] = j
        self.vertical = [near_v[i] < near_h[i] for i in range(n)]
        for i in range(n):  # too close to call: the orientation the text layer follows (see module)
            if abs(near_v[i] - near_h[i]) < TIE * chars[i].size and layer_v[i] != layer_h[i]:
                self.vertical[i] = layer_v[i]
        self._justified(order, xs)
        self.prev: dict[int, int] = {}  # the character before, on its own line
        for i in range(n):
            d, r = self.down[i], self.right[i]
            if d is not None and self.vertical[i]:
                has_up[d] = True
                self.prev.setdefault(d, i)
            if r is not None and not self.vertical[i]:
                has_left[r] = True
                self.prev.setdefault(r, i)
        self.next: list[set[int]] = []
        for i, a in enumerate(chars):
            own = self.down[i] if self.vertical[i] else self.right[i]
            nxt = {own} if own is not None else set()
            other = self.right[i] if self.vertical[i] else self.down[i]
            if other is not None and (not _wide(a) or not _wide(chars[other])):
                nxt.add(other)
            self.next.append(nxt)
        ends = {i for i in range(n) if (self.down[i] if self.vertical[i] else self.right[i]) is None}
        for group in self._glyphs():  # one glyph, several characters: read in the layer's order
            after = set().union(*(self.next[i] for i in group))
            for k, i in enumerate(group):
                self.next[i] = after | set(group[k + 1:])
            if ends & set(group):
                ends |= set(group)
        self.ends = sorted(ends)
        starts = [i for i in range(n) if not (has_up[i] if self.vertical[i] else has_left[i])]
        self.starts = starts
        self.line_of = self._lines(starts)

    def _glyphs(self) -> list[list[int]]:
        """Runs of characters the layer gives one after another at one spot: a glyph that stands
        for several characters (a ligature such as ⁉ for "!?")."""
        groups: list[list[int]] = []
        for i in range(1, len(self.chars)):
            a, b = self.chars[i - 1], self.chars[i]
            if (a.turn == b.turn and abs(a.left - b.left) < SAME_SPOT * a.size and abs(a.cy - b.cy) < SAME_SPOT * a.size
                    and a.size == b.size and a.text != b.text):
                if groups and groups[-1][-1] == i - 1:
                    groups[-1].append(i)
                else:
                    groups.append([i - 1, i])
        return groups

    def _justified(self, order: list[int], xs: list[float]) -> None:
        """Columns justified to the length of the column beside them (均等割り: 「九　月」 beside
        「令和二年」): a character that starts a column and has nothing directly below it continues
        down to the next aligned character of its size when a column beside starts level with the
        first and ends level with the second."""
        chars = self.chars
        in_row = set()  # characters of a horizontal line
        for k, r in enumerate(self.right):
            if r is not None and not self.vertical[k] and not self.vertical[r]:
                in_row |= {k, r}
        has_up = {d for k, d in enumerate(self.down) if d is not None and self.vertical[k]}
        for i, a in enumerate(chars):
            if (self.down[i] is not None and self.vertical[i]) or i in in_row or i in has_up:
                continue
            s = a.size
            lo, hi = bisect.bisect_left(xs, a.cx - ALIGN * s), bisect.bisect_right(xs, a.cx + ALIGN * s)
            below = [j for j in order[lo:hi] if j != i and chars[j].turn == a.turn and chars[j].cy < a.cy
                     and abs(chars[j].cx - a.cx) < ALIGN * s]
            if not below:
                continue
            j = max(below, key=lambda k: chars[k].cy)
            b = chars[j]
            if abs(b.size - s) > SAME_SPOT * s or a.cy - b.cy < REACH * s:
                continue
            for c in range(len(chars)):  # a column beside: its top level with a, its end level with b
                cc = chars[c]
                if (cc.turn == a.turn and self.vertical[c] and c not in has_up and abs(cc.size - s) < SAME_SPOT * s
                        and abs(cc.cy - a.cy) < ALIGN * s and COLUMN_PITCH[0] * s < abs(cc.cx - a.cx) < COLUMN_PITCH[1] * s
                        and self._reaches(c, b)):
                    self.down[i] = j
                    self.vertical[i] = self.vertical[j] = True
                    break

    def _reaches(self, top: int, level: Char) -> bool:
        """Does the column from `top` down end level with `level`?"""
        seen, i = set(), top
        while (nxt := self.down[i]) is not None and nxt not in seen and self.vertical[nxt]:
            seen.add(i)
            i = nxt
        return abs(self.chars[i].cy - level.cy) < ALIGN * level.size

    def _lines(self, starts: list[int]) -> dict[int, tuple[float, float, float, float]]:
        """Line start → (left, right, bottom, top) of its line."""
        out = {}
        for s in starts:
            seen, i = {s}, s
            box = [self.chars[s].left, self.chars[s].right, self.chars[s].cy, self.chars[s].cy]
            while True:
                nxt = self.down[i] if self.vertical[i] else self.right[i]
                if nxt is None or nxt in seen or self.vertical[nxt] != self.vertical[s]:
                    break
                seen.add(nxt)
                i = nxt
                c = self.chars[i]
                box = [min(box[0], c.left), max(box[1], c.right), min(box[2], c.cy), max(box[3], c.cy)]
            out[s] = (box[0], box[1], box[2], box[3])
        return out

    def wrap_ok(self, end: int, start: int) -> bool:
        """May the text go from the line end `end` to the line start `start`?"""
        a, b = self.chars[end], self.chars[start]
        if (self.vertical[end] != self.vertical[start] or a.turn != b.turn
                or max(a.size, b.size) > SIZES * min(a.size, b.size)):
            return True  # another stretch of text: not judged
        s = a.size
        vertical = self.vertical[end]

        def across(c: Char) -> float:  # position across lines, in reading order
            return -c.cx if vertical else -c.cy

        def along_overlap(x: int, y: int) -> bool:
            bx, by = self.line_of.get(x), self.line_of.get(y)
            if bx is None or by is None:
                return False
            if vertical:
                return min(bx[3], by[3]) - max(bx[2], by[2]) > -s
            return min(bx[1], by[1]) - max(bx[0], by[0]) > -s

        a_start = self._start_of(end)
        step = across(b) - across(a)
        if abs(step) > PITCH * s or a_start is None or not along_overlap(a_start, start):
            return True  # another block: not judged
        if step < 0.5 * s:
            return False  # back to a line already read, or the same line
        for c in self.starts:  # a line skipped in between
            cc = self.chars[c]
            if (c not in (start, a_start) and self.vertical[c] == vertical and cc.turn == a.turn
                    and abs(cc.size - s) < 0.2 * s
                    and across(a) + 0.5 * s < across(cc) < across(b) - 0.5 * s
                    and along_overlap(a_start, c) and along_overlap(c, start)):
                return False
        return True

    def _start_of(self, i: int) -> int | None:
        seen = set()
        while i not in self.line_of:
            seen.add(i)
            prev = self.prev.get(i)
            if prev is None or prev in seen or self.vertical[prev] != self.vertical[i]:
                return None
            i = prev
        return i


def _tokens(text: str, where: dict[str, list[int]]) -> list[str]:
    """The text's characters, except that a run spelling the NFKC form of one character of the
    page (㈱ → "(株)", ㎡ → "m2") is that character: the ingester normalises the text, the page
    still holds the one glyph (longest run first)."""
    several = sorted((k for k in where if len(k) > 1), key=len, reverse=True)
    out: list[str] = []
    i = 0
    while i < len(text):
        token = next((k for k in several if text.startswith(k, i)), text[i])
        out.append(token)
        i += len(token)
    return out


def score_page(chars: list[Char], text: str, page: int = 0) -> PageOrder:
    """The order check of one page's text against its characters (see module)."""
    geometry = _Geometry(chars)
    where: dict[str, list[int]] = {}
    for i, c in enumerate(chars):
        where.setdefault(_key(c.text), []).append(i)
    ends = set(geometry.ends)
    wraps: dict[int, set[int]] = {}
    pairs = in_order = sentences = whole = 0
    current: set[int] = set()
    sentence_ok = True
    for ch in _tokens(_key(text), where):
        if ch.isspace() or ch not in where:
            continue
        here = set(where[ch])
        if current:
            follow = set()
            for a in current:
                follow |= geometry.next[a] & here
                if a in ends:
                    if a not in wraps:
                        wraps[a] = {s for s in geometry.starts if geometry.wrap_ok(a, s)}
                    follow |= wraps[a] & here
            pairs += 1
            if follow:
                in_order += 1
                here = follow
            else:
                sentence_ok = False
        current = here
        if ch == "。":
            sentences += 1
            whole += sentence_ok
            sentence_ok = True
    return PageOrder(page, pairs, in_order, sentences, whole)


def check_file(path: Path) -> list[PageOrder]:
    """Every page of a PDF as the ingester reads it (`ingest.load.load_file`)."""
    from ingest.load import load_file

    doc = load_file(path)
    texts = {p.number: p.text for p in doc.pages}
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return [score_page(page_chars(pdf[n - 1]), texts.get(n, ""), n) for n in range(1, len(pdf) + 1)]
    finally:
        pdf.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.reading_order", description=__doc__.split("\n")[0])
    parser.add_argument("pdfs", nargs="+", type=Path)
    parser.add_argument("--pages", action="store_true", help="one line per page")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = {}
    for path in args.pdfs:
        pages = check_file(path)
        report[path.name] = pages
        if args.json:
            continue
        pairs, ok = sum(p.pairs for p in pages), sum(p.in_order for p in pages)
        sent, whole = sum(p.sentences for p in pages), sum(p.whole_sentences for p in pages)
        good = sum(p.reads_in_order for p in pages)
        print(f"{path.name}: {good}/{len(pages)} pages in order, pairs {ok / max(pairs, 1):.3f}, "
              f"whole sentences {whole}/{sent}, lowest page {min(p.score for p in pages):.3f}")
        if args.pages:
            for p in pages:
                print(f"  p{p.page:>3} {p.score:.3f} ({p.in_order}/{p.pairs}) sentences {p.whole_sentences}/{p.sentences}"
                      f"{'' if p.reads_in_order else '  ✗'}")
    if args.json:
        json.dump({name: [{"page": p.page, "score": round(p.score, 4), "pairs": p.pairs, "sentences": p.sentences,
                           "whole_sentences": p.whole_sentences} for p in pages] for name, pages in report.items()},
                  sys.stdout, ensure_ascii=False, indent=1)
    return 0 if all(p.reads_in_order for pages in report.values() for p in pages) else 1


if __name__ == "__main__":
    raise SystemExit(main())
