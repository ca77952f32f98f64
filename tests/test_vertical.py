"""Vertical text (tategaki) is read in order: columns right to left, characters top to bottom,
furigana dropped, whatever order the PDF's text layer gives them in (ingest.readers.vertical),
and the reading-order check (eval.reading_order) tells an ordered page from a scrambled one."""

from __future__ import annotations

import bisect
import math
import random
import re
from pathlib import Path

import pypdfium2
import pytest

from eval.reading_order import IN_ORDER, check_file, score_page
from ingest.load import load_file
from ingest.normalize import normalize_text
from ingest.readers import vertical
from ingest.readers.vertical import Char, page_chars, page_text
from tests.helpers import require_corpus

TITLE = "広報みどりの"
COLUMNS = [
    "総合計画は、市の目指す将来のまちの姿と",
    "その実現のために必要な基本的施策を明確",
    "に示すものです。基本構想は十年先の将来",
    "に向けてのまちづくりの方向性を示します",
    "。実施計画は毎年度見直しを行います。",
]
RUBY = {(0, 0): "そうごう"}  # furigana beside the first two characters of the first column


def _scrambled_vertical_pdf(dst: Path, seed: int = 7, size: float = 12) -> Path:
    """A page like the corpus newsletters: a horizontal title, five columns of upright glyphs
    each drawn on its own, in a shuffled order, and furigana in half-size glyphs."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    c = canvas.Canvas(str(dst), pagesize=A4)
    glyphs: list[tuple[float, float, float, str]] = []
    top = A4[1] - 160
    for k, column in enumerate(COLUMNS):
        x = A4[0] - 100 - k * size * 1.8
        glyphs += [(x, top - (i + 1) * size * 1.05, size, ch) for i, ch in enumerate(column)]
    for (k, i), ruby in RUBY.items():
        x = A4[0] - 100 - k * size * 1.8 + size * 1.05
        glyphs += [(x, top - (i + 1) * size * 1.05 + size * 0.5 - j * size * 0.5, size / 2, ch)
                   for j, ch in enumerate(ruby)]
    random.Random(seed).shuffle(glyphs)
    c.setFont("HeiseiMin-W3", 20)
    c.drawString(60, A4[1] - 80, TITLE)
    for x, y, s, ch in glyphs:
        c.setFont("HeiseiMin-W3", s)
        c.drawString(x, y, ch)
    c.showPage()
    c.save()
    return dst


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_scrambled_vertical_page_reads_right_to_left_top_to_bottom(tmp_path: Path) -> None:
    pdf_path = _scrambled_vertical_pdf(tmp_path / "vertical.pdf")
    page = load_file(pdf_path).pages[0]
    text = _flat(page.text)
    assert "".join(COLUMNS) in text, text
    assert "そうごう" not in text and "うご" not in text  # furigana dropped
    assert TITLE in text and text.index(TITLE) < text.index("総合計画")


def test_the_check_tells_ordered_from_scrambled(tmp_path: Path) -> None:
    pdf = pypdfium2.PdfDocument(str(_scrambled_vertical_pdf(tmp_path / "vertical.pdf")))
    chars = page_chars(pdf[0])
    raw = pdf[0].get_textpage().get_text_range()  # the text layer's own order
    ordered = page_text(pdf[0]) or ""
    assert score_page(chars, ordered).score >= IN_ORDER
    assert score_page(chars, raw).score < 0.5
    assert score_page(chars, "".join(reversed(COLUMNS))).score < IN_ORDER  # columns left to right
    whole = score_page(chars, ordered)
    assert whole.sentences == 3 and whole.whole_sentences == 3


def test_horizontal_page_keeps_its_text_layer(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    path = tmp_path / "horizontal.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("HeiseiMin-W3", 11)
    for i, line in enumerate(COLUMNS):
        c.drawString(60, A4[1] - 80 - i * 18, line)
    c.showPage()
    c.save()
    pdf = pypdfium2.PdfDocument(str(path))
    assert page_text(pdf[0]) is None  # in order already: the usual extraction is kept
    assert "".join(COLUMNS) in _flat(load_file(path).pages[0].text)


@pytest.mark.corpus
@pytest.mark.slow
def test_every_newsletter_page_reads_in_order() -> None:
    """The issue's done-when, measured by eval.reading_order over corpus/otoineppu/kouhou."""
    newsletters = sorted((require_corpus() / "otoineppu" / "kouhou").glob("*.pdf"))
    assert newsletters
    failing = {path.name: [f"p{p.page} {p.score:.3f}" for p in check_file(path) if not p.reads_in_order]
               for path in newsletters}
    assert not any(failing.values()), failing


