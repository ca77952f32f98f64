"""`plan-assistant eval search|answers|check CASES.jsonl`: metrics over the current index."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.metrics import is_hit, retrieval_scores


def read_cases(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def eval_search(svc, cases: list[dict], mode: str = "hybrid", k: int = 10) -> tuple[dict, list[dict]]:
    answerable = [c for c in cases if c.get("answer_keys") and c.get("source_contains") and c.get("doc")]
    ranked, details = [], []
    for case in answerable:
        passages = [p.to_dict() for p in svc.search(case["question"], k=k, mode=mode)]
        hits = [is_hit(p, case) for p in passages]
        ranked.append(hits)
        rank = hits.index(True) + 1 if True in hits else None
        details.append({"id": case["id"], "rank": rank, "top": [f"{p['doc']}:{p['page']}" for p in passages[:3]]})
    return retrieval_scores(ranked), details


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.cli import _service

    cases = read_cases(args.cases)
    with _service(args) as svc:
        if args.what == "search":
            rows = {}
            for mode in args.modes.split(","):
                scores, details = eval_search(svc, cases, mode)
                rows[mode] = scores
                if args.verbose:
                    for d in details:
                        print(f"  {mode:7s} {d['id']}: rank {d['rank']}  top {d['top']}")
            if args.json:
                print(json.dumps(rows, ensure_ascii=False))
            else:
                print(f"{'mode':8s} {'hit@1':>6s} {'hit@5':>6s} {'MRR@10':>7s} {'nDCG@10':>8s}  cases")
                for mode, s in rows.items():
                    print(f"{mode:8s} {s['hit@1']:6.3f} {s['hit@5']:6.3f} {s['mrr@10']:7.3f} {s['ndcg@10']:8.3f}  {s['cases']}")
            return 0
        if args.what == "answers":
            from eval.answer_eval import run_answer_eval

            return run_answer_eval(args, svc, cases)
        from eval.check_eval import run_check_eval

        return run_check_eval(args, svc, cases)


def add_eval_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate on cases (search, answers, check)")
    p.add_argument("what", choices=("search", "answers", "check"))
    p.add_argument("cases")
    p.add_argument("--modes", default="sparse,dense,rrf,hybrid", help="search modes to compare")
    p.add_argument("--generator", help="answers: extractive | local | openai (default: configured)")
    p.add_argument("--against", choices=("sector_plan", "plan", "consultation", "all"), default="all",
                   help="check: the documents drafts are checked against")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verbose", "-v", action="store_true")
    p.set_defaults(func=cmd_eval)
