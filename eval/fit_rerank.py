"""`plan-assistant eval fit-rerank dev_qa.jsonl`: refit the reranker (assistant/rerank.py) on `tune`.

Every answerable, Japanese `tune` question is searched as the product searches it; its best
`MAX_DEPTH` fused candidates get `Reranker.features`, and a candidate is relevant when it is a hit
by the evaluation rule (its document, and the case's `source_contains` in its text). The model is
a linear scorer fitted with a pairwise logistic loss (each relevant candidate against each other
candidate of its question, every question weighing the same) on standardised features, by
gradient descent in numpy.

The depth (how many fused candidates are re-ordered) and the ridge penalty are chosen by 5-fold
cross-validation over questions, on MRR@10 of the re-ordered lists, so that the figures are not
flattered by the fit; the fused order (with `rows_per_table`) on the same questions is printed
beside them. Writes `assistant/rerank_model.json` with the weights, the choice and the figures;
`check` cases are never read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import is_english
from assistant.rerank import FEATURES, MODEL_PATH, Reranker
from assistant.retrieve import spread_rows, to_passage
from eval import logistic
from eval.metrics import is_hit, retrieval_scores, split_of

MAX_DEPTH = 60  # candidates whose features are computed (the largest depth tried)
DEPTHS = (10, 20, 30, 40, 60)
L2S = (0.01, 0.1, 1.0, 10.0)
FOLDS = 5
STEPS, RATE = 2000, 0.2
# Monotone in what should only ever help (+1) or hurt (-1) a passage: more of the question in it, the
# asked kind of answer present; a place the question names missing. The rest are free (0). Without
# the signs a rare feature picks up the accidents of a few tune questions (a missing place scored +).
SIGNS = {"cover": 1, "top_word": 1, "bigrams": 1, "asked_type": 1, "asked_unit": 1, "stated_numbers": 1,
         "place_missing": -1}


def _pairs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Differences relevant − other for one question's candidates (empty when there is no pair)."""
    pos, neg = x[y == 1], x[y == 0]
    if not len(pos) or not len(neg):
        return np.zeros((0, x.shape[1]))
    return (pos[:, None, :] - neg[None, :, :]).reshape(-1, x.shape[1])


def fit(questions: list[tuple[np.ndarray, np.ndarray]], l2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights over standardised features, with the standardisation (mean, scale)."""
    allx = np.vstack([x for x, _ in questions])
    mean, scale = allx.mean(axis=0), allx.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    diffs, weights = [], []
    for x, y in questions:
        d = _pairs((x - mean) / scale, y)
        if len(d):
            diffs.append(d)
            weights.append(np.full(len(d), 1.0 / len(d)))
    w = np.zeros(allx.shape[1])
    sign = np.array([SIGNS.get(f, 0) for f in FEATURES])
    if not diffs:
        return w, mean, scale
    d, sw = np.vstack(diffs), np.concatenate(weights)
    sw = sw / sw.sum()
    for _ in range(STEPS):
        z = d @ w
        g = -(sw * (1 / (1 + np.exp(z)))) @ d + l2 * w / len(questions)
        w -= RATE * g
        w = np.where(sign * w < 0, 0.0, w)
    return w, mean, scale


def _ranked_hits(x: np.ndarray, y: np.ndarray, w: np.ndarray, mean: np.ndarray, scale: np.ndarray,
                 depth: int) -> list[bool]:
    head = min(depth, len(y))
    scores = ((x[:head] - mean) / scale) @ w
    order = list(np.argsort(-scores, kind="stable")) + list(range(head, len(y)))
    return [bool(y[i]) for i in order[:10]]


def cross_validate(questions: list[tuple[np.ndarray, np.ndarray]], depth: int, l2: float) -> dict[str, float]:
    folds = np.arange(len(questions)) % FOLDS
    ranked: list[list[bool]] = [[] for _ in questions]
    for k in range(FOLDS):
        train = [(x[:depth], y[:depth]) for q, (x, y) in enumerate(questions) if folds[q] != k]
        w, mean, scale = fit(train, l2)
        for q, (x, y) in enumerate(questions):
            if folds[q] == k:
                ranked[q] = _ranked_hits(x, y, w, mean, scale, depth)
    return retrieval_scores(ranked)


def _rounded(scores: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in scores.items()}


def cmd_fit_rerank(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    retriever = svc.retriever
    reranker = Reranker(svc.tokenizer, svc.term_stats, None, issuers=svc.registry.issuers)  # features only
    tune = [c for c in cases if split_of(c) == "tune" and c.get("answer_keys") and c.get("source_contains")
            and c.get("doc") and not is_english(c["question"])]
    questions: list[tuple[np.ndarray, np.ndarray]] = []
    baseline: list[list[bool]] = []
    for case in tune:
        fused = retriever.candidates(case["question"])
        relevant = [is_hit(to_passage(c.hit).to_dict(), case) for c in fused]
        order = spread_rows([c.hit for c in fused], retriever.rows_per_table)
        baseline.append([is_hit(to_passage(h).to_dict(), case) for h in order[:10]])
        rows = reranker.features(case["question"], fused[:MAX_DEPTH])
        if rows is None:
            continue
        x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=float)
        questions.append((x, np.array(relevant[:MAX_DEPTH], dtype=float)))
    base = _rounded(retrieval_scores(baseline))
    found = sum(bool(y.any()) for _, y in questions)
    print(f"reranker: {len(tune)} tune questions, {found} with a relevant passage in the best {MAX_DEPTH} fused")
    print(f"  fused order (rows_per_table={retriever.rows_per_table}): {base}")
    grid = []
    for depth in DEPTHS:
        for l2 in L2S:
            cv = _rounded(cross_validate(questions, depth, l2))
            grid.append({"depth": depth, "l2": l2, **cv})
            print(f"  depth {depth:3d} l2 {l2:6.2f}: cross-validated {cv}")
    # chosen by cross-validated hit@5, then MRR: hit@5 is the bar retrieval has yet to reach (issue: ≥ 0.9);
    # every grid point is far above the MRR bar (0.75), and MRR differences between them are within noise
    best = max(grid, key=lambda g: (g["hit@5"], g["mrr@10"], -g["depth"]))
    depth, l2 = int(best["depth"]), float(best["l2"])
    w, mean, scale = fit([(x[:depth], y[:depth]) for x, y in questions], l2)
    on_tune = _rounded(retrieval_scores([_ranked_hits(x, y, w, mean, scale, depth) for x, y in questions]))
    cross_validated = {k: v for k, v in best.items() if k not in ("depth", "l2")}
    model: dict[str, Any] = {
        **logistic.stored(FEATURES, w, mean, scale),
        "depth": depth,
        "fit": {"command": f"plan-assistant eval fit-rerank {args.cases}", "split": "tune",
                "questions": len(questions), "with_relevant_candidate": found, "l2": l2, "folds": FOLDS,
                "signs": SIGNS,
                "fused_order": base, "cross_validated": cross_validated,
                "on_tune_after_fit": on_tune, "grid": grid},
    }
    out = Path(args.output) if getattr(args, "output", None) else MODEL_PATH
    out.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"  chosen: depth {depth}, l2 {l2}: cross-validated {cross_validated}")
    print(f"  weights: {model['weights']}")
    print(f"  written to {out}")
    return 0
