"""Which evaluation cases are about tables: the subset issue 8's table figures are reported on.

A case is a table case when the passage it names (`source_contains`, or `evidence_contains` for a
draft statement) lies inside a table that pdfplumber finds on the PDF page it comes from (the
case's `page`, else the first page of `doc` whose text contains it). The definition is mechanical
and the same for every split, so the subset is chosen without looking at how any case is answered.

    python -m eval.table_cases ../shared/eval/dev_qa.jsonl ../shared/corpus > /tmp/table_qa.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

import pdfplumber

from eval.metrics import norm

# a table region must have at least this many rows and columns to count (a framed note box is 1 × 1)
MIN_ROWS, MIN_COLS = 2, 2
# share of the needle's characters (as normalised text) that must fall inside one table's box
MIN_INSIDE = 0.6


def _needle(case: dict) -> str:
    return case.get("source_contains") or case.get("evidence_contains") or ""


def _tables(page) -> list[tuple[float, float, float, float]]:
    boxes = []
    for settings in ({}, {"vertical_strategy": "text", "horizontal_strategy": "lines"}):
        try:
            found = page.find_tables(table_settings=settings)
        except Exception:  # noqa: BLE001 - pdfplumber fails on odd pages; such a page has no table
            continue
        for t in found:
            rows = [r for r in t.extract() if any(c for c in r)]
            if len(rows) >= MIN_ROWS and max((len(r) for r in rows), default=0) >= MIN_COLS:
                boxes.append(t.bbox)
        if boxes:
            break
    return boxes


def _inside(page, needle: str, boxes) -> bool:
    """Whether most of the needle's characters lie inside one of the boxes: the page's characters in
    stream order are joined, the needle located in the normalised text, its characters' boxes tested."""
    chars = [c for c in page.chars if c["text"].strip()]
    text, owner = "", []
    for i, c in enumerate(chars):
        piece = norm(unicodedata.normalize("NFKC", c["text"]))
        text += piece
        owner.extend([i] * len(piece))
    at = text.find(norm(needle))
    if at < 0:
        return False
    span = {owner[j] for j in range(at, at + len(norm(needle)))}
    for x0, top, x1, bottom in boxes:
        inside = sum(1 for i in span if x0 - 1 <= chars[i]["x0"] and chars[i]["x1"] <= x1 + 1
                     and top - 1 <= chars[i]["top"] and chars[i]["bottom"] <= bottom + 1)
        if inside >= MIN_INSIDE * len(span):
            return True
    return False


def is_table_case(case: dict, files: dict[str, Path]) -> bool:
    needle, path = _needle(case), files.get(case.get("doc") or "")
    if not needle or path is None or path.suffix.lower() != ".pdf":
        return False
    with pdfplumber.open(path) as pdf:
        pages = [case["page"]] if case.get("page") else range(1, len(pdf.pages) + 1)
        for number in pages:
            if not 1 <= number <= len(pdf.pages):
                continue
            page = pdf.pages[number - 1]
            if norm(needle) not in norm(unicodedata.normalize("NFKC", page.extract_text() or "")):
                if case.get("page"):
                    break  # the stated page is where it is; extraction order may hide it from the text test
                continue
            boxes = _tables(page)
            return bool(boxes) and _inside(page, needle, boxes)
        stated = case.get("page")
        if stated and 1 <= stated <= len(pdf.pages):
            boxes = _tables(pdf.pages[stated - 1])
            return bool(boxes) and _inside(pdf.pages[stated - 1], needle, boxes)
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", type=Path)
    ap.add_argument("corpus", type=Path)
    args = ap.parse_args(argv)
    files = {p.stem: p for p in args.corpus.rglob("*") if p.is_file()}
    kept = 0
    for line in args.cases.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        if is_table_case(case, files):
            kept += 1
            sys.stdout.write(line + "\n")
    print(f"{kept} table cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
