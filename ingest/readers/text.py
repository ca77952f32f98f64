"""Plain text and Markdown: bytes → str in whatever encoding a Japanese office saved it in, then pages.

`decode` is shared with the HTML and CSV readers. Japanese files come as UTF-8 (with or without
BOM), UTF-16 with BOM, CP932/Shift_JIS or EUC-JP. Only UTF-8 is self-checking, and CP932 happily
"decodes" EUC-JP bytes into half-width katakana, so every strict decoding that succeeds is kept
and the one that reads most like Japanese wins; charset-normalizer is the last resort.
"""

from __future__ import annotations

from pathlib import Path

from charset_normalizer import from_bytes

from assistant.errors import UnreadableDocument
from assistant.text.layout import PAGE_BREAK_LEADER, PRINTED_PAGE_NUMBER
from assistant.types import LoadedDocument, Page
from ingest.normalize import japanese_ratio, normalize_text, undouble_spacing
from ingest.readers import first_heading, require_text

# Characters looked at when judging an encoding: enough for the verdict, cheap on a 100 MB file.
SAMPLE_CHARS = 20_000
# Plausibility penalties per unit share: a half-width katakana (U+FF61–FF9F) counts 3× against a
# decoding and a control/private-use/U+FFFD character 5×, so a mis-decoded EUC-JP file (mostly
# half-width kana) loses to the right one even when both are "Japanese". Chosen by hand; the
# short EUC-JP case in tests/test_load.py is what they must get right.
HALFWIDTH_PENALTY = 3
CONTROL_PENALTY = 5
# Above 1 % control characters (other than tab, line feeds and form feed) the file is binary.
BINARY_CONTROL_RATIO = 0.01
# A lone number line names the next page only if it is at most 3 ahead of the last page, so a
# stray "120" in a table does not make the page numbers jump.
MAX_PAGE_SKIP = 3

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def read(path: Path) -> LoadedDocument:
    return _read(path, "text")


def read_markdown(path: Path) -> LoadedDocument:
    return _read(path, "markdown")


def _read(path: Path, kind: str) -> LoadedDocument:
    doc = LoadedDocument(source=str(path), kind=kind)
    for number, page in _text_pages(undouble_spacing(decode(path.read_bytes(), path.name))):
        doc.pages.append(Page(number, normalize_text(page)))
    if kind == "markdown":
        heading = next((ln for p in doc.pages for ln in p.text.split("\n") if ln.startswith("# ")), None)
        doc.title = heading[2:].strip() if heading else None
    if not doc.title and doc.pages:
        doc.title = first_heading(doc.pages[0].text)
    return require_text(doc, path)


def decode(data: bytes, name: str) -> str:
    """Bytes → str: BOMs, then strict UTF-8 / CP932 / EUC-JP, then charset-normalizer."""
    text: str | None = None
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        candidates = []
        for encoding in ("utf-8", "cp932", "euc_jp"):
            try:
                candidates.append(data.decode(encoding))
            except UnicodeDecodeError:
                continue
        if candidates:
            text = max(candidates, key=_plausibility)
        else:
            best = from_bytes(data).best()
            text = str(best) if best is not None else None
    if text is None or _looks_binary(text):
        raise UnreadableDocument(
            f"テキストとして読めません（バイナリか未知の文字コード）: {name}。UTF-8 で保存し直してください"
        )
    return text


def _plausibility(text: str) -> float:
    sample = text[:SAMPLE_CHARS]
    halfwidth = sum(1 for c in sample if "\uff61" <= c <= "\uff9f")
    return (
        japanese_ratio(sample)
        - HALFWIDTH_PENALTY * halfwidth / max(len(sample), 1)
        - CONTROL_PENALTY * _control_ratio(sample)
    )


def _control_ratio(text: str) -> float:
    bad = sum(
        1 for c in text if (ord(c) < 32 and c not in "\t\n\r\f") or "\ue000" <= c <= "\uf8ff" or c == "\ufffd"
    )
    return bad / max(len(text), 1)


def _looks_binary(text: str) -> bool:
    return "\x00" in text or _control_ratio(text[:SAMPLE_CHARS]) > BINARY_CONTROL_RATIO


def _text_pages(text: str) -> list[tuple[int, str]]:
    """Split on form feeds; or, in text pulled out of a PDF, on `・・・・・・` page-break
    leader lines and on lone page-number lines (whose number then names the page)."""
    if "\f" in text:
        parts = text.split("\f")
        while len(parts) > 1 and not parts[-1].strip():
            parts.pop()
        return [(i + 1, p) for i, p in enumerate(parts)]
    lines = text.split("\n")
    if not any(PAGE_BREAK_LEADER.match(ln) for ln in lines):
        return [(1, text)]
    pages: list[tuple[int, str]] = []
    current: list[str] = []

    def close(printed: int | None) -> None:
        if not "".join(current).strip():
            current.clear()
            return
        last = pages[-1][0] if pages else 0
        number = printed if printed is not None and last < printed <= last + MAX_PAGE_SKIP else last + 1
        pages.append((number, "\n".join(current)))
        current.clear()

    for line in lines:
        if PAGE_BREAK_LEADER.match(line):
            close(None)
            continue
        lone = PRINTED_PAGE_NUMBER.match(line)
        if lone:
            close(int(lone.group(1).translate(_FULLWIDTH_DIGITS)))
            continue
        current.append(line)
    close(None)
    return pages
