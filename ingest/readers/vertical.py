"""Vertical text (tategaki) in reading order, from pypdfium2's character positions.

Newsletters typeset vertically place every glyph (or short run) on its own, in whatever order the
layout program wrote them, so the text layer reads columns, and even the pieces of one column, out
of order (corpus/otoineppu/kouhou/*.pdf). Here the page is rebuilt from where each character sits:

1. characters with their cell (origin, size, advance) in their own upright frame (a word turned
   90° lies on a line of its frame and meets only characters of its turn); characters outside the
   visible page are dropped; a glyph printed twice at the same spot (overprint) counts once;
   half-width runs set across a column (縦中横: "10", "1.3") are one unit;
2. each unit is vertical when its nearest aligned neighbour is above or below it, horizontal when
   it is beside it (when the two are too close to call, `TIE`, the text layer's succession decides);
   vertical units chain top to bottom into columns;
3. furigana (a column of small characters just right of a column at least 1/0.7 times their size)
   is dropped; columns side by side (same size, overlapping heights, a column pitch apart) form a
   block, read right to left;
4. horizontal characters keep the text layer's order; the vertical blocks, ordered by tier (top
   to bottom) and right to left within a tier, take the places in that order where their first
   character came.

`page_text` returns None for a page without enough vertical text, so the caller keeps its usual
extraction. The check that a page reads in order is `eval.reading_order`.
"""

from __future__ import annotations

import bisect
import ctypes
import math
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pypdfium2
import pypdfium2.raw as pdfium_c

# A page is rebuilt when at least 40 characters, and 20 % of its characters, stand in columns.
# On corpus/otoineppu/kouhou the vertical pages have 400–2,500 column characters; the horizontal
# pages of the same issues and the plans have none or a few (a stacked heading like 特/集).
MIN_VERTICAL_CHARS = 40
MIN_VERTICAL_SHARE = 0.2
# Two units are aligned when their centres are within 0.35 of the size across the line, and
# neighbours when the gap between their cells is under 0.8 of the size (justified columns add
# up to ~0.3 of letter spacing; the next column of the corpus newsletters is 0.7 away, so the
# orientation is decided by which neighbour is nearer, not by this limit).
ALIGN = 0.35
MAX_GAP = 0.8
# Neighbours are looked for among the units whose centres are within 3 cells across the page.
REACH = 3.0
# Unit pairs are compared this many at a time (bounds the memory of `_neighbours`: ~100 MB).
PAIR_CHUNK = 1_000_000
# Display type set solid (covers, mastheads) has its line pitch as close as its letter pitch: when
# the nearest vertical and horizontal neighbours are within 0.25 of the size of each other, the
# orientation is the one in which the text layer gives a neighbour next (corpus covers: 0–0.13
# apart; body text at least 0.4 apart, columns 0.7 away against 0–0.3 between characters).
TIE = 0.25
# Units of sizes within 1.3 of each other belong to the same line or block; the slack of 0.001 keeps
# sizes set exactly 1.3 apart together: 2.5 mm and 3.25 mm type (7.0866 and 9.2126 pt, a percentage
# beside its amount in the tables of corpus/otoineppu/kouhou) come out 1.3000028 apart in pdfium's
# single-precision sizes, and split one table row into two lines read column by column.
SIZE_RATIO = 1.301
# Half-width characters set across a column (縦中横) join into one unit up to this width (in sizes)
# and this many characters: "2020", "10", and "1.3", which is 1.4 sizes wide in the corpus fonts.
TCY_MAX_WIDTH = 1.6
TCY_MAX_CHARS = 4
# A page whose text layer leaves a line in the middle on more than 9 % of its steps is rebuilt too:
# the newsletters place horizontal runs out of order as well. Measured on ../shared/corpus: every
# newsletter page 0.096–0.27; 580 of the other 591 pages 0–0.07, six 0.10–0.17 (tables, charts).
MAX_SCRAMBLED = 0.09
# Furigana: a column of characters under 0.7 of the size of the column just to its left, whose
# centre is at most 1.2 of the big size from the big column's centre.
RUBY_RATIO = 0.7
RUBY_REACH = 1.2
# Columns of one block: centres 0.8–3 sizes apart, heights overlapping by half the shorter one.
COLUMN_PITCH = (0.8, 3.0)
COLUMN_OVERLAP = 0.5
# Where the glyph's cell centre sits above its baseline origin, in sizes (CJK fonts put the
# baseline ~0.12 em above the cell bottom; measured on the corpus fonts and HeiseiMin-W3).
CENTRE_ABOVE_BASELINE = 0.38
# A glyph repeated within 0.15 of its size at the same spot is an overprint.
OVERPRINT = 0.15
# A baseline within 0.05 rad (3°) of a quarter turn, with the glyph's up at right angles to it, is
# that quarter turn; anything else (italic, text on a slant) is skewed and read as the layer gives it.
MAX_TILT = 0.05


