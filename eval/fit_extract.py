"""`plan-assistant eval fit-extract dev_qa.jsonl`: how many sentences an extractive answer quotes, on `tune`.

Every answerable `tune` question is gathered once as the product gathers it (covered or not decided by
the fitted model); then each setting of (MAX_SENTENCES, SENTENCES_PER_PART, EXTRACT_RELATIVE) quotes its
sentences and the answers are scored by the evaluation rule (every key group present). More sentences
carry more key facts but make longer answers, so the choice is the setting with the most correct answers
among those quoting at most MEAN_SENTENCES_BUDGET sentences on average (ties: fewer sentences). It
prints the grid and the choice; the chosen values are set as constants at the top of assistant/answer.py
with the figures, and `check` cases are never read.
"""

from __future__ import annotations

import argparse
import itertools

from assistant.answer import sentences_for
from eval.metrics import answer_correct, split_of

BASES = (1, 2, 3, 4)
PER_PART = (0, 1)
RELATIVE = (0.4, 0.5, 0.6, 0.7, 0.8)
MEAN_SENTENCES_BUDGET = 2.5  # a resident's answer: a few quoted sentences, not a page


def cmd_fit_extract(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    engine = svc.engine
    tune = [c for c in cases if split_of(c) == "tune" and c.get("answer_keys")]
    gathered = []
    for c in tune:
        ev = engine.gather(c["question"], None, None)
        gathered.append((c, ev, engine.covered(ev)))
    grid = []
    for base, per_part, relative in itertools.product(BASES, PER_PART, RELATIVE):
        correct, quoted = 0, 0
        for c, ev, covered in gathered:
            if not covered:
                continue  # "not covered": no key facts, whatever the setting
            answer = engine.extractive(ev, sentences_for(c["question"], base, per_part), relative)
            correct += answer_correct(answer.text, c["answer_keys"])
            quoted += len(answer.citations and [x for x in answer.text.splitlines() if "[" in x])
        grid.append({"max_sentences": base, "per_part": per_part, "relative": relative, "correct": correct,
                     "mean_sentences": round(quoted / max(1, len(gathered)), 2)})
    print(f"extractive answers: {len(tune)} answerable tune questions; key facts by setting")
    for g in grid:
        print(f"  max {g['max_sentences']} +{g['per_part']}/part relative {g['relative']:.1f}: "
              f"{g['correct']:3d} correct, {g['mean_sentences']:.2f} sentences an answer")
    within = [g for g in grid if g["mean_sentences"] <= MEAN_SENTENCES_BUDGET]
    best = max(within, key=lambda g: (g["correct"], -g["mean_sentences"]))
    print(f"chosen (≤ {MEAN_SENTENCES_BUDGET} sentences on average): MAX_SENTENCES = {best['max_sentences']}, "
          f"SENTENCES_PER_PART = {best['per_part']}, EXTRACT_RELATIVE = {best['relative']} "
          f"({best['correct']} of {len(tune)} correct, {best['mean_sentences']} sentences)")
    return 0
