"""Files → pages of normalised text (PDF, HTML, text, Markdown) or table records (CSV, XLSX).

`load_file` is the only entry point: it checks what can be checked without reading the file
(exists, size, type) and hands it to the reader for its suffix in `READERS` (one module per
format in `ingest/readers/`). It raises `UnsupportedFormat`, `TooLarge` or `UnreadableDocument`
with a one-line Japanese reason that says what to do. A PDF without a text layer is not an
error here; the indexer refuses it when `readers.pdf.needs_ocr` says so.

The first bytes decide, not the name alone: a PDF under another suffix is read as a PDF (with a
warning), while a file whose content is not what its suffix says (a text renamed .pdf, an image
renamed .xlsx, a zip renamed .csv) is refused with what it really is. A reader that fails in an
unforeseen way (a parser's own exception) gives `UnreadableDocument` too, so one bad file never
stops a batch or becomes a server error. A PDF's scripts and launch actions are named in a warning
(`readers.pdf_actions`, called by the PDF reader on its own parse); nothing runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import PlanAssistantError, TooLarge, UnreadableDocument, UnsupportedFormat
from assistant.types import LoadedDocument
from ingest.readers import Reader, html, pdf, tables, text

log = logging.getLogger(__name__)

# The library default; the application's knob is `Settings.max_file_mb`.
MAX_FILE_BYTES = 200 * 1024 * 1024

READERS: dict[str, Reader] = {
    ".pdf": pdf.read,
    ".html": html.read,
    ".htm": html.read,
    ".txt": text.read,
    ".md": text.read_markdown,
    ".csv": tables.read_csv,
    ".xlsx": tables.read_xlsx,
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(READERS)
_HINTS = {
    ".docx": "PDF で保存してから",
    ".doc": "PDF で保存してから",
    ".xls": ".xlsx で保存してから",
    ".pptx": "PDF で保存してから",
    ".rtf": "PDF で保存してから",
}
# What the first bytes say a file is (signatures from the formats' specifications, long enough not
# to match the start of a text file): (magic, what it is, what to do). PDF is looked for anywhere in
# the first 1 KiB, as viewers do.
SNIFF_BYTES = 1024
_MAGIC: list[tuple[bytes, str, str]] = [
    (b"PK\x03\x04", "ZIP 形式（.xlsx・.docx・.pptx など）", ".xlsx なら拡張子を .xlsx に、Word や PowerPoint なら PDF で保存してから"),
    (b"PK\x05\x06", "ZIP 形式（空の ZIP）", "中身を確認してから"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
     "古い Office 形式（.xls・.doc）か、パスワード付きの Office ファイル",
     "パスワードを外し、.xlsx か PDF で保存してから"),
    (b"\x89PNG\r\n\x1a\n", "PNG 画像", "PDF に変換してから（画像だけのページは OCR で読み取ります）"),
    (b"\xff\xd8\xff", "JPEG 画像", "PDF に変換してから（画像だけのページは OCR で読み取ります）"),
    (b"GIF8", "GIF 画像", "PDF に変換してから（画像だけのページは OCR で読み取ります）"),
    (b"II*\x00", "TIFF 画像", "PDF に変換してから（画像だけのページは OCR で読み取ります）"),
    (b"MM\x00*", "TIFF 画像", "PDF に変換してから（画像だけのページは OCR で読み取ります）"),
    (b"\x1f\x8b\x08", "gzip 圧縮ファイル", "展開してから"),
    (b"7z\xbc\xaf\x27\x1c", "7z 圧縮ファイル", "展開してから"),
    (b"Rar!\x1a\x07", "RAR 圧縮ファイル", "展開してから"),
    (b"MZ\x90\x00", "実行ファイル", "文書ファイルを選び直してから"),
    (b"\x7fELF", "実行ファイル", "文書ファイルを選び直してから"),
]
_TEXT_SUFFIXES = {".txt", ".md", ".csv", ".html", ".htm"}


def iter_files(paths: list[Path], supported_only: bool = True) -> Iterator[Path]:
    """Files to load: explicit files as given, directories recursively (sorted, hidden files
    and folders skipped; with `supported_only`, files of other types skipped too)."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                rel = found.relative_to(path).parts
                if any(part.startswith(".") for part in rel):
                    continue
                if found.is_file() and (found.suffix.lower() in SUPPORTED_SUFFIXES or not supported_only):
                    yield found
        else:
            yield path