@dataclass
class Char:
    """One character of the text layer: its text, its cell and the order the layer gave it.

    The cell is given in the character's own upright frame: the page turned by -90° × `turn`, so a
    rotated word lies on a horizontal line of its frame; only characters of the same turn meet."""

    text: str
    index: int
    left: float
    right: float
    cy: float  # centre height, PDF coordinates (up)
    size: float
    turn: int | None = 0  # quarter turns of the baseline (0 upright, 1 reads upwards…); None: skewed
    newline_before: bool = False  # the text layer started a new line before this character

    @property
    def cx(self) -> float:
        return (self.left + self.right) / 2


@dataclass
class _Unit:
    chars: list[Char]
    vertical: bool = False
    above: _Unit | None = None
    below: _Unit | None = None
    before: _Unit | None = None  # the unit to its left on a horizontal line
    after: _Unit | None = None

    @property
    def index(self) -> int:
        return self.chars[0].index

    @property
    def size(self) -> float:
        return max(c.size for c in self.chars)

    @property
    def cx(self) -> float:
        return (self.chars[0].left + self.chars[-1].right) / 2

    @property
    def cy(self) -> float:
        return sum(c.cy for c in self.chars) / len(self.chars)

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)


@dataclass
class _Line:
    """A column (vertical: units top to bottom) or a line (horizontal: left to right); its units
    are fixed once made, so its measures are computed once."""

    units: list[_Unit]
    vertical: bool
    prev: _Line | None = None  # the line before it in its block
    next: _Line | None = None

    @cached_property
    def size(self) -> float:
        sizes = sorted(u.size for u in self.units)
        return sizes[len(sizes) // 2]

    @cached_property
    def across(self) -> float:
        """Position across lines, growing in reading order (columns right to left, lines downwards)."""
        return -sum(u.cx if self.vertical else u.cy for u in self.units) / len(self.units)

    @cached_property
    def span(self) -> tuple[float, float]:
        """(start, end) along the line, growing in reading order."""
        if self.vertical:
            return -max(u.cy + u.size / 2 for u in self.units), -min(u.cy - u.size / 2 for u in self.units)
        return min(u.chars[0].left for u in self.units), max(u.chars[-1].right for u in self.units)

    @cached_property
    def index(self) -> int:
        return min(u.index for u in self.units)

    @cached_property
    def turn(self) -> int | None:
        return self.units[0].chars[0].turn

    @cached_property
    def chars(self) -> list[Char]:
        return [c for u in self.units for c in u.chars]


def page_chars(page: pypdfium2.PdfPage) -> list[Char]:
    """The characters of a page with their cells, overprints and characters off the page removed
    (see module)."""
    textpage = page.get_textpage()
    try:
        box = page.get_cropbox()
        reader = _CharReader(textpage)
        out: list[Char] = []
        newline = False
        raw = textpage.raw
        for i in range(textpage.count_chars()):
            code = pdfium_c.FPDFText_GetUnicode(raw, i)
            text = chr(code) if code else ""
            if not text or text.isspace() or pdfium_c.FPDFText_IsGenerated(raw, i) == 1:
                newline = newline or text in ("\r", "\n")
                continue
            found = reader.char(i, text, newline)
            if found is None:
                continue
            char, (left, bottom, right, top) = found
            if not (box[0] <= (left + right) / 2 <= box[2] and box[1] <= (bottom + top) / 2 <= box[3]):
                continue  # outside the visible page (slug, trimmed furniture): nobody reads it
            out.append(char)
            newline = False
        return _drop_overprints(out)
    finally:
        textpage.close()


class _CharReader:
    """Reads characters off one text page through pdfium, reusing its out-parameters (a page
    has thousands of characters; the calls are most of the cost of `page_chars`)."""

    def __init__(self, textpage: pypdfium2.PdfTextPage) -> None:
        self.raw = textpage.raw
        self.matrix = pdfium_c.FS_MATRIX()
        self.x, self.y = ctypes.c_double(), ctypes.c_double()
        self.box = [ctypes.c_double() for _ in range(4)]

    def charbox(self, i: int) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of character `i`'s glyph, as `PdfTextPage.get_charbox`."""
        left, right, bottom, top = self.box
        if not pdfium_c.FPDFText_GetCharBox(self.raw, i, left, right, bottom, top):
            raise pypdfium2.PdfiumError("Failed to get charbox.")
        return left.value, bottom.value, right.value, top.value

    def char(self, i: int, text: str, newline: bool) -> tuple[Char, tuple[float, float, float, float]] | None:
        """Character `i` with its cell in its own upright frame (see `Char`), and its glyph box."""
        matrix = self.matrix
        pdfium_c.FPDFText_GetMatrix(self.raw, i, matrix)
        a, b, c, d = matrix.a, matrix.b, matrix.c, matrix.d
        scale = max(math.hypot(a, b), math.hypot(c, d)) or 1.0
        size = pdfium_c.FPDFText_GetFontSize(self.raw, i) * scale
        if size <= 0:
            return None
        angle = math.atan2(b, a)
        quarter = round(angle / (math.pi / 2))
        skewed = abs(angle - quarter * math.pi / 2) > MAX_TILT or abs(a * c + b * d) > \
            MAX_TILT * math.hypot(a, b) * math.hypot(c, d)
        turn = None if skewed else quarter % 4
        cos, sin = (1.0, 0.0) if turn is None else ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[turn]
        pdfium_c.FPDFText_GetCharOrigin(self.raw, i, self.x, self.y)
        x, y = self.x.value, self.y.value
        fx, fy = x * cos + y * sin, -x * sin + y * cos  # origin in the char's frame
        box = self.charbox(i)
        left, bottom, right, top = box
        # the glyph's extent along its baseline: the farthest corner of its box, projected
        reach = max((cx - x) * cos + (cy - y) * sin for cx in (left, right) for cy in (bottom, top))
        wide = unicodedata.east_asian_width(text) in "WF"
        advance = size if wide else max(reach, 0.25 * size)
        return Char(text, i, fx, fx + advance, fy + CENTRE_ABOVE_BASELINE * size, size, turn, newline), box


def _drop_overprints(chars: list[Char]) -> list[Char]:
    seen: dict[tuple[str, int | None, int, int], Char] = {}
    out = []
    for c in chars:
        step = max(c.size * OVERPRINT, 0.5)
        key = (c.text, c.turn, round(c.cx / step), round(c.cy / step))
        if key in seen:
            continue
        seen[key] = c
        out.append(c)
    return out


def _same_size(a: float, b: float) -> bool:
    return max(a, b) <= SIZE_RATIO * min(a, b)


def _units(chars: list[Char]) -> list[_Unit]:
    """Each character its own unit, except half-width runs narrow enough to sit across a column."""
    units: list[_Unit] = []
    for c in sorted(chars, key=lambda c: c.index):
        last = units[-1] if units else None
        if (last is not None and c.turn is not None and c.turn == last.chars[0].turn and unicodedata.east_asian_width(c.text) not in "WF"
                and all(unicodedata.east_asian_width(x.text) not in "WF" for x in last.chars)
                and len(last.chars) < TCY_MAX_CHARS and _same_size(c.size, last.size)
                and abs(c.cy - last.cy) < ALIGN * c.size and -0.1 * c.size < c.left - last.chars[-1].right < 0.3 * c.size
                and c.right - last.chars[0].left <= TCY_MAX_WIDTH * c.size):
            last.chars.append(c)
        else:
            units.append(_Unit([c]))
    return units


def _neighbours(units: list[_Unit]) -> None:
    """Decide each unit's orientation and chain the vertical ones (above/below).

    Every unit is compared with the units of its turn and size whose centres lie within `REACH`
    cells across the page (numpy, over all such pairs at once): its nearest neighbour above or
    below and beside it decide its orientation, its nearest one below (right) is its successor.
    Among neighbours at the same distance the leftmost wins."""
    if not units:
        return
    n = len(units)
    size = np.array([u.size for u in units])
    cell = np.maximum(size, 1.0)
    cx = np.array([u.cx for u in units])
    cy = np.array([u.cy for u in units])
    left = np.array([u.chars[0].left for u in units])
    right = np.array([u.chars[-1].right for u in units])
    turns = [u.chars[0].turn for u in units]
    turn = np.array([-1 if t is None else t for t in turns])
    seq = np.empty(n, dtype=np.int64)  # place in the text layer's succession
    seq[np.argsort([u.index for u in units], kind="stable")] = np.arange(n)
    order = np.argsort(cx, kind="stable")
    xs = cx[order]
    lo = np.searchsorted(xs, cx - REACH * cell, side="left")
    hi = np.searchsorted(xs, cx + REACH * cell, side="right")
    counts = np.where(turn >= 0, hi - lo, 0)
    near_v, near_h = np.full(n, np.inf), np.full(n, np.inf)
    layer_v, layer_h = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    best: dict[bool, tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]] = {True: ([], [], []), False: ([], [], [])}
    ends = np.cumsum(counts)
    first = 0
    while first < n:  # units in chunks of about PAIR_CHUNK pairs
        last = int(np.searchsorted(ends, (ends[first - 1] if first else 0) + PAIR_CHUNK, side="right"))
        last = max(last, first + 1)
        span = counts[first:last]
        a = np.repeat(np.arange(first, last), span)
        offsets = np.repeat(ends[first:last] - span - (ends[first - 1] if first else 0), span)
        pos = np.repeat(lo[first:last], span) + np.arange(len(a)) - offsets
        b = order[pos]
        sa, sb, s = size[a], size[b], cell[a]
        keep = (b != a) & (turn[b] == turn[a]) & (np.maximum(sa, sb) <= SIZE_RATIO * np.minimum(sa, sb))
        step = np.abs(seq[a] - seq[b]) == 1
        gap_v = np.abs(cy[a] - cy[b]) - (sa + sb) / 2
        is_v = keep & (np.abs(cx[b] - cx[a]) < ALIGN * s) & (gap_v < MAX_GAP * s)
        gap_h = np.maximum(left[b] - right[a], left[a] - right[b])
        is_h = keep & (np.abs(cy[b] - cy[a]) < ALIGN * s) & (gap_h < MAX_GAP * s)
        for vertical, mask, gap, near, layer, ahead in ((True, is_v, gap_v, near_v, layer_v, cy[b] < cy[a]),
                                                      (False, is_h, gap_h, near_h, layer_h, cx[b] > cx[a])):
            np.minimum.at(near, a[mask], gap[mask])
            layer[a[mask & step]] = True
            mask = mask & ahead
            for store, values in zip(best[vertical], (a[mask], gap[mask], pos[mask])):
                store.append(values)
        first = last
    succ: dict[bool, dict[int, tuple[float, _Unit]]] = {}
    for vertical, (a_parts, gap_parts, pos_parts) in best.items():
        a_all, gap_all, pos_all = (np.concatenate(parts) for parts in (a_parts, gap_parts, pos_parts))
        rank = np.lexsort((pos_all, gap_all, a_all))  # per unit: nearest first, then leftmost
        a_all, gap_all, pos_all = a_all[rank], gap_all[rank], pos_all[rank]
        head = np.ones(len(a_all), dtype=bool)
        head[1:] = a_all[1:] != a_all[:-1]
        succ[vertical] = {id(units[i]): (g, units[order[p]])
                          for i, g, p in zip(a_all[head].tolist(), gap_all[head].tolist(), pos_all[head].tolist())}
    best_v, best_h = succ[True], succ[False]
    for k, u in enumerate(units):
        v, h = float(near_v[k]), float(near_h[k])
        u.vertical = v < h
        if abs(v - h) < TIE * float(cell[k]) and layer_v[k] != layer_h[k]:
            u.vertical = bool(layer_v[k])  # too close to call: the text layer's succession decides
    # each unit links to its nearest neighbour below (right), and a unit claimed by several keeps the nearest
    taken: dict[int, tuple[float, _Unit]] = {}
    for a_unit in sorted(units, key=lambda u: best_v.get(id(u), best_h.get(id(u), (math.inf, u)))[0]):
        chosen = best_v if a_unit.vertical else best_h
        if id(a_unit) not in chosen:
            continue
        g, b_unit = chosen[id(a_unit)]
        if b_unit.vertical != a_unit.vertical or id(b_unit) in taken:
            continue
        taken[id(b_unit)] = (g, a_unit)
        if a_unit.vertical:
            a_unit.below, b_unit.above = b_unit, a_unit
        else:
            a_unit.after, b_unit.before = b_unit, a_unit


