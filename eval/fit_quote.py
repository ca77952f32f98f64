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
from pathlib import Path

import numpy as np

from assistant.answer import AnswerEngine, Evidence, is_english
from assistant.quote import FEATURES, MODEL_PATH, SIGNS
from eval import logistic
from eval.metrics import answer_correct, norm, split_of

FOLDS = 5
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def label(sentence: str, keys: list[list[str]]) -> int:
    """1 when the sentence holds an alternative of one of the key groups (compared like `answer_correct`)."""
    text = norm(sentence)
    return int(any(any(norm(alt) in text for alt in group if norm(alt)) for group in keys))


def gather(engine: AnswerEngine, cases: list[dict]) -> list[tuple[dict, Evidence, bool, np.ndarray, np.ndarray]]:
    """Per question: its evidence, covered or not, its candidates' features and labels."""
    model, engine.quote_model = engine.quote_model, None  # features of the hand order, whatever is installed
    try:
        out = []
        for case in cases:
            ev = engine.gather(case["question"], None, None)
            described = engine.quote_features(ev)
            x = np.array([[f[name] for name in FEATURES] for f, _, _ in described]).reshape(-1, len(FEATURES))
            y = np.array([label(s, case["answer_keys"]) for _, _, s in described])
            out.append((case, ev, engine.covered(ev), x, y))
        return out
    finally:
        engine.quote_model = model


def _fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mean, scale = logistic.standardise(x)
    w, b = logistic.fit((x - mean) / scale, y, np.array([SIGNS[f] for f in FEATURES]), l2)
    return w, b, mean, scale


def _answer_right(engine: AnswerEngine, case: dict, ev: Evidence, covered: bool, order: np.ndarray | None) -> bool:
    """The extractive answer with the candidates in the order of `order`'s scores (None: the hand order)."""
    if not covered:
        return False
    if order is not None:
        described = engine.quote_features(ev)
        ranked = sorted(((float(p), i, s) for p, (_, i, s) in zip(order, described)), key=lambda t: -t[0])
        ev.quoted = ranked + [(0.0, i, s) for _, i, s in ev.ranked_sentences[len(described):]]
    else:
        ev.quoted = list(ev.ranked_sentences)
    return answer_correct(engine.extractive(ev).text, case["answer_keys"])


def cross_validated(engine: AnswerEngine, data: list, l2: float) -> int:
    """Answers right when each question's sentences are ordered by a model fitted on the other folds."""
    right = 0
    for k in range(FOLDS):
        train = [d for j, d in enumerate(data) if j % FOLDS != k and len(d[4])]
        x = np.vstack([d[3] for d in train])
        y = np.concatenate([d[4] for d in train])
        w, b, mean, scale = _fit(x, y, l2)
        for j, (case, ev, covered, xq, _) in enumerate(data):
            if j % FOLDS == k:
                probs = logistic.probabilities(xq, w, b, mean, scale) if len(xq) else None
                right += _answer_right(engine, case, ev, covered, probs)
    return right


def fit_quote(svc, cases: list[dict], command: str, output: Path = MODEL_PATH) -> dict:
    engine = svc.engine
    tune = [c for c in cases if split_of(c) == "tune" and c.get("answer_keys") and not is_english(c["question"])]
    data = gather(engine, tune)
    hand = sum(_answer_right(engine, c, ev, cov, None) for c, ev, cov, _, _ in data)
    by_l2 = {l2: cross_validated(engine, data, l2) for l2 in L2_GRID}
    best = max(L2_GRID, key=lambda l2: (by_l2[l2], l2))  # ties: the stronger penalty
    x = np.vstack([d[3] for d in data if len(d[4])])
    y = np.concatenate([d[4] for d in data if len(d[4])])
    w, b, mean, scale = _fit(x, y, best)
    within = sum(_answer_right(engine, c, ev, cov, logistic.probabilities(xq, w, b, mean, scale) if len(xq) else None)
                 for c, ev, cov, xq, _ in data)
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
