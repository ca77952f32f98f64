"""Ruled tables in PDF pages → one `Record` per table row, like the rows of CSV and XLSX files.

pypdf gives a table one cell per line, so a row's label and its values end up apart. Here
pdfplumber finds the tables drawn with ruling lines (its "lines" strategy) on the pages that have a
text layer, and each data row becomes one record of "column: value" lines
(`tables._record_text`), under the table's caption (the line just above it), with its page:

    ② 使用料
    区分: 一般用
    料金 / 基本料金(10m3まで): 1,650円

How a table is read:
- Cells come from pdfplumber's cell rectangles laid on one grid; a merged cell covers every grid
  position under it, so a row label merged over three rows is repeated on each of them.
- Header rows are the top rows that hold labels only (no figures or dates) and are tied together by
  merged cells; multi-row headers are joined "上位 / 下位". Grid columns that every data row merges
  are one column; columns under one header cell are one field (区分: 一般行政職 大学卒).
- A table whose first row holds figures is a key–value table (供用開始年月日 | 昭和31年… |
  計画給水人口 | 1070人): labels and values are paired along each row.
- 〃 / 同上 take the value above (同左 the value to the left).
- The first table of a page continues the last table of the previous page when it has the same
  columns at the same places: a repeated header is dropped, a missing one is carried over, and so
  is the caption.
- A grid without text, a chart's grid (many tiny cells, mostly empty) or garbled text gives no
  records. A page on which detection fails keeps its text and is named in a warning.

The page text is left as it is, so nothing a row says is lost if a table is misread.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pdfplumber
from pdfplumber.page import Page
from pdfplumber.table import Table
from pdfplumber.utils import extract_text

from assistant.text.layout import BULLET, heading_style
from assistant.types import LoadedDocument, Record
from ingest.normalize import normalize_text, suspect_ratio
from ingest.readers import page_ranges
from ingest.readers.tables import _record_text

log = logging.getLogger(__name__)

# Two cell edges closer than 1.5 pt are one grid line (pdfplumber snaps ruling lines within 3 pt,
# so its cell corners agree to well under that).
GRID_TOLERANCE = 1.5
# A caption is the text line at most 40 pt above a table (about three lines of 10.5 pt text); the
# corpus tables' titles sit 3–27 pt above them (siryou202003, gyouseihoukokur7, otoineppu_jinko).
CAPTION_GAP = 40.0
CAPTION_MAX_CHARS = 80
# A header cell holds a label: at most 40 characters (the longest in ../shared/corpus tables is
# 「常住就業者・通学者数（従業通学地不詳を含まない）」, 24).
HEADER_MAX_CHARS = 40
# Two tables on consecutive pages are one when their column edges agree within 3 pt, the first
# reaching into the bottom 40 % of its page and the second starting in the top 40 % of the next.
CONTINUED_TOLERANCE = 3.0
CONTINUED_BOTTOM, CONTINUED_TOP = 0.6, 0.4
# A chart's plot area comes out as a grid of many tiny cells, mostly empty: more than 30 grid
# columns with fewer than a third of the cells holding text (otoineppu_jinko p. 9: 49 columns).
CHART_COLUMNS = 30
CHART_MIN_FILLED = 1 / 3
# Bounds: a page with more ruling edges than this is a map or a drawing, not a table: the pages of
# the six table documents of ../shared/corpus have at most 10,216 (siryou202003 p. 4), the maps of
# R03hinannpoint 26,860–51,902, which would take seconds each. A table's rows and a document's
# records are capped so that a huge file cannot exhaust memory.
MAX_PAGE_EDGES = 20_000
MAX_TABLE_ROWS = 10_000
MAX_RECORDS = 50_000
# Table text with more mojibake than the PDF reader's retry threshold is not indexed as rows.
MAX_SUSPECT_RATIO = 0.005
# …nor a table written mostly vertically (more than half of its characters not upright).
VERTICAL_SHARE = 0.5

DITTO_ABOVE = frozenset({"〃", "〃〃", "″", "″″", "同上", "仝", "々"})
DITTO_LEFT = frozenset({"同左"})
# A figure or a date alone in a cell (with its unit): a value, never a column label.
_VALUE = re.compile(
    r"[-−+]?[\d,，.．]+\s*(円|千円|万円|億円|人|名|戸|世帯|件|か所|箇所|ヶ所|ｍ|m|km|ha|㎡|㎥|m3|％|%|歳|台|回|日|"
    r"月分|年|倍|千㎥|千ｍ|千m)?(／|/)?[a-zA-Z日年ha㎥]*"
    r"|(明治|大正|昭和|平成|令和|[RHS])?\s*(\d+|元)\s*年\s*(\d+\s*月\s*(\d+\s*日)?)?"
)
_SPACES = re.compile(r"\s+")
# a line under a table's title that is only a note: （単位：人）, （令和N年M月D日現在）, ※…
_NOTE = re.compile(r"[(（][^()（）]*[)）]|[※*＊].*")
# a line under a table's title that is only the label of one of its parts: 「①一般行政職」 under
# 「(1)職員の平均給与月額の状況」, 「ア 上水道」: a list marker and a few words (the corpus tables' part
# labels are 4–7 characters; a title of its own is longer)
SUBLABEL_MAX_CHARS = 12

FAILED_PAGES = "表を読み取れなかったページがあります（本文としては検索できます）: ページ {pages}"
TOO_MANY_ROWS = "表の行が多すぎるため、{limit:,} 行目以降は行単位では登録していません（本文としては検索できます）"


@dataclass
class _Grid:
    """One table laid on a grid: per position, the id of the cell covering it (-1: none)."""

    ids: list[list[int]]
    texts: list[str]  # per cell id
    xs: list[float]  # column edges (len = columns + 1)
    bbox: tuple[float, float, float, float]

    @property
    def nrows(self) -> int:
        return len(self.ids)


@dataclass
class _Layout:
    """What a table's rows are read with: field labels and the grid columns of each field."""

    labels: list[str]
    fields: list[list[int]]  # grid columns per field
    edges: list[float]  # x of the column edges, to match a continuation on the next page
    starts: list[float]  # x where each field starts
    key_value: bool = False