def _glyph_pdf(dst: Path, glyphs: list[tuple[float, float, float, str]], turned: tuple[float, float, str] | None = None) -> Path:
    """One page of glyphs drawn one by one in the given order (x, y, size, text), and optionally a
    word turned 90° (reading upwards) at (x, y)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    c = canvas.Canvas(str(dst), pagesize=A4)
    for x, y, s, ch in glyphs:
        c.setFont("HeiseiMin-W3", s)
        c.drawString(x, y, ch)
    if turned is not None:
        c.saveState()
        c.translate(turned[0], turned[1])
        c.rotate(90)
        c.setFont("HeiseiMin-W3", 11)
        c.drawString(0, 0, turned[2])
        c.restoreState()
    c.showPage()
    c.save()
    return dst


def test_a_turned_word_reads_along_its_baseline(tmp_path: Path) -> None:
    word = "https://www.example.jp/kurashi"
    pdf = pypdfium2.PdfDocument(str(_glyph_pdf(tmp_path / "turned.pdf", [], (60, 300, word))))
    chars = page_chars(pdf[0])
    assert {c.turn for c in chars} == {1}
    assert score_page(chars, word).score == 1.0
    assert score_page(chars, word[::-1]).score < 0.5  # read down the page: against its baseline
    assert word in _flat(load_file(tmp_path / "turned.pdf").pages[0].text)


def test_a_justified_column_reads_down_and_a_swapped_order_fails(tmp_path: Path) -> None:
    """「九　月」 spread to the length of 「令和二年」 beside it (均等割り) is one column."""
    s, top, x = 12.0, 700.0, 400.0
    glyphs = [(x, top - i * s, s, ch) for i, ch in enumerate("令和二年")]
    glyphs += [(x - 1.7 * s, top, s, "九"), (x - 1.7 * s, top - 3 * s, s, "月")]
    pdf = pypdfium2.PdfDocument(str(_glyph_pdf(tmp_path / "justified.pdf", glyphs)))
    chars = page_chars(pdf[0])
    assert score_page(chars, "令和二年九月").score == 1.0
    assert score_page(chars, "九月令和二年").score < IN_ORDER  # left column before the right one
    assert score_page(chars, "令和二年月九").score < IN_ORDER


def test_display_type_set_solid_reads_the_way_the_layer_draws_it(tmp_path: Path) -> None:
    """Three columns of three characters as far apart across as down: too close to call from the
    geometry, so the text layer's succession decides the orientation, never the order."""
    s, top, x = 10.0, 700.0, 400.0
    columns = ["広報お", "といね", "っぷ号"]
    glyphs = [(x - k * 1.05 * s, top - i * 1.1 * s, s, ch) for k, col in enumerate(columns) for i, ch in enumerate(col)]
    pdf = pypdfium2.PdfDocument(str(_glyph_pdf(tmp_path / "solid.pdf", glyphs)))
    chars = page_chars(pdf[0])
    text = "".join(columns)
    assert score_page(chars, text).score == 1.0
    rows = "".join("".join(col[i] for col in reversed(columns)) for i in range(3))
    assert score_page(chars, rows).score < IN_ORDER
    assert score_page(chars, "".join(reversed(columns))).score < IN_ORDER


