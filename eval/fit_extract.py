"""`plan-assistant eval fit-extract dev_qa.jsonl`: how much an extractive answer quotes, on `tune`.

Every answerable `tune` question is gathered once as the product gathers it (covered or not decided by
the fitted model); then each setting of (ANSWER_CHARS, EXTRACT_RELATIVE, MOST_SENTENCES) quotes its
sentences and the answers are scored by the evaluation rule (every key group present). With
`--conversations dev_multiturn.jsonl` the last turns of the `tune` follow-up conversations count too (their
earlier turns answered once, with the current setting; a premise the answer corrects, or "not covered", is
the same answer whatever the setting). More quoted text
carries more key facts but makes longer answers, so the choice is the setting with the most correct answers
among those whose answers are at most MEAN_CHARS_BUDGET characters long on average (ties: the current setting,
for a tie is no reason to change, then the shorter). It
prints the grid and the choice; the chosen values are set as constants at the top of assistant/answer.py
with the figures, and `check` cases are never read.
"""

from __future__ import annotations

import argparse
import itertools

from assistant.answer import ANSWER_CHARS, EXTRACT_RELATIVE, MOST_SENTENCES, premise_conflict
from eval.metrics import answer_correct, split_of
from eval.multiturn_eval import converse

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
    follow_ups = _last_turns(svc, getattr(args, "conversations", None))
    grid = []
    for budget, relative, most in itertools.product(BUDGETS, RELATIVE, MOST):
        correct, chars, later = 0, 0, 0
        for c, ev, covered in gathered:
            if not covered:
                continue  # "not covered": no key facts, whatever the setting
            answer = engine.extractive(ev, budget, relative, most)
            correct += answer_correct(answer.text, c["answer_keys"])
            chars += len(answer.text)
        for c, ev, fixed in follow_ups:
            later += fixed if fixed is not None else answer_correct(engine.extractive(ev, budget, relative, most).text,
                                                                    c["answer_keys"])
        grid.append({"budget": budget, "relative": relative, "most": most, "correct": correct, "follow_ups": later,
                     "mean_chars": round(chars / max(1, len(gathered)), 1)})
    print(f"extractive answers: {len(tune)} answerable tune questions, {len(follow_ups)} tune follow-ups; "
          f"key facts by setting")
    for g in grid:
        print(f"  {g['budget']:4d} characters, relative {g['relative']:.1f}, at most {g['most']} sentences: "
              f"{g['correct']:3d} + {g['follow_ups']:2d} correct, {g['mean_chars']:6.1f} characters an answer")
    within = [g for g in grid if g["mean_chars"] <= MEAN_CHARS_BUDGET]
    current = (ANSWER_CHARS, EXTRACT_RELATIVE, MOST_SENTENCES)
    best = max(within, key=lambda g: (g["correct"] + g["follow_ups"], (g["budget"], g["relative"], g["most"]) == current,
                                      -g["mean_chars"]))
    print(f"chosen (≤ {MEAN_CHARS_BUDGET} characters on average): ANSWER_CHARS = {best['budget']}, "
          f"EXTRACT_RELATIVE = {best['relative']}, MOST_SENTENCES = {best['most']} "
          f"({best['correct']} of {len(tune)} questions and {best['follow_ups']} of {len(follow_ups)} follow-ups "
          f"correct, {best['mean_chars']} characters)")
    return 0


def _last_turns(svc, path: str | None) -> list[tuple[dict, object, bool | None]]:
    """The tune conversations' last turns, gathered after their earlier turns: (case, evidence, the verdict when
    no setting changes the answer — not covered, or a premise corrected — else None)."""
    if not path:
        return []
    # the command line module reads case files (imported on use: it imports this module)
    from eval.cli import read_cases

    out = []
    for c in read_cases(path):
        if split_of(c) != "tune":
            continue
        *earlier, last = c["turns"]
        history: list[dict] = []
        converse(svc, earlier, history)
        ev = svc.engine.gather(last, history, None)
        fixed: bool | None = None
        if not svc.engine.covered(ev):
            fixed = False
        elif (correction := premise_conflict(last, ev)) is not None:
            fixed = answer_correct(correction.text, c["answer_keys"])
        out.append((c, ev, fixed))
    return out
