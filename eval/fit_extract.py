"""`plan-assistant eval fit-extract dev_qa.jsonl`: how much an extractive answer quotes, on `tune`.

Every answerable `tune` question is gathered once as the product gathers it (covered or not decided by
the fitted model); then each setting of (ANSWER_CHARS, EXTRACT_RELATIVE, MOST_SENTENCES) quotes its
sentences and the answers are scored by the evaluation rule (every key group present). More quoted text
carries more key facts but makes longer answers, so the choice is the setting with the most correct answers
among those whose answers are at most MEAN_CHARS_BUDGET characters long on average (ties: shorter). It
prints the grid and the choice; the chosen values are set as constants at the top of assistant/answer.py
with the figures, and `check` cases are never read.
"""

from __future__ import annotations

import argparse
import itertools

from eval.metrics import answer_correct, split_of

BUDGETS = (150, 200, 250, 300, 350, 400)
RELATIVE = (0.4, 0.5, 0.6, 0.7, 0.8)
MOST = (3, 4, 6, 8)
# a resident's answer: no longer on average than the former setting's (at most three sentences: 260
# characters an answer over the answerable tune questions, "not covered" counted as empty)
MEAN_CHARS_BUDGET = 260


def cmd_fit_extract(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    engine = svc.engine
    tune = [c for c in cases if split_of(c) == "tune" and c.get("answer_keys")]
    gathered = []
    for c in tune:
        ev = engine.gather(c["question"], None, None)
        gathered.append((c, ev, engine.covered(ev)))
    grid = []
    for budget, relative, most in itertools.product(BUDGETS, RELATIVE, MOST):
        correct, chars = 0, 0
        for c, ev, covered in gathered:
            if not covered:
                continue  # "not covered": no key facts, whatever the setting
            answer = engine.extractive(ev, budget, relative, most)
            correct += answer_correct(answer.text, c["answer_keys"])
            chars += len(answer.text)
        grid.append({"budget": budget, "relative": relative, "most": most, "correct": correct,
                     "mean_chars": round(chars / max(1, len(gathered)), 1)})
    print(f"extractive answers: {len(tune)} answerable tune questions; key facts by setting")
    for g in grid:
        print(f"  {g['budget']:4d} characters, relative {g['relative']:.1f}, at most {g['most']} sentences: "
              f"{g['correct']:3d} correct, {g['mean_chars']:6.1f} characters an answer")
    within = [g for g in grid if g["mean_chars"] <= MEAN_CHARS_BUDGET]
    best = max(within, key=lambda g: (g["correct"], -g["mean_chars"]))
    print(f"chosen (≤ {MEAN_CHARS_BUDGET} characters on average): ANSWER_CHARS = {best['budget']}, "
          f"EXTRACT_RELATIVE = {best['relative']}, MOST_SENTENCES = {best['most']} "
          f"({best['correct']} of {len(tune)} correct, {best['mean_chars']} characters)")
    return 0