@dataclass
class _Open:
    """The last table read, which the next page's first table may continue."""

    page: int
    layout: _Layout
    caption: str
    rows: int
    at_bottom: bool


@dataclass
class TableReport:
    records: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tables: int = 0
    pages: set[int] = field(default_factory=set)


def add_table_records(doc: LoadedDocument, path: Path) -> None:
    """The hook for `pdf.read`: the rows of the tables on the document's text-layer pages."""
    pages = [p.number for p in doc.pages if p.status == "ok" and p.ocr_confidence is None]
    report = read_tables(path, pages)
    doc.records.extend(report.records)
    doc.warnings.extend(report.warnings)


def read_tables(path: Path, pages: list[int]) -> TableReport:
    """The table rows of the given pages (1-based) of a PDF. Never raises: a file pdfplumber cannot
    open, or a page it fails on, gives a warning and no rows for that page."""
    report = TableReport()
    failed: list[int] = []
    try:
        pdf = pdfplumber.open(path)
    except Exception as err:  # noqa: BLE001 - pdfminer raises anything on a broken file
        log.warning("pdfplumber cannot open %s: %s", path.name, err)
        if pages:
            report.warnings.append(FAILED_PAGES.format(pages=page_ranges(pages)))
        return report
    last: _Open | None = None
    with pdf:
        for number in pages:
            if len(report.records) >= MAX_RECORDS:
                report.warnings.append(TOO_MANY_ROWS.format(limit=MAX_RECORDS))
                break
            page = pdf.pages[number - 1]
            try:
                last = _read_page(page, number, last, report)
            except Exception as err:  # noqa: BLE001 - one page's drawing must not cost the file
                log.warning("table detection failed on %s page %d: %s", path.name, number, err)
                failed.append(number)
                last = None
            finally:
                page.close()  # pdfplumber keeps each parsed page otherwise
    if failed:
        report.warnings.append(FAILED_PAGES.format(pages=page_ranges(failed)))
    del report.records[MAX_RECORDS:]
    report.warnings = list(dict.fromkeys(report.warnings))
    return report


