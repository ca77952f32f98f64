"""`plan-assistant eval answers`: key-fact accuracy, abstention accuracy, citation support."""

from __future__ import annotations

import argparse
import json
import time

from eval.metrics import answer_correct, norm


def score_answers(cases: list[dict], answers: dict[str, dict]) -> tuple[dict, list[dict]]:
    answerable = [c for c in cases if c.get("answer_keys")]
    unanswerable = [c for c in cases if not c.get("answer_keys")]
    rows = []
    correct = supported = abstained_right = 0
    for c in cases:
        a = answers[c["id"]]
        if c.get("answer_keys"):
            ok = not a["abstained"] and answer_correct(a["answer"], c["answer_keys"])
            cited = any(norm(c["source_contains"]) in norm(x.get("text", "")) for x in a["citations"])
            correct += ok
            supported += cited
            rows.append({"id": c["id"], "correct": ok, "cited": cited, "answer": a["answer"][:160]})
        else:
            ok = bool(a["abstained"])
            abstained_right += ok
            rows.append({"id": c["id"], "abstained": ok, "answer": a["answer"][:160]})
    scores = {
        "key_fact_accuracy": correct / max(len(answerable), 1),
        "abstention_accuracy": abstained_right / max(len(unanswerable), 1),
        "citation_support": supported / max(len(answerable), 1),
        "answerable": len(answerable), "unanswerable": len(unanswerable),
    }
    return scores, rows


def run_answer_eval(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    if getattr(args, "generator", None):
        svc.settings.generator = args.generator
    answers, seconds = {}, []
    for c in cases:
        t = time.perf_counter()
        answers[c["id"]] = svc.ask(c["question"]).to_dict()
        seconds.append(time.perf_counter() - t)
    scores, rows = score_answers(cases, answers)
    scores["generator"] = svc.generator_name
    scores["mean_seconds"] = sum(seconds) / max(len(seconds), 1)
    if args.verbose:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
    if args.json:
        print(json.dumps(scores, ensure_ascii=False))
    else:
        print(f"generator {scores['generator']}: key-fact accuracy {scores['key_fact_accuracy']:.3f} "
              f"({scores['answerable']} answerable), abstention accuracy {scores['abstention_accuracy']:.3f} "
              f"({scores['unanswerable']} unanswerable), citation support {scores['citation_support']:.3f}, "
              f"{scores['mean_seconds']:.1f} s/answer")
    return 0
