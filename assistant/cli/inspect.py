"""`plan-assistant inspect`: how a file (or an indexed document) was read, page by page.

A file is read as `ingest` would read it, without writing anything (`--no-ocr` leaves pages without
a text layer unread: OCR is what makes it slow); `--doc ID` reads the file of an indexed document
again, as ingestion does, and compares it with the index. `--page N` prints the text of one page
as it is indexed (its chunks with their section path).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.cli.common import open_service, print_json, settings_from_args
from assistant.errors import BadRequest
from ingest.inspect import FileReport, PageReport, inspect_file

TEXT_WIDTH = 60  # characters of a chunk shown on the page line's detail (the full text needs --page)


def cmd_inspect(args: argparse.Namespace) -> int:
    if bool(args.file) == bool(args.doc):
        raise BadRequest("ファイル（FILE）か --doc ID のどちらか一方を指定してください。")
    if args.doc and args.no_ocr:
        raise BadRequest("--no-ocr はファイル（FILE）を読むときだけ使えます（--doc は取り込みと同じく OCR をします）。")
    if args.doc:
        with open_service(args) as svc:
            report = svc.inspect(args.doc)
    else:
        settings = settings_from_args(args)
        report = inspect_file(Path(args.file), chunk_chars=settings.chunk_chars,
                              max_bytes=settings.max_file_mb * 1024 * 1024, ocr=not args.no_ocr)
    if args.page is not None:
        page = report.page(args.page)
        if page is None:
            numbers = [p.number for p in report.pages]
            known = f"{numbers[0]}〜{numbers[-1]}" if numbers else "なし"
            raise BadRequest(f"ページ {args.page} はありません（この文書のページ: {known}）。")
        if args.json:
            print_json(page.to_dict())
        else:
            print("\n".join(page_text_lines(page)))
        return 0
    if args.json:
        print_json(report.to_dict())
    else:
        print("\n".join(report_lines(report)))
    return 0


def report_lines(report: FileReport) -> list[str]:
    """The human-readable report: the file, its warnings, then one line per page (and its warnings)."""
    out = [f"ファイル: {report.source}",
           f"文書ID: {report.doc_id}　形式: {report.kind}　タイトル: {report.title or '（不明）'}",
           f"ページ {len(report.pages)}・チャンク {report.chunks}・表の行 {report.records}"
           f"・読み取り {report.seconds:.1f} 秒"]
    if report.indexed is not None:
        i = report.indexed
        out.append(f"索引: {i['pages']}ページ・{i['chunks']}チャンク"
                   f"（ファイルは{'取り込み時のまま' if i['file_unchanged'] else '取り込み後に変更あり'}）")
    if report.refused:
        out.append(f"索引に入りません: {report.refused}")
    out += [f"注意: {w}" for w in report.warnings]
    out.append("")
    for p in report.pages:
        out.append(page_line(p))
        out += [f"      ⚠ {w}" for w in p.warnings]
    return out


def page_line(p: PageReport) -> str:
    how = p.method_label
    if p.ocr_confidence is not None:
        how += f" 信頼度 {p.ocr_confidence:.2f}"
    if p.reading:
        how += f" {p.reading}"
    number = f"p.{p.number}" + (f"（印刷 {p.label}）" if p.label else "")
    parts = [f"{number:<6}", f"{p.status_label}・{how}", f"チャンク {len(p.chunks)}", f"{p.chars}文字"]
    if p.chars:
        parts.append(f"日本語 {p.japanese:.0%}")
    if p.table_lines or p.records:
        parts.append(f"表 {p.table_lines}行・表の行 {p.records}")
    parts += [f"{name}={value}" for name, value in p.extra.items() if value not in (None, "", [], {})]
    return "  ".join(parts)


def page_text_lines(p: PageReport) -> list[str]:
    """One page in full: how it was read, its warnings, and each chunk carrying it with its section."""
    out = [page_line(p)]
    if p.note:
        out.append(f"読み取りの記録: {p.note}")
    out += [f"⚠ {w}" for w in p.warnings]
    if not p.chunks:
        out.append("（このページから索引に入った本文はありません）")
        if p.text:
            out += ["", "読み取った本文:", p.text]
        return out
    for c in p.chunks:
        pages = ", ".join(str(n) for n in c.pages)
        ocr = f"・OCR 信頼度 {c.ocr:.2f}" if c.ocr is not None else ""
        out += ["", f"── チャンク {c.chunk_no}（{c.section or '見出しなし'}・p.{pages}{ocr}）", c.text]
    return out


def add_inspect_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="how a file is read, page by page (text layer, OCR, tables, chunks)")
    p.add_argument("file", nargs="?", metavar="FILE", help="a file to read as ingest would (nothing is written)")
    p.add_argument("--doc", metavar="ID", help="an indexed document id: its file is read again and compared with the index")
    p.add_argument("--page", type=int, metavar="N", help="show this page's indexed text in full")
    p.add_argument("--no-ocr", action="store_true",
                   help="do not OCR pages without a text layer (fast; they are reported as not read)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)
