"""`plan-assistant eval answers`: key-fact accuracy, citation support, false abstentions, abstention accuracy.

A "not covered" on an answerable question is counted on its own (false abstention) as well as failing
key-fact accuracy: it is the cautious failure, and the abstention threshold trades it against guesses.
"""

from __future__ import annotations

import argparse
import json
import time

from eval.metrics import (
    answer_correct,
    contains,
    fmt,
    per_kind,
    per_split,
    print_per_kind,
    ratio,
    split_of,
    write_rows,
)


def answer_row(case: dict, answer: dict, seconds: float | None = None) -> dict:
    """One case's outcome; `answer` is `Answer.to_dict()`."""
    row = {"id": case["id"], "split": split_of(case), "kind": case.get("kind", ""),
           "answerable": bool(case.get("answer_keys")),
           "abstained": bool(answer["abstained"]), "answer": answer["answer"][:160]}
    if row["answerable"]:
        row["correct"] = not row["abstained"] and answer_correct(answer["answer"], case["answer_keys"])
        want = case.get("source_contains")
        row["cited"] = any(contains(x.get("text", ""), want) for x in answer["citations"])
    if seconds is not None:
        row["seconds"] = round(seconds, 3)
    return row


def answer_scores(rows: list[dict]) -> dict:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    timed = [r["seconds"] for r in rows if "seconds" in r]
    return {
        "key_fact_accuracy": ratio(sum(r["correct"] for r in ans), len(ans)),
        "citation_support": ratio(sum(r["cited"] for r in ans), len(ans)),
        "false_abstention": ratio(sum(r["abstained"] for r in ans), len(ans)),
        "abstention_accuracy": ratio(sum(r["abstained"] for r in una), len(una)),
        "answerable": len(ans), "unanswerable": len(una),
        "mean_seconds": ratio(sum(timed), len(timed)),
    }


def score_answers(cases: list[dict], answers: dict[str, dict]) -> tuple[dict, list[dict]]:
    """Scores over all the cases (and the rows `per_split` regroups); `answers` maps case id to answer."""
    rows = [answer_row(c, answers[c["id"]]) for c in cases]
    return answer_scores(rows), rows


def ask_all(svc, cases: list[dict]) -> list[dict]:
    rows = []
    for c in cases:
        t = time.perf_counter()
        answer = svc.ask(c["question"]).to_dict()
        rows.append(answer_row(c, answer, time.perf_counter() - t))
    return rows


def print_answer_table(by_split: dict[str, dict]) -> None:
    print(f"{'split':6s} {'key-facts':>9s} {'citations':>9s} {'false-abstain':>13s} {'abstain-acc':>11s} "
          f"{'answerable':>10s} {'unanswerable':>12s} {'s/answer':>8s}")
    for split, s in by_split.items():
        print(f"{split:6s} {fmt(s['key_fact_accuracy'], 9)} {fmt(s['citation_support'], 9)} "
              f"{fmt(s['false_abstention'], 13)} {fmt(s['abstention_accuracy'], 11)} {s['answerable']:10d} "
              f"{s['unanswerable']:12d} {s['mean_seconds'] or 0:8.2f}")


def covered_confusion(rows: list[dict]) -> dict[str, int]:
    """Covered or not: what the system said against what the case is."""
    return {"answerable_answered": sum(r["answerable"] and not r["abstained"] for r in rows),
            "answerable_declined": sum(r["answerable"] and r["abstained"] for r in rows),
            "unanswerable_answered": sum(not r["answerable"] and not r["abstained"] for r in rows),
            "unanswerable_declined": sum(not r["answerable"] and r["abstained"] for r in rows)}


def run_answer_eval(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    rows = ask_all(svc, cases)
    write_rows(getattr(args, "out", None), rows)
    by_split = per_split(rows, answer_scores)
    kinds = per_kind(rows, answer_scores)
    confusion = per_split(rows, covered_confusion)
    if args.json:
        print(json.dumps({"eval": "answers", "cases_file": args.cases, "generator": svc.generator_name,
                          "scores": by_split, "per_kind": kinds, "covered_confusion": confusion, "cases": rows},
                         ensure_ascii=False))
        return 0
    if args.verbose:
        for r in rows:
            print(json.dumps({k: v for k, v in r.items() if k != "seconds"}, ensure_ascii=False))
    print(f"answers {args.cases}: generator {svc.generator_name}")
    print_answer_table(by_split)
    print("covered or not (rows: the case; columns: what was said)")
    print(f"  {'split':6s} {'':12s} {'answered':>9s} {'not covered':>12s}")
    for split, c in confusion.items():
        print(f"  {split:6s} {'answerable':12s} {c['answerable_answered']:9d} {c['answerable_declined']:12d}")
        print(f"  {'':6s} {'unanswerable':12s} {c['unanswerable_answered']:9d} {c['unanswerable_declined']:12d}")
    print("per kind: key facts (answerable) or rightly declined (unanswerable)")
    print_per_kind(kinds, lambda s: f"{fmt(s['key_fact_accuracy'] if s['answerable'] else s['abstention_accuracy'], 5)}"
                                    f" ({s['answerable'] or s['unanswerable']})")
    return 0
