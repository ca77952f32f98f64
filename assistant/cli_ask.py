"""`plan-assistant ask`: grounded answers from the command line (all documents: a staff tool)."""

from __future__ import annotations

import argparse

from assistant.errors import PlanAssistantError


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.cli import _batch_lines, _print_json, _service

    if not args.batch and not args.question:
        raise PlanAssistantError("give a QUESTION or --batch FILE.jsonl")
    if args.generator:
        import os

        os.environ["PLAN_ASSISTANT_GENERATOR"] = args.generator
    with _service(args) as svc:
        if args.batch:
            for case in _batch_lines(args.batch):
                try:
                    a = svc.ask(case.get("question", "")).to_dict()
                except PlanAssistantError as exc:
                    a = {"answer": str(exc), "abstained": True, "citations": [], "error": exc.code}
                _print_json({"id": case.get("id"), "answer": a["answer"], "abstained": a["abstained"],
                             "citations": [{k: c[k] for k in ("doc", "title", "section", "page", "text")}
                                           for c in a["citations"]]})
            return 0
        answer = svc.ask(" ".join(args.question))
    if args.json:
        _print_json(answer.to_dict())
        return 0
    print(answer.text)
    if answer.notice:
        print(f"（{answer.notice}）")
    for c in answer.citations:
        p = c.passage
        print(f"  [{c.number}] {p.title} / {p.section} / p.{p.page}")
    for p in answer.related:
        print(f"  関連: {p.title} / {p.section} / p.{p.page}")
    return 0


def add_ask_parser(sub) -> None:
    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", nargs="*")
    p.add_argument("--batch", help="JSONL file of {id, question}")
    p.add_argument("--generator", choices=("auto", "extractive", "local", "openai"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)