def _lines(units: list[_Unit]) -> list[_Line]:
    lines = []
    for u in units:
        if (u.above if u.vertical else u.before) is None:
            chain = [u]
            while (nxt := chain[-1].below if u.vertical else chain[-1].after) is not None:
                chain.append(nxt)
            lines.append(_Line(chain, u.vertical))
    return lines


def _overlap(a: _Line, b: _Line) -> float:
    """Shared length along the lines over the shorter one's length."""
    (a0, a1), (b0, b1) = a.span, b.span
    return (min(a1, b1) - max(a0, b0)) / max(min(a1 - a0, b1 - b0), 1e-6)


def _drop_ruby(lines: list[_Line]) -> list[_Line]:
    """Furigana: a small line just before a big one across (right of a column, above a line)."""
    ruby = set()
    for small in lines:
        if len(small.units) > 1 or small.vertical:
            for big in lines:
                if (big.vertical == small.vertical and big.turn == small.turn and small.size < RUBY_RATIO * big.size
                        and 0 < big.across - small.across < RUBY_REACH * big.size and _overlap(small, big) > 0.8):
                    ruby.add(id(small))
                    break
    return [x for x in lines if id(x) not in ruby]


def _blocks(lines: list[_Line]) -> list[list[_Line]]:
    """Lines side by side (same orientation and size, a line pitch apart, overlapping) → blocks."""
    by_across = sorted(lines, key=lambda x: x.across)
    keys = [x.across for x in by_across]
    for a in lines:  # a's next line: the nearest qualifying one after it
        lo = bisect.bisect_right(keys, a.across + COLUMN_PITCH[0] * a.size)
        hi = bisect.bisect_left(keys, a.across + COLUMN_PITCH[1] * a.size)
        for b in by_across[lo:hi]:
            if (b.vertical == a.vertical and b.turn == a.turn and _same_size(a.size, b.size)
                    and _overlap(a, b) >= COLUMN_OVERLAP):
                if b.prev is None or b.prev.across < a.across:
                    if b.prev is not None:
                        b.prev.next = None
                    if a.next is None:
                        a.next, b.prev = b, a
                break
    blocks = []
    for x in lines:
        if x.prev is None:
            block = [x]
            while block[-1].next is not None:
                block.append(block[-1].next)
            blocks.append(block)
    return blocks


