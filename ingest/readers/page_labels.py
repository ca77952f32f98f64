"""The page number printed on each PDF page, where it differs from the PDF's own page order: a
front matter without numbers, a 資料編 that starts again at 1, "- 12 -" footers.

The PDF's page labels (the catalog's /PageLabels, through pypdf) win when the file has them.
Otherwise the number is read from the page itself: a short number line at the top or the foot of
the extracted text ("- 12 -", "12", "P.12", "12ページ", "12/40", "資料-3"). A number is kept only
when a page within `NEIGHBOURHOOD` of it shows the number that the same run of pages would give
(page 14 says 12 and page 15 says 13): a lone figure at the foot of a page (a table total, a date)
is never taken for a page number, and a page where nothing is sure gets no label.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from pypdf import PdfReader

log = logging.getLogger(__name__)

# A number counts when a page at most 2 pages away agrees with it (page 12 → 12, page 14 → 14);
# 2 so that one page without a readable footer (a full-page figure) does not cut a run in two.
NEIGHBOURHOOD = 2
# The lines searched at each end of a page's text: the page number sits at the very top or foot,
# sometimes under or over a running title.
EDGE_LINES = 3
# printed page numbers: "- 12 -", "―12―", "12", "P.12", "p12", "12ページ", "12/40", "資料-3", "資料 3"
_NUMBER_LINE = re.compile(
    r"^(?:[-–—―ー－]\s*(\d{1,4})\s*[-–—―ー－]|(\d{1,4})|[Pp]\.?\s*(\d{1,4})|(\d{1,4})\s*ページ"
    r"|(\d{1,4})\s*/\s*\d{1,4}|(資料|参考|資)\s*[-–—―ー－]?\s*(\d{1,3}))$"
)


def catalog_labels(reader: PdfReader) -> list[str] | None:
    """The /PageLabels of the PDF's catalog, one per page, or None when the file has none."""
    try:
        root = reader.trailer["/Root"].get_object()
        if not isinstance(root, dict) or "/PageLabels" not in root:
            return None
        return [str(label) for label in reader.page_labels]
    except Exception as err:  # noqa: BLE001 - a broken label tree only costs the labels
        log.warning("unreadable /PageLabels: %s", err)
        return None


def _candidates(text: str) -> list[tuple[str, int]]:
    """(prefix, number) read from the short lines at the top and the foot of a page's text."""
    lines = [ln.strip() for ln in unicodedata.normalize("NFKC", text).split("\n") if ln.strip()]
    out = []
    for line in lines[:EDGE_LINES] + lines[-EDGE_LINES:]:
        m = _NUMBER_LINE.match(line.replace(" ", "").replace("\u3000", "") if "資" not in line else line)
        if m:
            groups = m.groups()
            prefix = groups[5] or ""
            number = next(g for g in (groups[0], groups[1], groups[2], groups[3], groups[4], groups[6]) if g)
            out.append((prefix, int(number)))
    return out


def printed_labels(texts: list[str]) -> list[str | None]:
    """The printed page label of each page (from its extracted text), None where unsure (see module)."""
    found = [set(_candidates(t)) for t in texts]
    labels: list[str | None] = [None] * len(texts)
    for i, candidates in enumerate(found):
        sure = set()
        for prefix, number in candidates:
            for j in range(max(0, i - NEIGHBOURHOOD), min(len(texts), i + NEIGHBOURHOOD + 1)):
                if j != i and (prefix, number + j - i) in found[j] and number + j - i > 0:
                    sure.add((prefix, number))
        if len(sure) == 1:  # two runs that both fit: unsure
            prefix, number = sure.pop()
            labels[i] = f"{prefix}{'-' if prefix else ''}{number}"
    return labels


def page_labels(reader: PdfReader, texts: list[str]) -> list[str | None]:
    """Printed page labels, one per page: the catalog's when present, else read from the text;
    None where unsure or where the label is just the PDF page number."""
    labels: list[str | None] = list(catalog_labels(reader) or printed_labels(texts))
    if len(labels) != len(texts):
        return [None] * len(texts)
    return [None if label == str(i + 1) else label for i, label in enumerate(labels)]