def check_size(path: Path, max_bytes: int = MAX_FILE_BYTES) -> int:
    """The file's size, or `TooLarge`: checked from the directory entry, before reading (or
    hashing) a byte, so that a 2 GB upload is refused at once."""
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLarge(
            f"ファイルが大きすぎます ({size / 2**20:.0f} MB、上限 {max_bytes / 2**20:.0f} MB): "
            f"{path.name}。分割してから再投入してください"
        )
    return size


def sniff(head: bytes) -> tuple[str, str] | None:
    """(what the file is, what to do) when its first bytes name a format other than PDF or text."""
    for magic, name, hint in _MAGIC:
        if head.startswith(magic):
            return name, hint
    return None


def check_content(path: Path, suffix: str, head: bytes) -> None:
    """Refuse a file whose first bytes contradict its suffix (a PDF under any suffix is fine: it is
    read as one). Raises `UnsupportedFormat` when it is a format not read at all (an image, an
    archive), `UnreadableDocument` otherwise."""
    found = sniff(head)
    if suffix == ".xlsx" and not head.startswith(b"PK\x03\x04"):
        what, hint = found or ("XLSX ではないファイル（テキストなど）", "Excel で開いて .xlsx で保存し直してから")
    elif suffix == ".pdf":
        what, hint = found or ("PDF ではないファイル（テキストなど）", "正しい拡張子に直すか、PDF を取り直してから")
    elif suffix in _TEXT_SUFFIXES and found is not None:
        what, hint = found
    else:
        return
    error = UnsupportedFormat if found else UnreadableDocument
    raise error(f"拡張子は {suffix} ですが、中身は {what} です: {path.name}。{hint}再投入してください")


def load_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> LoadedDocument:
    """Load one file. See the module docstring for what comes back and what is raised."""
    path = Path(path)
    if path.is_dir():
        raise UnreadableDocument(f"フォルダです: {path}。中のファイルを指定してください")
    if not path.is_file():
        raise UnreadableDocument(f"ファイルが見つかりません: {path}。パスを確認してください")
    if check_size(path, max_bytes) == 0:
        raise UnreadableDocument(f"空のファイルです: {path.name}。中身のあるファイルを投入してください")
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    sniffed_pdf = b"%PDF-" in head
    suffix = path.suffix.lower()
    reader = pdf.read if sniffed_pdf else READERS.get(suffix)
    if reader is None:
        hint = _HINTS.get(suffix, "対応形式に変換してから")
        raise UnsupportedFormat(
            f"対応していない形式です ({suffix or '拡張子なし'}): {hint}再投入してください"
            f"（対応形式: {', '.join(SUPPORTED_SUFFIXES)}）"
        )
    if not sniffed_pdf:
        check_content(path, suffix, head)
    try:
        doc = reader(path)
    except (PlanAssistantError, OSError):  # said already, or the file system's (the indexer words those)
        raise
    except Exception as err:  # a parser's own failure on a hostile or broken file (RecursionError, MemoryError…)
        log.warning("reading %s failed", path, exc_info=True)
        raise UnreadableDocument(
            f"ファイルを読み取れませんでした（{type(err).__name__}）: {path.name}。"
            "元のアプリで開いて保存し直すか、PDF にしてから再投入してください"
        ) from err
    if sniffed_pdf and suffix != ".pdf":
        doc.warnings.insert(0, f"拡張子は {suffix} ですが中身は PDF なので PDF として読みました")
    return doc
