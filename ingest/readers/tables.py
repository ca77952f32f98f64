"""CSV and XLSX → one record per data row, "column: value" lines under the header row's names.

A row is a unit of meaning in these files (one public comment and its reply, one measure and its
target), so rows are never merged or split by the chunker. The first non-empty row is the header;
a record's page is 1 for CSV and the sheet number for XLSX, its row the data-row number.

An XLSX is a zip of XML parts, so before openpyxl reads a byte of it `check_xlsx_package` refuses
what would make it decompress or loop for ever: more parts than a workbook has, parts whose
declared uncompressed size or compression ratio is a zip bomb's (Python's zipfile stops at the
declared size, so a lying header only truncates the part), and XML with a DTD (entity expansion,
"billion laughs", or external entities; Excel never writes one). While reading, the declared sheet
range, the rows and the columns are capped, so a tiny sheet that claims A1:XFD1048576 is refused
instead of padded out to 17 billion empty cells.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook

from assistant.errors import UnreadableDocument
from assistant.types import LoadedDocument, Record
from ingest.normalize import normalize_text
from ingest.readers import require_text
from ingest.readers.text import decode

NO_ROWS = "データ行がありません: 見出し行の下が空です"

# The largest XLSX read: 128 MiB of XML in all, ≈ 2.3× the sheet XML of a table at MAX_XLSX_ROWS
# (a 20,000-row, 8-column table of Japanese comments written by openpyxl has 560 bytes of sheet
# XML a row, 11 MB). Checked against the sizes the zip declares, before anything is decompressed.
MAX_XLSX_XML_BYTES = 128 * 2**20
# The same table compresses 15:1 (sheet XML) and 6.5:1 (theme); deflate's ceiling is ≈ 1,030:1,
# which zip bombs reach (a sheet of padding: 1,010:1). A part over 1 MiB compressed more than
# 200:1 is refused as a bomb.
MAX_XLSX_RATIO = 200
RATIO_MIN_BYTES = 2**20
# An XLSX has 10–100 parts (one per sheet, style, theme, drawing…); 1,000 allows hundreds of sheets.
MAX_XLSX_PARTS = 1_000
# Rows and columns of one sheet: a public-comment table has hundreds to thousands of rows; 100,000
# rows take hours to embed at 3–7 chunks/s (README, Benchmarks). 256 columns is Excel 2003's limit.
MAX_XLSX_ROWS = 100_000
MAX_XLSX_COLUMNS = 256
# A DTD can only come before the root element: the first 64 KiB of a part must reach that element.
XML_PROLOG_BYTES = 64 * 1024

_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_EOCD = b"PK\x05\x06"


def _record_text(header: list[str], row: list[str], prefix: str = "") -> str:
    lines = [prefix] if prefix else []
    for i, value in enumerate(row):
        if value.strip():
            column = header[i] if i < len(header) and header[i] else f"列{i + 1}"
            lines.append(f"{column}: {value.strip()}")
    return normalize_text("\n".join(lines), structured=True) if len(lines) > bool(prefix) else ""


def read_csv(path: Path) -> LoadedDocument:
    """Comma- or tab-separated (tab when the first line has tabs and no commas), any encoding
    `decode` knows; quoted cells may span lines."""
    doc = LoadedDocument(source=str(path), kind="csv")
    text = decode(path.read_bytes(), path.name)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    number = 0
    try:
        for row in rows:
            if header is None:
                if any(c.strip() for c in row):
                    header = [c.strip().lstrip("\ufeff") for c in row]
                continue
            number += 1
            body = _record_text(header, row)
            if body:
                doc.records.append(Record(body, page=1, row=number))
    except csv.Error as err:
        raise UnreadableDocument(
            f"CSV を解析できません: {path.name}: {err}。引用符の対応を確認してください"
        ) from err
    if not doc.records:
        doc.warnings.append(NO_ROWS)
    return require_text(doc, path)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _refuse(path: Path, what: str) -> UnreadableDocument:
    return UnreadableDocument(f"XLSX を読み込めません（{what}）: {path.name}。"
                              "Excel で開いて不要な部分を削除し、保存し直してから再投入してください")


def _zip_entries(path: Path) -> int | None:
    """The number of parts the zip's end record declares (None when there is none: not a zip),
    read from the file's tail before zipfile builds an object for each of them."""
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65_557))  # the end record (22 bytes) and a comment of up to 65,535
        tail = f.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) < at + 22:
        return None
    return struct.unpack("<H", tail[at + 10:at + 12])[0]  # 0xFFFF: a zip64 archive, no workbook is one


