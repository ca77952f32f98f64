"""`plan-assistant check` and `plan-assistant where`: draft checks and where a measure is covered."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from assistant.check import CheckReport, combined_verdict
from assistant.check.report import summary_text
from assistant.cli.common import batch_lines, brief, open_service, print_json
from assistant.errors import BadRequest
from assistant.service import PlanAssistant
from assistant.types import AGAINST, VERDICT_LABELS
from assistant.where import to_table_csv
from ingest.load import load_file


def _read_draft(args: argparse.Namespace) -> str:
    if args.text is not None:
        return args.text
    if args.draft is None:
        raise BadRequest("原案のファイル（- で標準入力）、--text TEXT、または --batch FILE.jsonl を指定してください。")
    if args.draft == "-":
        return sys.stdin.read()
    doc = load_file(args.draft)
    for warning in doc.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return doc.text


def _batch(args: argparse.Namespace, svc: PlanAssistant) -> int:
    for case in batch_lines(args.batch):
        try:
            report = svc.check(case.get("draft") or "", args.against, exclude_docs=args.exclude_docs, gaps=False)
        except BadRequest as exc:  # one unusable line (an empty draft) does not stop the batch
            print_json(
                {"id": case.get("id"), "verdict": "not_judged", "evidence": [], "explanation": str(exc)}
            )
            continue
        verdict, result = combined_verdict(report)
        evidence = [brief(e.to_dict()) for e in result.evidence] if result else []
        print_json(
            {
                "id": case.get("id"),
                "verdict": verdict,
                "evidence": evidence,
                "explanation": result.explanation if result else "",
            }
        )
    return 0


def _print_report(report: CheckReport) -> None:
    for r in report.statements:
        print(f"[{r.id}] {VERDICT_LABELS[r.verdict]}  {r.text}")
        if r.explanation:
            print(f"      {r.explanation}")
        for e in r.evidence[:1]:
            p = e.passage
            page = f" {p.page_ref}" if p.page else ""
            print(f"      根拠: 『{p.title}』{page} {p.section}「{e.sentence}」")
    print(summary_text(report.summary))
    if report.gaps:
        print("原案に記載が見当たらない資料の目標・指標:")
        for g in report.gaps:
            page = f" {g.passage.page_ref}" if g.passage.page else ""
            print(f"  ・『{g.passage.title}』{page} {g.text}")


def cmd_check(args: argparse.Namespace) -> int:
    draft = None if args.batch else _read_draft(args)
    with open_service(args) as svc:
        if args.batch:
            return _batch(args, svc)
        with tqdm(unit="文", file=sys.stderr, disable=args.quiet or not sys.stderr.isatty()) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            report = svc.check(draft or "", args.against, progress=progress, exclude_docs=args.exclude_docs,
                               gaps=not args.no_gaps)
    if args.json:
        print_json(report.to_dict())
    elif args.markdown:
        print(report.to_markdown(), end="")
    elif args.csv:
        print(report.to_csv(), end="")
    else:
        _print_report(report)
    return 0


def cmd_where(args: argparse.Namespace) -> int:
    measures = list(args.measures)
    if args.file:
        with open(args.file, encoding="utf-8") as f:
            measures += [line.strip() for line in f if line.strip()]
    if not measures:
        raise BadRequest("施策・事業名（MEASURE）か、1行に1つ書いたファイル（--file）を指定してください。")
    with open_service(args) as svc:
        reports = [svc.where(m, k=args.k) for m in measures]
    if args.csv:
        print(to_table_csv(reports), end="")
    elif args.json:
        print_json(reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports])
    else:
        for r in reports:
            print(r.to_text())
    return 0


def add_check_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check a draft plan against the plan documents",
        description="Check every statement of a draft (file, stdin or --text) against the indexed "
        "documents: consistent, conflict (values differ), unsupported or not judged.",
    )
    p.add_argument("draft", nargs="?", help="draft file (txt, md, pdf, html, …) or - for stdin")
    p.add_argument("--text", help="the draft as literal text")
    p.add_argument("--batch", help="JSONL file of {id, draft}: one verdict line per input line")
    p.add_argument(
        "--against",
        choices=AGAINST,
        default="all",
        help="documents to check against (default: all)",
    )
    p.add_argument(
        "--exclude-doc",
        action="append",
        dest="exclude_docs",
        metavar="DOC_ID",
        help="leave out a document, e.g. the draft itself when it is indexed (repeatable)",
    )
    p.add_argument("--no-gaps", action="store_true", help="skip the targets-not-in-the-draft list")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "where",
        help="where a measure is covered, document by document",
        description="Every document and section covering a measure (施策), in plan hierarchy order, "
        "with pages, the matching sentences and the target values stated there.",
    )
    p.add_argument(
        "measures", nargs="*", metavar="MEASURE", help="a measure; several give a matrix with --csv"
    )
    p.add_argument("--file", help="text file with one measure per line")
    p.add_argument("--k", type=int, default=40, help="passages retrieved per measure")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true", help="measure × document matrix (section and pages)")
    p.set_defaults(func=cmd_where)