def test_a_character_that_normalises_to_several_is_one_step_of_the_check(tmp_path: Path) -> None:
    """㈱ is one glyph on the page and "(株)" in the ingested (NFKC) text: read in place it is in
    order, moved elsewhere it is not."""
    s = 12.0
    lines = ["㈱佐藤組　建物５３㎡", "（注）２ｍ"]  # the second holds brackets, a 2 and an m of its own
    glyphs = [(100 + k * s, 700.0 - r * 200, s, ch) for r, line in enumerate(lines) for k, ch in enumerate(line)]
    pdf = pypdfium2.PdfDocument(str(_glyph_pdf(tmp_path / "nfkc.pdf", glyphs)))
    chars = page_chars(pdf[0])
    assert {"㈱", "㎡"} <= {c.text for c in chars}
    assert score_page(chars, normalize_text("㈱佐藤組建物５３㎡\n（注）２ｍ")).score == 1.0
    assert score_page(chars, normalize_text("佐藤組㈱建物㎡５３\n（注）２ｍ")).score < IN_ORDER


def _table_pdf(dst: Path) -> Path:
    """Vertical columns (so the page is rebuilt) above a table whose rows are a label, an amount in
    3.25 mm type and a percentage in 2.5 mm type just right of it (sizes exactly 1.3 apart), drawn
    column by column: every percentage, then every amount, then every label."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    big, small, label = 9.2126, 7.0866, 9.0
    glyphs: list[tuple[float, float, float, str]] = []
    for k, column in enumerate(COLUMNS):
        glyphs += [(500 - k * 20, 780 - (i + 1) * 12.5, 12.0, ch) for i, ch in enumerate(column)]
    rows = [("村税", "8,893万円", "(4.26%)"), ("繰越金", "937万円", "(0.45%)"), ("地方交付税", "128,207万円", "(61.46%)")]
    for cell, size in ((2, small), (1, big), (0, label)):
        for r, row in enumerate(rows):
            y = 400 - r * 17.7
            if cell == 0:
                glyphs.append((373.0, y, size, row[0]))
            elif cell == 1:  # right-aligned to 503
                glyphs.append((503 - stringWidth(row[1], "HeiseiMin-W3", size), y, size, row[1]))
            else:
                glyphs.append((505.6, y, size, row[2]))
    return _glyph_pdf(dst, glyphs)


def test_table_rows_in_sizes_1_3_apart_read_as_rows(tmp_path: Path) -> None:
    pdf = pypdfium2.PdfDocument(str(_table_pdf(tmp_path / "table.pdf")))
    text = page_text(pdf[0])
    assert text is not None
    lines = [_flat(x) for x in text.split("\n")]
    for row in ("8,893万円(4.26%)", "937万円(0.45%)", "128,207万円(61.46%)"):
        assert row in lines, lines
    assert lines.index("8,893万円(4.26%)") < lines.index("937万円(0.45%)") < lines.index("128,207万円(61.46%)")
    chars = page_chars(pdf[0])
    assert score_page(chars, normalize_text(text)).score >= IN_ORDER
    columnwise = "".join(COLUMNS) + "(4.26%)(0.45%)(61.46%)8,893万円937万円128,207万円"
    assert score_page(chars, columnwise).score < IN_ORDER


def _neighbours_reference(units: list[vertical._Unit]) -> None:
    """`vertical._neighbours` as plain pairwise loops (its definition, before numpy)."""
    cell = {id(u): max(u.size, 1.0) for u in units}
    order = sorted(units, key=lambda u: u.cx)
    xs = [u.cx for u in order]
    best_v: dict[int, tuple[float, vertical._Unit]] = {}
    best_h: dict[int, tuple[float, vertical._Unit]] = {}
    near_v: dict[int, float] = {}
    near_h: dict[int, float] = {}
    seq = {id(u): k for k, u in enumerate(sorted(units, key=lambda u: u.index))}
    layer_v: set[int] = set()
    layer_h: set[int] = set()
    for a in units:
        if a.chars[0].turn is None:
            continue
        s = cell[id(a)]
        lo, hi = bisect.bisect_left(xs, a.cx - 3 * s), bisect.bisect_right(xs, a.cx + 3 * s)
        for b in order[lo:hi]:
            if b is a or b.chars[0].turn != a.chars[0].turn or not vertical._same_size(a.size, b.size):
                continue
            if abs(b.cx - a.cx) < vertical.ALIGN * s:
                gap = abs(a.cy - b.cy) - (a.size + b.size) / 2
                if gap < vertical.MAX_GAP * s:
                    near_v[id(a)] = min(near_v.get(id(a), math.inf), gap)
                    if abs(seq[id(a)] - seq[id(b)]) == 1:
                        layer_v.add(id(a))
                    if b.cy < a.cy and gap < best_v.get(id(a), (math.inf, a))[0]:
                        best_v[id(a)] = (gap, b)
            if abs(b.cy - a.cy) < vertical.ALIGN * s:
                gap = max(b.chars[0].left - a.chars[-1].right, a.chars[0].left - b.chars[-1].right)
                if gap < vertical.MAX_GAP * s:
                    near_h[id(a)] = min(near_h.get(id(a), math.inf), gap)
                    if abs(seq[id(a)] - seq[id(b)]) == 1:
                        layer_h.add(id(a))
                    if b.cx > a.cx and gap < best_h.get(id(a), (math.inf, a))[0]:
                        best_h[id(a)] = (gap, b)
    for u in units:
        v, h = near_v.get(id(u), math.inf), near_h.get(id(u), math.inf)
        u.vertical = v < h
        if abs(v - h) < vertical.TIE * cell[id(u)] and (id(u) in layer_v) != (id(u) in layer_h):
            u.vertical = id(u) in layer_v
    taken: set[int] = set()
    for a in sorted(units, key=lambda u: best_v.get(id(u), best_h.get(id(u), (math.inf, u)))[0]):
        best = best_v if a.vertical else best_h
        if id(a) not in best:
            continue
        b = best[id(a)][1]
        if b.vertical != a.vertical or id(b) in taken:
            continue
        taken.add(id(b))
        if a.vertical:
            a.below, b.above = b, a
        else:
            a.after, b.before = b, a


def _random_chars(rng: random.Random, n: int) -> list[Char]:
    """Characters on a coarse grid (ties of distance on purpose) in a shuffled layer order: full-
    and half-width, three sizes, some turned or skewed."""
    chars = []
    for i in range(n):
        size = rng.choice([6.0, 9.0, 9.0, 10.5, 12.0])
        text = rng.choice("あ語1a")
        x, y = rng.randrange(0, 60) * 4.5, rng.randrange(0, 60) * 4.5
        width = size if text in "あ語" else size / 2
        turn = rng.choice([0, 0, 0, 0, 1, None])
        chars.append(Char(text, i, x, x + width, y, size, turn))
    rng.shuffle(chars)
    for k, c in enumerate(chars):
        c.index = k
    return chars


@pytest.mark.parametrize("chunk", [vertical.PAIR_CHUNK, 50])
def test_neighbours_agree_with_the_pairwise_definition(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorised neighbour search links exactly the units the pairwise loops link (also when
    it compares the pairs a few at a time)."""
    monkeypatch.setattr(vertical, "PAIR_CHUNK", chunk)
    rng = random.Random(3)
    for n in (0, 1, 40, 400, 1500):
        chars = _random_chars(rng, n)
        fast, slow = vertical._units(chars), vertical._units(chars)
        vertical._neighbours(fast)
        _neighbours_reference(slow)

        def links(units: list[vertical._Unit]) -> list[tuple]:
            def key(u: vertical._Unit | None) -> int | None:
                return None if u is None else u.index
            return [(u.index, u.vertical, key(u.above), key(u.below), key(u.before), key(u.after)) for u in units]

        assert links(fast) == links(slow)
        if n >= 400:  # the layouts hold both orientations and chains of each
            assert {u.vertical for u in fast} == {True, False}
            assert sum(u.below is not None for u in fast) > n / 40 and sum(u.after is not None for u in fast) > n / 40