def _has_dtd(head: bytes) -> bool:
    """Whether the first bytes of an XML part declare a DTD, or go on too long to tell."""
    text = head.decode("utf-16", "replace") if head.startswith((b"\xff\xfe", b"\xfe\xff")) else \
        head.decode("utf-8", "replace")
    first = _FIRST_ELEMENT.search(text)
    if first is None:
        return len(head) >= XML_PROLOG_BYTES
    prolog = text[:first.start()].upper()
    return "<!DOCTYPE" in prolog or "<!ENTITY" in prolog


def check_xlsx_package(path: Path) -> None:
    """Refuse a zip bomb, an oversized workbook or XML with a DTD before openpyxl reads it (see the
    module docstring). Archives that are not zips are left to openpyxl's own error."""
    entries = _zip_entries(path)
    if entries is None:
        return
    if entries > MAX_XLSX_PARTS:
        raise _refuse(path, f"部品の数が多すぎます: {entries}、上限 {MAX_XLSX_PARTS}")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_XLSX_XML_BYTES:
                raise _refuse(path, f"展開すると {total / 2**20:,.0f} MB になります、上限 "
                                    f"{MAX_XLSX_XML_BYTES // 2**20} MB。圧縮爆弾の可能性があります")
            for info in infos:
                if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                    raise _refuse(path, f"{info.filename} の圧縮率が異常です"
                                        f"（{info.file_size // max(info.compress_size, 1):,} 倍）。圧縮爆弾の可能性があります")
            for info in infos:
                if info.filename.endswith((".xml", ".rels")) and not info.is_dir():
                    with archive.open(info) as part:
                        if _has_dtd(part.read(XML_PROLOG_BYTES)):
                            raise _refuse(path, f"{info.filename} に DTD（実体宣言）が含まれています。"
                                                "Excel が書き出す XLSX にはないものです")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as err:
        raise _refuse(path, f"壊れているか暗号化されています: {type(err).__name__}") from err


def read_xlsx(path: Path) -> LoadedDocument:
    """Every sheet, values as last saved by Excel (formulas are not evaluated here)."""
    doc = LoadedDocument(source=str(path), kind="xlsx")
    check_xlsx_package(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # BadZipFile, InvalidFileException, KeyError, a parser error…
        detail = str(err).split("\n", 1)[0].replace(str(path), path.name)
        raise UnreadableDocument(
            f"XLSX を開けません（壊れているか暗号化されています）: {path.name}: {detail}。"
            "Excel で開いて保存し直してください"
        ) from err
    try:
        for sheet_no, sheet in enumerate(workbook.worksheets, start=1):
            rows, columns = getattr(sheet, "max_row", None), getattr(sheet, "max_column", None)
            if (rows or 0) > MAX_XLSX_ROWS or (columns or 0) > MAX_XLSX_COLUMNS:
                raise _refuse(path, f"シート「{sheet.title}」の範囲が {rows or 0:,} 行 × {columns or 0:,} 列と宣言されています、"
                                    f"上限 {MAX_XLSX_ROWS:,} 行 × {MAX_XLSX_COLUMNS} 列")
            header: list[str] | None = None
            number = 0
            # max_col: a row whose one cell sits in column XFD would otherwise be padded to 16,384 cells
            for seen, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_XLSX_COLUMNS), start=1):
                if seen > MAX_XLSX_ROWS:
                    raise _refuse(path, f"シート「{sheet.title}」の行が多すぎます、上限 {MAX_XLSX_ROWS:,} 行")
                if values.count(None) == len(values):  # an empty row, or a gap openpyxl fills in: skipped cheaply
                    number += header is not None
                    continue
                row = [_cell(v) for v in values]
                if header is None:
                    if any(c.strip() for c in row):
                        header = [c.strip() for c in row]
                    continue
                number += 1
                body = _record_text(header, row, prefix=f"シート: {sheet.title}")
                if body:
                    doc.records.append(Record(body, page=sheet_no, row=number))
    finally:
        workbook.close()
    if not doc.records:
        doc.warnings.append(NO_ROWS)
    return doc
