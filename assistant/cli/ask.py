"""`plan-assistant ask`: grounded answers from the command line (all documents: a staff tool)."""

from __future__ import annotations

import argparse
from typing import get_args

from assistant.cli.common import batch_lines, brief, open_service, print_json
from assistant.config import GeneratorChoice
from assistant.errors import BadRequest, PlanAssistantError
from ui.render import citation_label  # pure string building: no gradio


def cmd_ask(args: argparse.Namespace) -> int:
    if not args.batch and not args.question:
        raise BadRequest("質問（QUESTION）か --batch FILE.jsonl を指定してください。")
    with open_service(args, generator=args.generator) as svc:
        if args.batch:
            for case in batch_lines(args.batch):
                try:
                    a = svc.ask(case.get("question", "")).to_dict()
                except PlanAssistantError as exc:
                    a = {"answer": str(exc), "abstained": True, "citations": [], "error": exc.code}
                print_json({"id": case.get("id"), "answer": a["answer"], "abstained": a["abstained"],
                            "citations": [brief(c) for c in a["citations"]]})
            return 0
        answer = svc.ask(" ".join(args.question))
    if args.json:
        print_json(answer.to_dict())
        return 0
    print(answer.text)
    if answer.notice:
        print(f"（{answer.notice}）")
    for c in answer.citations:  # the UI's label: an OCR passage says so, with its confidence
        print(f"  [{c.number}] {citation_label(c.to_dict())}")
    for p in answer.related:
        print(f"  関連: {citation_label(p.to_dict())}")
    return 0


def add_ask_parser(sub) -> None:
    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", nargs="*")
    p.add_argument("--batch", help="JSONL file of {id, question}")
    p.add_argument("--generator", choices=get_args(GeneratorChoice))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)
