"""`plan-assistant eval search|answers|multiturn|check CASES.jsonl`: metrics over the current index.

Every command reports the `tune` split, the `check` split and all cases: weights, thresholds and word
lists were fitted on `tune`, so `check` is the figure that estimates unseen documents and questions.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from assistant.cli.common import open_service
from assistant.types import AGAINST
from eval.metrics import (
    fmt,
    is_hit,
    per_kind,
    per_split,
    print_per_kind,
    retrieval_scores,
    select_split,
    split_of,
    write_rows,
)

MODES = ("sparse", "dense", "rrf", "hybrid")


def read_cases(path: str) -> list[dict]:
    from assistant.errors import PlanAssistantError

    if not Path(path).is_file():
        raise PlanAssistantError(f"cases file not found: {path}")
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        try:
            cases += [json.loads(line)] if line.strip() else []
        except ValueError as exc:
            raise PlanAssistantError(f"{path}:{n}: not JSON ({exc})") from None
    return cases


def search_scores(rows: list[dict]) -> dict:
    return retrieval_scores([r["hits"] for r in rows])


def eval_search(svc, cases: list[dict], mode: str = "hybrid", k: int = 10) -> tuple[dict, list[dict]]:
    """Scores over the answerable cases, and one row per case (split, relevance by rank) for `per_split`."""
    answerable = [c for c in cases if c.get("answer_keys") and c.get("source_contains") and c.get("doc")]
    details = []
    for case in answerable:
        passages = [p.to_dict() for p in svc.search(case["question"], k=k, mode=mode)]
        hits = [is_hit(p, case) for p in passages]
        rank = hits.index(True) + 1 if True in hits else None
        details.append({"id": case["id"], "split": split_of(case), "kind": case.get("kind", ""), "mode": mode,
                        "rank": rank, "hits": hits,
                        "top": [f"{p['doc']}:{p['page']}" for p in passages[:3]]})
    return search_scores(details), details


def run_search_eval(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        from assistant.errors import BadRequest

        raise BadRequest(f"unknown search mode {', '.join(unknown)}: choose from {','.join(MODES)}")
    by_mode, kinds, rows = {}, {}, []
    for mode in modes:
        _, details = eval_search(svc, cases, mode)
        by_mode[mode] = per_split(details, search_scores)
        kinds[mode] = per_kind(details, search_scores)
        rows += details
    write_rows(args.out, rows)
    splits = list(next(iter(by_mode.values()), {}))
    scores = {split: {mode: by_mode[mode][split] for mode in modes} for split in splits}
    if args.json:
        print(json.dumps({"eval": "search", "cases_file": args.cases, "scores": scores, "per_kind": kinds,
                          "cases": rows}, ensure_ascii=False))
        return 0
    if args.verbose:
        for d in rows:
            print(f"  {d['mode']:7s} {d['id']} [{d['split']}]: rank {d['rank']}  top {d['top']}")
    print(f"search {args.cases}: answerable cases; sparse (BM25) is the baseline")
    print(f"{'split':6s} {'mode':8s} {'hit@1':>6s} {'hit@5':>6s} {'MRR@10':>7s} {'nDCG@10':>8s} "
          f"{'cases':>6s}")
    for split, per_mode in scores.items():
        for mode, s in per_mode.items():
            print(f"{split:6s} {mode:8s} {fmt(s['hit@1'])} {fmt(s['hit@5'])} {fmt(s['mrr@10'], 7)} "
                  f"{fmt(s['ndcg@10'], 8)} {s['cases']:6d}")
    mode = "hybrid" if "hybrid" in modes else modes[-1]
    print(f"per kind ({mode}): hit@5 / MRR@10 (cases)")
    print_per_kind(kinds[mode], lambda s: f"{fmt(s['hit@5'], 5)} / {fmt(s['mrr@10'], 5)} ({s['cases']})")
    return 0



# `eval WHAT`: the module and function that run it (search is in this module)
COMMANDS: dict[str, tuple[str, str]] = {
    "answers": ("eval.answer_eval", "run_answer_eval"),
    "multiturn": ("eval.multiturn_eval", "run_multiturn_eval"),
    "check": ("eval.check_eval", "run_check_eval"),
    "gaps": ("eval.gaps_eval", "run_gaps_eval"),
    "fit-rerank": ("eval.fit_rerank", "cmd_fit_rerank"),
    "fit-covered": ("eval.fit_covered", "cmd_fit_covered"),
    "fit-extract": ("eval.fit_extract", "cmd_fit_extract"),
    "fit-subject": ("eval.fit_subject", "cmd_fit_subject"),
    "fit-quote": ("eval.fit_quote", "cmd_fit_quote"),
}


def cmd_eval(args: argparse.Namespace) -> int:
    cases = read_cases(args.cases)
    if not args.what.startswith("fit-"):  # fitting reads the tune split by itself
        cases = select_split(cases, args.split)
    # a generator choice goes into the Settings (validated), not patched into a started service
    generator = args.generator if args.what in ("answers", "multiturn") else None
    overrides: dict = {}
    if args.what.startswith("fit-"):
        generator = "extractive"  # the models are fitted on what retrieval alone finds
    if args.what == "fit-rerank":
        overrides["rerank_model"] = Path("")  # off: features of the fused candidates, whatever model is installed
    if args.what == "fit-quote":
        overrides["quote_model"] = Path("")  # off: features of the hand order (and no model yet is no error)
    with open_service(args, generator=generator, **overrides) as svc:
        if args.what == "search":
            return run_search_eval(args, svc, cases)
        module, function = COMMANDS[args.what]  # imported on use: each pulls in its own dependencies
        return getattr(importlib.import_module(module), function)(args, svc, cases)


def add_eval_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate on cases (search, answers, multiturn, check, gaps), per split")
    p.add_argument("what", choices=("search", *COMMANDS),
                   help="fit-covered / fit-rerank / fit-extract / fit-subject / fit-quote: refit the covered-or-not "
                        "model / the reranker / the extractive answer length / the draft check's same-subject model / "
                        "which sentences answers quote, on the tune split")
    p.add_argument("cases")
    p.add_argument("--modes", default=",".join(MODES), help="search modes (sparse = BM25 baseline)")
    p.add_argument("--generator", choices=("auto", "extractive", "local", "openai"),
                   help="answers, multiturn: the generator (default: configured)")
    p.add_argument("--against", choices=AGAINST, default="all",
                   help="check: the documents drafts are checked against")
    p.add_argument("--split", choices=("tune", "check", "all"), default="all",
                   help="evaluate the cases of one split only (the figure that counts is check; "
                        "gaps: tune per document by default, check as an aggregate only)")
    p.add_argument("--out", metavar="FILE", help="write the per-case results as JSON lines")
    p.add_argument("--conversations", metavar="FILE",
                   help="fit-extract: the follow-up conversations whose tune last turns count too")
    p.add_argument("--json", action="store_true", help="one JSON document: scores per split, case rows")
    p.add_argument("--verbose", "-v", action="store_true", help="per-case lines before the table")
    p.set_defaults(func=cmd_eval)