def _geometric_order(blocks: list[list[_Line]]) -> list[list[_Line]]:
    """Vertical blocks: tiers top to bottom (a block starts a new tier when its top lies below the
    middle of every block of the tier), right to left within a tier."""
    def top(b: list[_Line]) -> float:
        return -min(x.span[0] for x in b)

    def bottom(b: list[_Line]) -> float:
        return -max(x.span[1] for x in b)

    out: list[list[_Line]] = []
    tier: list[list[_Line]] = []
    tier_middle = math.inf
    for b in sorted(blocks, key=top, reverse=True):
        if tier and top(b) <= tier_middle:
            out.extend(sorted(tier, key=lambda x: x[0].across))
            tier, tier_middle = [], math.inf
        tier.append(b)
        tier_middle = min(tier_middle, (top(b) + bottom(b)) / 2)
    out.extend(sorted(tier, key=lambda x: x[0].across))
    return out


def _scrambled(units: list[_Unit]) -> float:
    """Share of the text layer's steps that leave a line in the middle for somewhere else."""
    by_index = sorted(units, key=lambda u: u.index)
    steps = exits = 0
    for a, b in zip(by_index, by_index[1:]):
        nxt = a.below if a.vertical else a.after
        steps += 1
        exits += nxt is not None and nxt is not b
    return exits / max(steps, 1)


