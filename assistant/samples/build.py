"""(Re)generate the sample documents in ``docs/`` from the sources in ``src/``.

    python -m assistant.samples.build [OUT_DIR]

``src/catalog.json`` lists every output file with its source and metadata; the output format
follows the file's extension. The build is deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from html import escape
from pathlib import Path

from assistant.samples import SAMPLES_DIR, SRC_DIR
from assistant.samples.markup import Block, parse

MANIFEST_KEYS = ("file", "id", "title", "type", "issuer", "audience", "edition", "period")
FIXED_TIME = (2024, 3, 29, 0, 0, 0)  # zip entry time for the XLSX (release date of the samples)

HTML_HEAD = """<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>{title}｜みどり野市（架空）</title>
<style>
body {{ font-family: sans-serif; line-height: 1.7; max-width: 60em; margin: auto; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #666; padding: 0.2em 0.5em; }}
ul.plain {{ list-style: none; padding-left: 1em; }} .notice {{ border: 1px solid #c00; padding: 0.5em; }}
</style>
</head>
<body>
<header>
<p class="site">みどり野市（架空）公式ホームページ</p>
<nav class="breadcrumb">ホーム ＞ くらし・環境 ＞ 計画・施策 ＞ {title}</nav>
</header>
<main>
"""
HTML_TAIL = """</main>
<footer>
<p>このページに関するお問い合わせ：{issuer}</p>
<p>Copyright © みどり野市（架空の自治体のサンプル）</p>
</footer>
</body>
</html>
"""


def to_html(blocks: list[Block], entry: dict) -> str:
    out = [HTML_HEAD.format(title=escape(entry["title"]))]
    for i, block in enumerate(blocks):
        prev_kind = blocks[i - 1].kind if i else ""
        next_kind = blocks[i + 1].kind if i + 1 < len(blocks) else ""
        if block.kind == "item":
            if prev_kind != "item":
                out.append('<ul class="plain">\n')
            out.append(f"<li>{escape(block.text)}</li>\n")
            if next_kind != "item":
                out.append("</ul>\n")
        elif block.kind == "table":
            head, *body = block.rows
            out.append(
                "<table>\n<thead><tr>"
                + "".join(f"<th>{escape(c)}</th>" for c in head)
                + "</tr></thead>\n<tbody>\n"
            )
            out.extend("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>\n" for row in body)
            out.append("</tbody>\n</table>\n")
        elif block.kind.startswith("h"):
            out.append(f"<{block.kind}>{escape(block.text)}</{block.kind}>\n")
        elif block.kind == "p":
            cls = ' class="notice"' if "架空の自治体のサンプル" in block.text else ""
            out.append(f"<p{cls}>{escape(block.text)}</p>\n")
    out.append(HTML_TAIL.format(issuer=escape(entry["issuer"])))
    return "".join(out)


def read_rows(source: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(source)))
    for number, row in enumerate(rows, start=1):
        if len(row) != len(rows[0]):
            raise ValueError(f"row {number} has {len(row)} fields, the header has {len(rows[0])}: {row[:2]}")
    return rows


def write_csv(source: str, target: Path, encoding: str) -> None:
    rows = read_rows(source)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    target.write_bytes(buffer.getvalue().encode(encoding))


def write_xlsx(source: str, target: Path, sheet_title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    for row in read_rows(source):
        sheet.append([int(c) if c.isdigit() else c for c in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDE", (6, 28, 50, 60, 10)):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    raw = io.BytesIO()
    workbook.save(raw)
    _freeze_zip(raw.getvalue(), target)


def _freeze_zip(data: bytes, target: Path) -> None:
    """Rewrite a zip with fixed entry times and document dates, so the bytes are reproducible."""
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*FIXED_TIME)
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            content = src.read(name)
            if name == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), content
                )
            dst.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME), content, zipfile.ZIP_DEFLATED)


def build_one(entry: dict, out_dir: Path) -> Path:
    source = (SRC_DIR / entry["src"]).read_text(encoding="utf-8")
    target = out_dir / entry["file"]
    suffix = target.suffix
    if suffix == ".pdf":
        from assistant.samples.pdf import render_pdf

        render_pdf(
            parse(source), target, title=entry["title"], author=entry["issuer"], running_head=entry["title"]
        )
    elif suffix == ".html":
        target.write_text(to_html(parse(source), entry), encoding="utf-8", newline="\n")
    elif suffix == ".csv":
        write_csv(source, target, entry.get("encoding", "utf-8"))
    elif suffix == ".xlsx":
        write_xlsx(source, target, "意見の概要と市の考え方")
    else:  # .md, .txt: the source is the document
        target.write_text(source, encoding="utf-8", newline="\n")
    return target


def build(out_dir: Path = SAMPLES_DIR) -> list[Path]:
    catalog = json.loads((SRC_DIR / "catalog.json").read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [build_one(entry, out_dir) for entry in catalog]
    manifest = [{key: entry.get(key, Path(entry["file"]).stem) for key in MANIFEST_KEYS} for entry in catalog]
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return [*written, manifest_path]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else SAMPLES_DIR
    for path in build(out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
