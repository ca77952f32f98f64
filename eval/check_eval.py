"""`plan-assistant eval check CASES.jsonl`: verdict P/R/F1, macro-F1 and evidence accuracy.

Each case's draft is checked as a whole (`combined_verdict`: any conflict, else any consistent,
else unsupported). Evidence accuracy counts the consistent and conflict cases whose shown evidence
includes a passage from the case's document containing `evidence_contains` (README matching rule).
"""

from __future__ import annotations

import argparse
import json
import time

from assistant.consistency import check_draft, combined_verdict
from eval.metrics import norm, prf

LABELS = ["consistent", "conflict", "unsupported"]


def evidence_hit(evidence: list[dict], case: dict) -> bool:
    want = norm(case.get("evidence_contains") or "")
    return bool(want) and any(
        e.get("doc") == case.get("doc") and want in norm(e.get("text", "")) for e in evidence
    )


def evaluate_check(svc, cases: list[dict], against: str = "all") -> tuple[dict, list[dict]]:
    expected, predicted, details, hits = [], [], [], []
    started = time.perf_counter()
    for case in cases:
        report = check_draft(svc, case["draft"], against, gaps=False)
        verdict, result = combined_verdict(report)
        evidence = [e.to_dict() for e in result.evidence] if result else []
        expected.append(case["expected"])
        predicted.append(verdict)
        hit = None
        if case["expected"] in ("consistent", "conflict"):
            hit = evidence_hit(evidence, case)
            hits.append(hit)
        details.append(
            {
                "id": case.get("id"),
                "expected": case["expected"],
                "verdict": verdict,
                "evidence_hit": hit,
                "explanation": result.explanation if result else "",
                "evidence": [f"{e['doc']}:{e['page']}" for e in evidence],
            }
        )
    scores = prf(expected, predicted, LABELS)
    scores["evidence_accuracy"] = sum(hits) / len(hits) if hits else 0.0
    scores["evidence_cases"] = len(hits)
    scores["cases"] = len(cases)
    scores["seconds"] = round(time.perf_counter() - started, 2)
    return scores, details


def run_check_eval(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    scores, details = evaluate_check(svc, cases, getattr(args, "against", None) or "all")
    if getattr(args, "json", False):
        print(json.dumps({"scores": scores, "cases": details}, ensure_ascii=False))
        return 0
    if getattr(args, "verbose", False):
        for d in details:
            mark = "ok " if d["verdict"] == d["expected"] else "NG "
            ev = (
                ""
                if d["evidence_hit"] is None
                else (" evidence ok" if d["evidence_hit"] else " evidence MISSED")
            )
            got = f"expected {d['expected']}, got {d['verdict']}{ev}"
            print(f"  {mark}{d['id']}: {got}  {d['explanation'][:90]}")
    print(f"{'verdict':12s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'support':>8s}")
    for label in LABELS:
        s = scores[label]
        print(f"{label:12s} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} {s['support']:8d}")
    print(
        f"macro-F1 {scores['macro_f1']:.3f}   evidence accuracy {scores['evidence_accuracy']:.3f} "
        f"({scores['evidence_cases']} consistent/conflict cases)   "
        f"{scores['cases']} cases, {scores['seconds']}s"
    )
    return 0
