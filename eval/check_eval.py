"""`plan-assistant eval check CASES.jsonl`: verdict P/R/F1, macro-F1 and evidence accuracy, per split.

Each case's draft is checked as a whole (`combined_verdict`: any conflict, else any consistent,
else unsupported). Evidence accuracy counts the consistent and conflict cases whose shown evidence
includes a passage from the case's document containing `evidence_contains` (README matching rule).
"""

from __future__ import annotations

import argparse
import json
import time

from assistant.check import combined_verdict
from eval.metrics import (
    contains,
    fmt,
    per_kind,
    per_split,
    prf,
    print_per_kind,
    ratio,
    same_doc,
    split_of,
    write_rows,
)

LABELS = ["consistent", "conflict", "unsupported"]


def evidence_hit(evidence: list[dict], case: dict) -> bool:
    want = case.get("evidence_contains")
    return any(same_doc(e.get("doc"), case.get("doc")) and contains(e.get("text", ""), want)
               for e in evidence)


def check_scores(details: list[dict]) -> dict:
    """P/R/F1 from the rows `evaluate_check` returns; evidence over the rows that have some to find."""
    scores = prf([d["expected"] for d in details], [d["verdict"] for d in details], LABELS)
    hits = [d["evidence_hit"] for d in details if d["evidence_hit"] is not None]
    scores.update(evidence_accuracy=ratio(sum(hits), len(hits)), evidence_found=sum(hits),
                  evidence_cases=len(hits), cases=len(details))
    return scores


def evaluate_check(svc, cases: list[dict], against: str = "all") -> tuple[dict, list[dict]]:
    """Scores over all the cases, and one row per case (with its split) for `per_split`."""
    details = []
    started = time.perf_counter()
    for case in cases:
        report = svc.check(case["draft"], against, gaps=False)
        verdict, result = combined_verdict(report)
        evidence = [e.to_dict() for e in result.evidence] if result else []
        hit = evidence_hit(evidence, case) if case["expected"] in ("consistent", "conflict") else None
        details.append({
            "id": case.get("id"), "split": split_of(case), "expected": case["expected"], "verdict": verdict,
            "conflict_kind": case.get("conflict_kind") or "",
            "evidence_hit": hit, "explanation": result.explanation if result else "",
            "evidence": [f"{e['doc']}:{e['page']}" for e in evidence],
        })
    scores = check_scores(details)
    scores["seconds"] = round(time.perf_counter() - started, 2)
    return scores, details


def run_check_eval(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    against = getattr(args, "against", None) or "all"
    scores, details = evaluate_check(svc, cases, against)
    write_rows(getattr(args, "out", None), details)
    by_split = per_split(details, check_scores)
    kinds = per_kind([d for d in details if d["expected"] == "conflict"], conflict_recall, key="conflict_kind")
    if getattr(args, "json", False):
        print(json.dumps({"eval": "check", "cases_file": args.cases, "against": against,
                          "seconds": scores["seconds"], "scores": by_split, "conflict_recall_per_kind": kinds,
                          "cases": details}, ensure_ascii=False))
        return 0
    if getattr(args, "verbose", False):
        for d in details:
            mark = "ok " if d["verdict"] == d["expected"] else "NG "
            ev = {None: "", True: " evidence ok", False: " evidence MISSED"}[d["evidence_hit"]]
            got = f"expected {d['expected']}, got {d['verdict']}{ev}"
            print(f"  {mark}{d['id']} [{d['split']}]: {got}  {d['explanation'][:90]}")
    print(f"check {args.cases} against {against}: {scores['cases']} cases, {scores['seconds']}s")
    print(f"{'split':6s} {'verdict':12s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'support':>8s}")
    for split, s in by_split.items():
        for label in LABELS:
            c = s[label]
            print(f"{split:6s} {label:12s} {c['precision']:9.3f} {c['recall']:7.3f} {c['f1']:6.3f} "
                  f"{c['support']:8d}")
        print(f"{split:6s} macro-F1 {s['macro_f1']:.3f}   evidence accuracy {fmt(s['evidence_accuracy'], 5)} "
              f"({s['evidence_found']}/{s['evidence_cases']} consistent/conflict cases)")
    if kinds:
        print("conflict recall per conflict_kind (found / conflicts of that kind)")
        print_per_kind(kinds, lambda s: f"{fmt(s['recall'], 5)} ({s['found']}/{s['cases']})")
    return 0


def conflict_recall(rows: list[dict]) -> dict:
    """Of the conflicts (of one kind), how many the check called conflicts."""
    found = sum(r["verdict"] == "conflict" for r in rows)
    return {"recall": ratio(found, len(rows)), "found": found, "cases": len(rows)}