def _read_page(page: Page, number: int, last: _Open | None, report: TableReport) -> _Open | None:
    """Read the page's tables into `report`; returns the last table read, which the next page's
    first table may continue."""
    if len(page.edges) > MAX_PAGE_EDGES:
        log.info("page %d: %d ruling edges, read as a drawing", number, len(page.edges))
        return None
    page = page.dedupe_chars()  # fake bold: each character printed 2–4 times
    found = page.find_tables()
    if not found:
        return None
    lines = page.extract_text_lines(return_chars=False)
    boxes = [t.bbox for t in found]
    grids = [g for g in (_grid(page, t) for t in found) if g is not None]
    opened: _Open | None = None
    for k, grid in enumerate(grids):
        continues = (k == 0 and last is not None and last.page == number - 1 and last.at_bottom
                     and grid.bbox[1] < page.height * CONTINUED_TOP)
        opened = _read_table(grid, number, _caption(lines, grid.bbox, boxes),
                             last if continues else None, page.height, report) or opened
    return opened


def _grid(page: Page, table: Table) -> _Grid | None:
    """The table's cells on one grid, with their text; None for a grid without text or with
    garbled text, or a chart's plot area."""
    cells = table.cells
    xs = _edges([x for c in cells for x in (c[0], c[2])])
    ys = _edges([y for c in cells for y in (c[1], c[3])])
    if len(xs) < 2 or len(ys) < 2:
        return None
    ncols, nrows = len(xs) - 1, len(ys) - 1
    ids = [[-1] * ncols for _ in range(nrows)]
    area = [[0.0] * ncols for _ in range(nrows)]
    for i, (x0, top, x1, bottom) in enumerate(cells):
        size = (x1 - x0) * (bottom - top)
        for r in range(_index(ys, top), _index(ys, bottom)):
            for c in range(_index(xs, x0), _index(xs, x1)):
                if ids[r][c] < 0 or size < area[r][c]:  # overlapping cells: the smallest wins
                    ids[r][c], area[r][c] = i, size
    chars: list[list[dict]] = [[] for _ in cells]
    x0, top, x1, bottom = table.bbox
    for ch in page.chars:
        mx, my = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        if not (x0 <= mx < x1 and top <= my < bottom):
            continue
        r, c = bisect.bisect_right(ys, my) - 1, bisect.bisect_right(xs, mx) - 1
        if 0 <= r < nrows and 0 <= c < ncols and ids[r][c] >= 0:
            chars[ids[r][c]].append(ch)
    texts = [_cell_text(cs) for cs in chars]
    filled = [t for t in texts if t]
    if not filled:
        return None  # a drawn grid with nothing written in it
    if ncols > CHART_COLUMNS and len(filled) < CHART_MIN_FILLED * len(cells):
        return None
    if suspect_ratio("".join(filled)) > MAX_SUSPECT_RATIO:
        return None
    inside = [ch for cs in chars for ch in cs]
    if sum(not ch.get("upright", True) for ch in inside) > VERTICAL_SHARE * len(inside):
        return None  # vertical writing: pdfplumber reads cells line by line, across the columns

    return _Grid(ids, texts, xs, table.bbox)