def order_chars(chars: list[Char]) -> list[list[Char]] | None:
    """The page's characters in reading order, as lines (a column, or a horizontal line read left
    to right), or None when the text layer's own order will do: few characters stand in columns
    and few of its steps leave a line in the middle (see `MIN_VERTICAL_CHARS`, `MAX_SCRAMBLED`)."""
    units = _units(chars)
    _neighbours(units)
    lines = _lines(units)
    vertical = sum(len(x.chars) for x in lines if x.vertical and len(x.units) > 1)
    if (vertical < MIN_VERTICAL_CHARS or vertical < MIN_VERTICAL_SHARE * len(chars)) \
            and _scrambled(units) <= MAX_SCRAMBLED:
        return None
    blocks = _blocks(_drop_ruby(lines))
    columns = _geometric_order([b for b in blocks if b[0].vertical])
    # vertical blocks take, in their geometric order, the places where vertical blocks first appeared;
    # horizontal blocks stay where their first character is
    slots = sorted(min(x.index for x in b) for b in columns)
    items = list(zip(slots, columns)) + [(min(x.index for x in b), b) for b in blocks if not b[0].vertical]
    return [x.chars for _, block in sorted(items, key=lambda item: item[0]) for x in block]


def page_text(page: pypdfium2.PdfPage) -> str | None:
    """The page's text in reading order when it holds vertical text, else None (see module)."""
    lines = order_chars(page_chars(page))
    if lines is None:
        return None
    return "\n".join("".join(c.text for c in line) for line in lines)
