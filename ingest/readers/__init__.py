"""One reader per file format, each `read(path) -> LoadedDocument`; `ingest.load` picks one by suffix.

A reader fills in pages (or records), a title and warnings, and raises `UnreadableDocument` with
a Japanese reason and the technical detail after a colon. What several readers share lives here,
so that the same thing is said the same way: page ranges in warnings, the title guess from the
top of page 1, and the refusal of a text file with nothing in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from assistant.errors import UnreadableDocument
from assistant.types import LoadedDocument
from ingest.normalize import is_heading_line, japanese_ratio

Reader = Callable[[Path], LoadedDocument]

# A first line is taken as the title only when it is title-sized: under 4 characters it is a
# label ("目次", "概要"), over 60 a sentence that lost its full stop. Chosen by hand, not measured.
TITLE_MIN_CHARS, TITLE_MAX_CHARS = 4, 60
# …and mostly Japanese, so that "2024/4/1", "Ver.2" or an English running header are not titles.
TITLE_MIN_JAPANESE = 0.5

_DATEISH = re.compile(r"^[(（]?[令平昭]和?.{0,4}年|^\d{4}[年./-]|^[\d\s.,/-]+$")


def page_ranges(pages: list[int]) -> str:
    """Page numbers as a reader would write them: [1, 2, 3, 5, 7, 8] → "1-3, 5, 7-8"."""
    out: list[str] = []
    for n in pages:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def first_heading(text: str) -> str | None:
    """A title-like line near the top of page 1 (None when nothing looks like one): not a
    date, not a sentence, not a numbered section heading or a list item."""
    for line in [ln.lstrip("# ") for ln in text.split("\n") if ln.strip()][:6]:
        if (
            TITLE_MIN_CHARS <= len(line) <= TITLE_MAX_CHARS
            and japanese_ratio(line) >= TITLE_MIN_JAPANESE
            and not _DATEISH.search(line)
            and not line.endswith("。")
            and not is_heading_line(line)
            and line[0] not in "(【[<「"
        ):
            return line
    return None


def require_text(doc: LoadedDocument, path: Path) -> LoadedDocument:
    """Text formats have no pages to report on, so an empty result is an error, not a warning."""
    if not doc.records and not any(p.text for p in doc.pages):
        raise UnreadableDocument(f"テキストがありません: {path.name}: 中身を確認してください")
    return doc