def _edges(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > GRID_TOLERANCE:
            out.append(v)
    return out


def _index(edges: list[float], v: float) -> int:
    """The grid line at `v` (the nearest edge)."""
    i = bisect.bisect_left(edges, v - GRID_TOLERANCE)
    return min(i, len(edges) - 1)


def _cell_text(chars: list[dict]) -> str:
    if not chars:
        return ""
    text = extract_text(chars)
    return normalize_text(" ".join(x.strip() for x in text.split("\n") if x.strip()), structured=True)


def _caption(lines: list[dict], bbox: tuple[float, float, float, float], boxes: list) -> str:
    """The text line just above a table (and the one above that when the nearest is only a
    parenthesised note such as （単位：人） or the label of one part of a larger table, 「①一般行政職」), or ""."""
    top = bbox[1]

    def free(line: dict) -> bool:
        mx, my = (line["x0"] + line["x1"]) / 2, (line["top"] + line["bottom"]) / 2
        return not any(b[0] <= mx <= b[2] and b[1] <= my <= b[3] for b in boxes)

    above = [ln for ln in lines if ln["bottom"] <= top + 1 and free(ln)]
    above.sort(key=lambda ln: ln["bottom"])
    picked: list[str] = []
    edge = top
    for line in reversed(above[-2:]):
        if edge - line["bottom"] > CAPTION_GAP:
            break
        text = normalize_text(line["text"], structured=True)
        if not text or text.endswith("。"):
            break  # running text, not a title
        if picked and _sublabel(picked[0]) and heading_style(text) is None:
            break  # a part's label sits under its table's heading, not under a stray line
        picked.insert(0, text)
        edge = line["top"]
        if not (_NOTE.fullmatch(text) or _sublabel(text)):
            break
    caption = " ".join(picked)
    return caption if len(caption) <= CAPTION_MAX_CHARS else caption[:CAPTION_MAX_CHARS] + "…"


def _sublabel(text: str) -> bool:
    return len(text) <= SUBLABEL_MAX_CHARS and bool(BULLET.match(text))


def _is_value(text: str) -> bool:
    return bool(_VALUE.fullmatch(_SPACES.sub("", text)))


def _label_row(grid: _Grid, r: int) -> bool:
    texts = [grid.texts[i] for i in dict.fromkeys(grid.ids[r]) if i >= 0 and grid.texts[i]]
    return bool(texts) and all(len(t) <= HEADER_MAX_CHARS and not _is_value(t) for t in texts)


def _header_depth(grid: _Grid) -> int:
    """Header rows: the first row when it holds labels only, and each next label row that a
    header cell reaches down into (a merged header)."""
    if grid.nrows < 2 or not _label_row(grid, 0):
        return 0
    depth = 1
    while depth < grid.nrows - 1 and _label_row(grid, depth):
        above = {i for r in range(depth) for i in grid.ids[r] if i >= 0}
        if not above & set(grid.ids[depth]):
            break
        depth += 1
    return depth


def _columns(grid: _Grid, depth: int) -> list[list[int]]:
    """Grid columns that every data row merges are one column."""
    columns: list[list[int]] = []
    for c in range(len(grid.xs) - 1):
        if columns and all(grid.ids[r][c] == grid.ids[r][c - 1] for r in range(depth, grid.nrows)):
            columns[-1].append(c)
        else:
            columns.append([c])
    return columns


def _layout(grid: _Grid, depth: int) -> _Layout:
    """Fields and their labels: the columns under the same header cells are one field."""
    columns = _columns(grid, depth)
    fields: list[list[int]] = []
    keys: list[tuple[int, ...]] = []
    for cols in columns:
        key = tuple(dict.fromkeys(grid.ids[r][c] for r in range(depth) for c in cols))
        if fields and depth and key == keys[-1]:
            fields[-1].extend(cols)
        else:
            fields.append(list(cols))
            keys.append(key)
    labels = [" / ".join(dict.fromkeys(grid.texts[i] for i in key if i >= 0 and grid.texts[i])) for key in keys]
    edges = [grid.xs[cols[0]] for cols in columns] + [grid.xs[-1]]
    return _Layout(labels, fields, edges, [grid.xs[f[0]] for f in fields], key_value=depth == 0)


def _continues(grid: _Grid, depth: int, layout: _Layout, carried: _Layout) -> _Layout | None:
    """The layout to read a table with that continues `carried` from the previous page, or None
    when it does not: the same columns at the same places, its header repeated or missing."""
    if carried.key_value:
        return None
    if depth and layout.labels == carried.labels and _same_edges(layout.edges, carried.edges):
        return layout
    columns = _columns(grid, 0)
    edges = [grid.xs[cols[0]] for cols in columns] + [grid.xs[-1]]
    if not _same_edges(edges, carried.edges):
        return None
    # the carried fields, laid on this grid's columns
    fields: list[list[int]] = [[] for _ in carried.fields]
    for cols, x in zip(columns, edges):
        k = max([i for i, start in enumerate(carried.starts) if start <= x + CONTINUED_TOLERANCE], default=0)
        fields[k].extend(cols)
    return _Layout(carried.labels, fields, edges, carried.starts)


def _same_edges(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= CONTINUED_TOLERANCE for x, y in zip(a, b))


def _read_table(grid: _Grid, number: int, caption: str, carried: _Open | None, height: float,
                report: TableReport) -> _Open | None:
    depth = _header_depth(grid)
    layout = _layout(grid, depth)
    row_no = 0
    continued = _continues(grid, depth, layout, carried.layout) if carried is not None else None
    if carried is not None and continued is not None:
        if continued is not layout:
            depth = 0
        layout, caption, row_no = continued, carried.caption, carried.rows
    if len(layout.fields) < 2:
        return None  # a framed paragraph or a list of boxes: the page text has it
    above: list[str] | None = None
    added = 0
    full = False
    for r in range(depth, grid.nrows):
        full = row_no >= MAX_TABLE_ROWS
        if full:  # the rest of the table (on this and later pages) stays page text only
            report.warnings.append(TOO_MANY_ROWS.format(limit=MAX_TABLE_ROWS))
            break
        values = _values(grid, r, layout.fields, above)
        if not any(values):
            continue
        above = values
        labels = layout.labels
        if layout.key_value:
            labels, values = _pairs(grid, r)
            if len(values) < 2 and not labels[0]:
                continue  # a label alone (an empty answer box): nothing the page text lacks
        body = _record_text(labels, values, prefix=caption)
        if body:
            row_no += 1
            added += 1
            report.records.append(Record(body, page=number, row=row_no, section=caption))
    if not added and not full:
        return None
    report.tables += continued is None
    report.pages.add(number)
    return _Open(number, layout, caption, row_no, at_bottom=grid.bbox[3] > height * CONTINUED_BOTTOM)


def _values(grid: _Grid, r: int, fields: list[list[int]], above: list[str] | None) -> list[str]:
    """One row's value per field: the distinct cells under the field joined by a space; 〃 and
    同上 take the value above, 同左 the value to the left."""
    out: list[str] = []
    for k, cols in enumerate(fields):
        texts = [grid.texts[i] for i in dict.fromkeys(grid.ids[r][c] for c in cols) if i >= 0]
        value = " ".join(t for t in texts if t)
        compact = _SPACES.sub("", value)
        if compact in DITTO_ABOVE and above is not None:
            value = above[k]
        elif compact in DITTO_LEFT and out:
            value = out[-1]
        out.append(value)
    return out


def _pairs(grid: _Grid, r: int) -> tuple[list[str], list[str]]:
    """A key–value row: an even number of cells is label, value, label, value…; otherwise a run of
    labels is one label for the figure after it, and a trailing label is the value of the run."""
    cells = [grid.texts[i] for i in dict.fromkeys(grid.ids[r]) if i >= 0 and grid.texts[i]]
    if len(cells) % 2 == 0:
        return cells[0::2], cells[1::2]
    labels: list[str] = []
    values: list[str] = []
    pending: list[str] = []
    for text in cells:
        if _is_value(text) or len(text) > HEADER_MAX_CHARS:
            labels.append(" ".join(pending))
            values.append(text)
            pending = []
        else:
            pending.append(text)
    if pending:
        labels.append(" ".join(pending[:-1]))
        values.append(pending[-1])
    return labels, values
