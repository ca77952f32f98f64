"""`plan-assistant eval fit-quote dev_qa.jsonl`: refit which sentences an answer quotes, on the `tune` split.

Every answerable Japanese `tune` question is gathered once as the product gathers it, with the hand order
(the quote model off); its best `assistant.quote.CANDIDATES` sentences are described by
`assistant.quote.FEATURES` and labelled by the evaluation's own matching: a sentence is right when it
holds an alternative of one of the question's key-fact groups.
A logistic regression (eval/logistic.py: classes balanced, L2, signed weights) is fitted on those
sentences. The L2 penalty is chosen, and the gain reported, by 5-fold cross-validation over questions
(every sentence of a question in the same fold): each held-out question's extractive answer is quoted in
the order of a model that did not see it and scored like `eval answers` (every key group present),
beside the hand order on the same questions. Writes `assistant/quote_model.json` with those figures;
`check` cases are never read.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer import AnswerEngine, Evidence, by_probability, is_english
from assistant.quote import FEATURES, MODEL_PATH, SIGNS
from eval import logistic
from eval.metrics import answer_correct, norm, split_of

FOLDS = 5
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def label(sentence: str, keys: list[list[str]]) -> int:
    """1 when the sentence holds an alternative of one of the key groups (compared like `answer_correct`)."""
    text = norm(sentence)
    return int(any(any(norm(alt) in text for alt in group if norm(alt)) for group in keys))


@dataclass
class Question:
    """One tune question as gathered in the hand order: its candidates described, their features and labels."""
    case: dict
    ev: Evidence
    covered: bool
    described: list[tuple[dict[str, float], int, str]]
    x: np.ndarray
    y: np.ndarray


def gather(engine: AnswerEngine, cases: list[dict]) -> list[Question]:
    """Per question: its evidence, covered or not, its candidates' features and labels."""
    model, engine.quote_model = engine.quote_model, None  # features of the hand order, whatever is installed
    try:
        out = []
        for case in cases:
            ev = engine.gather(case["question"], None, None)
            described = engine.quote_features(ev)
            x = np.array([[f[name] for name in FEATURES] for f, _, _ in described]).reshape(-1, len(FEATURES))
            y = np.array([label(s, case["answer_keys"]) for _, _, s in described])
            out.append(Question(case, ev, engine.covered(ev), described, x, y))
        return out
    finally:
        engine.quote_model = model


def _fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mean, scale = logistic.standardise(x)
    w, b = logistic.fit((x - mean) / scale, y, np.array([SIGNS[f] for f in FEATURES]), l2)
    return w, b, mean, scale


def _answer_right(engine: AnswerEngine, q: Question, probabilities: np.ndarray | None) -> bool:
    """The extractive answer with the candidates ordered by `probabilities` (None: the hand order)."""
    if not q.covered:
        return False
    q.ev.quoted = (list(q.ev.ranked_sentences) if probabilities is None
                   else by_probability(q.ev, q.described, list(probabilities)))
    return answer_correct(engine.extractive(q.ev).text, q.case["answer_keys"])


def _probabilities(q: Question, w: np.ndarray, b: float, mean: np.ndarray, scale: np.ndarray) -> np.ndarray | None:
    return logistic.probabilities(q.x, w, b, mean, scale) if len(q.x) else None


def cross_validated(engine: AnswerEngine, data: list[Question], l2: float) -> int:
    """Answers right when each question's sentences are ordered by a model fitted on the other folds."""
    right = 0
    for k in range(FOLDS):
        train = [q for j, q in enumerate(data) if j % FOLDS != k and len(q.y)]
        w, b, mean, scale = _fit(np.vstack([q.x for q in train]), np.concatenate([q.y for q in train]), l2)
        right += sum(_answer_right(engine, q, _probabilities(q, w, b, mean, scale))
                     for j, q in enumerate(data) if j % FOLDS == k)
    return right


def fit_quote(svc, cases: list[dict], command: str, output: Path = MODEL_PATH) -> dict:
    engine = svc.engine
    tune = [c for c in cases if split_of(c) == "tune" and c.get("answer_keys") and not is_english(c["question"])]
    data = gather(engine, tune)
    hand = sum(_answer_right(engine, q, None) for q in data)
    by_l2 = {l2: cross_validated(engine, data, l2) for l2 in L2_GRID}
    best = max(L2_GRID, key=lambda l2: (by_l2[l2], l2))  # ties: the stronger penalty
    x = np.vstack([q.x for q in data if len(q.y)])
    y = np.concatenate([q.y for q in data if len(q.y)])
    w, b, mean, scale = _fit(x, y, best)
    within = sum(_answer_right(engine, q, _probabilities(q, w, b, mean, scale)) for q in data)
    model = {**logistic.stored(FEATURES, w, mean, scale, b), "fit": {
        "command": command, "questions": len(tune), "sentences": int(len(y)), "right_sentences": int(y.sum()),
        "l2": best, "answers_right_hand_order": hand,
        "answers_right_cv": {str(k): v for k, v in by_l2.items()}, "answers_right_fitted": within}}
    output.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return model


def cmd_fit_quote(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    model = fit_quote(svc, cases, f"plan-assistant eval fit-quote {args.cases}")
    fit = model["fit"]
    print(f"quote model: {fit['questions']} answerable Japanese tune questions, {fit['sentences']} candidate "
          f"sentences ({fit['right_sentences']} holding a key fact)")
    print(f"  extractive answers with every key fact, hand order: {fit['answers_right_hand_order']}")
    for l2, right in fit["answers_right_cv"].items():
        print(f"  5-fold CV, L2 {l2}: {right}")
    print(f"  chosen L2 {fit['l2']}; refitted on all of tune: {fit['answers_right_fitted']} (in-sample)")
    print("  weights: " + ", ".join(f"{k} {v:+.2f}" for k, v in model["weights"].items()))
    print(f"written to {MODEL_PATH}")
    return 0
