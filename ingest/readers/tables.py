"""CSV and XLSX → one record per data row, "column: value" lines under the header row's names.

A row is a unit of meaning in these files (one public comment and its reply, one measure and its
target), so rows are never merged or split by the chunker. The first non-empty row is the header;
a record's page is 1 for CSV and the sheet number for XLSX, its row the data-row number.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook

from assistant.errors import UnreadableDocument
from assistant.types import LoadedDocument, Record
from ingest.normalize import normalize_text
from ingest.readers import require_text
from ingest.readers.text import decode

NO_ROWS = "データ行がありません: 見出し行の下が空です"


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


def read_xlsx(path: Path) -> LoadedDocument:
    """Every sheet, values as last saved by Excel (formulas are not evaluated here)."""
    doc = LoadedDocument(source=str(path), kind="xlsx")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # BadZipFile, InvalidFileException, KeyError…
        raise UnreadableDocument(
            f"XLSX を開けません（壊れているか暗号化されています）: {path.name}: {err}。"
            "Excel で開いて保存し直してください"
        ) from err
    try:
        for sheet_no, sheet in enumerate(workbook.worksheets, start=1):
            header: list[str] | None = None
            number = 0
            for values in sheet.iter_rows(values_only=True):
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
