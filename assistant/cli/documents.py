"""`plan-assistant ingest`, `documents` and `search`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import get_args

from tqdm import tqdm

from assistant.cli.common import batch_lines, brief, open_service, print_json
from assistant.errors import BadRequest
from assistant.retrieve import Mode
from assistant.types import AUDIENCES, DOC_TYPES, SearchFilters
from ingest.load import iter_files


# ---------------------------------------------------------------------- ingest / documents
def cmd_ingest(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BadRequest(f"見つかりません: {', '.join(missing)}")
    total = sum(1 for _ in iter_files(paths, supported_only=False))
    overrides = {"type": args.type, "audience": args.audience, "title": args.title, "id": args.id}
    with open_service(args) as svc, tqdm(total=total, unit="file", file=sys.stderr, disable=args.quiet) as bar:
        def progress(result):
            bar.set_postfix_str(Path(result.path).name[-30:])
            bar.update(1)

        results = svc.ingest(paths, overrides, Path(args.manifest) if args.manifest else None, progress)
    counts = {s: sum(r.status == s for r in results) for s in ("added", "replaced", "skipped", "failed", "ignored")}
    if args.json:
        print_json({"summary": counts, "files": [dataclasses.asdict(r) for r in results]})
    else:
        print(f"added {counts['added']}, replaced {counts['replaced']}, skipped {counts['skipped']} "
              f"(unchanged), failed {counts['failed']}, ignored {counts['ignored']} (not documents)")
        for r in results:
            if r.status in ("failed", "ignored"):
                print(f"  {r.status.upper():7s} {r.path}: {r.reason}")
            for w in r.warnings:
                print(f"  warning {r.path}: {w}")
    return 1 if counts["failed"] else 0


def cmd_documents(args: argparse.Namespace) -> int:
    with open_service(args) as svc:
        if args.action == "delete":
            for doc_id in args.ids:
                svc.delete(doc_id)
                print(f"deleted {doc_id}")
            return 0
        docs = svc.documents()
    if args.json:
        print_json([dataclasses.asdict(d) for d in docs])
        return 0
    for d in docs:
        period = f"{d.period_start}-{d.period_end}" if d.period_start else "-"
        print(f"{d.doc_id}\t{d.doc_type}\t{d.audience}\t{period}\t{d.pages}p/{d.chunks}c\t{d.title}")
    print(f"{len(docs)} documents")
    return 0


# ---------------------------------------------------------------------- search
def _filters(args: argparse.Namespace) -> SearchFilters:
    return SearchFilters(doc_types=[args.type] if args.type else None,
                         audiences=[args.audience] if getattr(args, "audience", None) else None,
                         doc_ids=args.doc or None, fiscal_year=args.year)


def cmd_search(args: argparse.Namespace) -> int:
    if not args.batch and not args.query:
        raise BadRequest("検索語（QUERY）か --batch FILE.jsonl を指定してください。")
    with open_service(args) as svc:
        if args.batch:
            for case in batch_lines(args.batch):
                passages = svc.search(case["question"], args.k, _filters(args), args.mode)
                print_json({"id": case.get("id"), "passages": [{**brief(d), "score": d["score"]}
                                                                for d in (p.to_dict() for p in passages)]})
            return 0
        passages = svc.search(" ".join(args.query), args.k, _filters(args), args.mode)
    if args.json:
        print_json([p.to_dict() for p in passages])
        return 0
    for i, p in enumerate(passages, 1):
        page = p.page_ref
        print(f"[{i}] {p.title} {page} {p.section}  ({p.score:.3f})")
        print("    " + p.text[:200].replace("\n", " "))
    if not passages:
        print("該当する箇所は見つかりませんでした。")
    return 0


def add_document_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="index files or folders (recursive)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--type", choices=DOC_TYPES)
    p.add_argument("--audience", choices=AUDIENCES)
    p.add_argument("--title")
    p.add_argument("--id", help="document id (default: the file stem)")
    p.add_argument("--manifest", help="JSON sidecar with per-file metadata")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("documents", help="list or delete indexed documents")
    p.add_argument("action", nargs="?", choices=("list", "delete"), default="list")
    p.add_argument("ids", nargs="*")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser("search", help="hybrid search")
    p.add_argument("query", nargs="*")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--type", choices=DOC_TYPES)
    p.add_argument("--audience", choices=AUDIENCES)
    p.add_argument("--doc", action="append", help="restrict to a document id (repeatable)")
    p.add_argument("--year", type=int, help="fiscal year the plan period must cover")
    p.add_argument("--mode", choices=get_args(Mode), default="hybrid")
    p.add_argument("--batch", help="JSONL file of {id, question}")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
