"""`plan-assistant eval multiturn CASES.jsonl`: follow-up conversations, scored on the last turn.

The turns are asked in order with the conversation so far as history (the user's questions and the
system's own answers with the documents they cited, as the UI sends them), so an earlier wrong answer can mislead a later turn just
as it would for a user. Only the last answer is scored; "not covered" counts as wrong there because
every last turn is answerable. False-premise cases (the last turn asserts a wrong figure or year) are
also reported apart: the answer must correct the premise, not echo it.
"""

from __future__ import annotations

import argparse
import json
import time

from eval.metrics import answer_correct, contains, fmt, per_split, ratio, split_of, write_rows


def conversation_row(case: dict, answers: list[dict], seconds: float | None = None) -> dict:
    """`answers` are the `Answer.to_dict()` of every turn, in order; the last one is scored."""
    last = answers[-1]
    row = {"id": case["id"], "split": split_of(case), "false_premise": bool(case.get("false_premise")),
           "abstained": bool(last["abstained"]),
           "correct": not last["abstained"] and answer_correct(last["answer"], case["answer_keys"]),
           "cited": any(contains(c.get("text", ""), case.get("source_contains")) for c in last["citations"]),
           "turns": len(answers), "answer": last["answer"][:160]}
    if seconds is not None:
        row["seconds"] = round(seconds, 3)
    return row


def multiturn_scores(rows: list[dict]) -> dict:
    fp = [r for r in rows if r["false_premise"]]
    plain = [r for r in rows if not r["false_premise"]]
    timed = [r["seconds"] for r in rows if "seconds" in r]
    return {
        "key_fact_accuracy": ratio(sum(r["correct"] for r in rows), len(rows)),
        "false_premise_accuracy": ratio(sum(r["correct"] for r in fp), len(fp)),
        "other_accuracy": ratio(sum(r["correct"] for r in plain), len(plain)),
        "citation_support": ratio(sum(r["cited"] for r in rows), len(rows)),
        "abstained": ratio(sum(r["abstained"] for r in rows), len(rows)),
        "cases": len(rows), "false_premise": len(fp),
        "mean_seconds": ratio(sum(timed), len(timed)),  # per conversation
    }


def converse(svc, turns: list[str], history: list[dict] | None = None) -> list[dict]:
    """Ask `turns` in order, each with the conversation before it as history (`history`, when given, is
    extended with them: the conversation as the chat would send it with a further turn)."""
    history = [] if history is None else history
    answers = []
    for question in turns:
        answer = svc.ask(question, list(history)).to_dict()
        answers.append(answer)
        history += [{"role": "user", "content": question},
                    {"role": "assistant", "content": answer["answer"],
                     "documents": [c["doc"] for c in answer["citations"]]}]
    return answers


def run_multiturn_eval(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    rows = []
    for case in cases:
        t = time.perf_counter()
        answers = converse(svc, case["turns"])
        rows.append(conversation_row(case, answers, time.perf_counter() - t))
    write_rows(getattr(args, "out", None), rows)
    by_split = per_split(rows, multiturn_scores)
    if args.json:
        print(json.dumps({"eval": "multiturn", "cases_file": args.cases, "generator": svc.generator_name,
                          "scores": by_split, "cases": rows}, ensure_ascii=False))
        return 0
    if args.verbose:
        for r in rows:
            print(json.dumps({k: v for k, v in r.items() if k != "seconds"}, ensure_ascii=False))
    print(f"multiturn {args.cases}: generator {svc.generator_name}; last turn scored")
    print(f"{'split':6s} {'key-facts':>9s} {'false-premise':>13s} {'other':>6s} {'citations':>9s} "
          f"{'abstained':>9s} {'cases':>5s} {'false-premise-cases':>19s} {'s/conversation':>14s}")
    for split, s in by_split.items():
        print(f"{split:6s} {fmt(s['key_fact_accuracy'], 9)} {fmt(s['false_premise_accuracy'], 13)} "
              f"{fmt(s['other_accuracy'])} {fmt(s['citation_support'], 9)} {fmt(s['abstained'], 9)} "
              f"{s['cases']:5d} {s['false_premise']:19d} {s['mean_seconds'] or 0:14.2f}")
    return 0
