"""Files → pages of normalised text (PDF, HTML, text, Markdown) or table records (CSV, XLSX).

`load_file` is the only entry point: it checks what can be checked without reading the file
(exists, size, type) and hands it to the reader for its suffix in `READERS` (one module per
format in `ingest/readers/`). It raises `UnsupportedFormat`, `TooLarge` or `UnreadableDocument`
with a one-line Japanese reason that says what to do. A PDF without a text layer is not an
error here; the indexer refuses it when `readers.pdf.needs_ocr` says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from assistant.errors import TooLarge, UnreadableDocument, UnsupportedFormat
from assistant.types import LoadedDocument
from ingest.readers import Reader, html, pdf, tables, text

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
        sniffed_pdf = b"%PDF-" in f.read(1024)
    suffix = path.suffix.lower()
    reader = pdf.read if sniffed_pdf else READERS.get(suffix)
    if reader is None:
        hint = _HINTS.get(suffix, "対応形式に変換してから")
        raise UnsupportedFormat(
            f"対応していない形式です ({suffix or '拡張子なし'}): {hint}再投入してください"
            f"（対応形式: {', '.join(SUPPORTED_SUFFIXES)}）"
        )
    doc = reader(path)
    if sniffed_pdf and suffix != ".pdf":
        doc.warnings.insert(0, f"拡張子は {suffix} ですが中身は PDF なので PDF として読みました")
    return doc
