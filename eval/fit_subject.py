"""`plan-assistant eval fit-subject dev_draft_check.jsonl`: refit the draft check's same-subject model
(assistant/check/subject.py) on the `tune` split.

Every statement of every `tune` draft is retrieved and cut into candidates as the check does it
(`check.draft.retrieve`, `check.judge.prepare`). A candidate is positive when it comes from the
case's `doc` and its text overlaps the case's `evidence_contains` (NFKC, whitespace removed, as
eval/metrics.py `contains` compares); every candidate of an unsupported case is negative. The model
is a logistic regression (numpy, L2, classes weighted to balance, signs kept where a feature should
only help or only hurt) on standardised features.

The operating point — the probability a candidate needs to count as evidence, the lead a
contradicting candidate needs over a confirming one, and the probability that confirms a statement
without values — is chosen on 5-fold cross-validated
probabilities (folds by case, so no case is judged by a model that saw it; REPEATS fold
assignments, averaged): the point with the best macro-F1 of the drafts' verdicts, then the best
evidence accuracy (`operating_point`). Writes
`assistant/check/subject_model.json` with the weights, the choice and the figures; `check` cases are
never read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant.check.draft import retrieve, search_filters
from assistant.check.judge import Prepared, decide, prepare
from assistant.check.report import CheckReport, StatementResult, combined_verdict
from assistant.check.statements import split_statements
from assistant.check.subject import FEATURES, MODEL_PATH
from assistant.evidence import WordWeights
from eval import logistic
from eval.check_eval import LABELS, evidence_hit
from eval.metrics import norm, prf, same_doc, split_of

K = 8  # passages per search mode, as check_draft retrieves them
L2 = 1.0  # ridge penalty on the standardised weights
FOLDS = 5
REPEATS = 3  # cross-validation runs (fold assignments) the operating point is averaged over
THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.05, 0.96, 0.05))
LEADS = (0.0, 0.05, 0.1, 0.2, 0.3)
NEVER = 1.01  # a restated probability no candidate reaches: statements without values need near-verbatim evidence
# Monotone in what should only ever help (+1) or hurt (-1) a candidate; the rest are free (0).
SIGNS = {"own": 1, "with_title": 1, "with_previous": 1, "with_context": 1, "full": 1, "top_word": 1, "bigrams": 1,
         "bigrams_context": 1, "kinds_missing": -1, "rank": 1, "top_doc": 1, "doc_share": 1,
         "target_differs": -1, "place_missing": -1, "label_foreign": -1, "document_missing": -1,
         "section_foreign": -1}
_SEPARATORS = str.maketrans("", "", "|/")


def _key(text: str) -> str:
    """The matching form (eval/metrics.py `norm`) without table separators: a row is cut into
    cells joined by " / ", its passage writes them between "|"."""
    return norm(text).translate(_SEPARATORS)


def label(case: dict, prepared: Prepared) -> list[int]:
    """1 for the candidates that hold (part of) the case's evidence, else 0."""
    want = _key(case.get("evidence_contains") or "")
    out = []
    for x in prepared.candidates:
        c = x.candidate
        hit = 0
        if want and case["expected"] in ("consistent", "conflict") and same_doc(c.passage.doc_id, case.get("doc")):
            mine, passage = _key(c.text), _key(c.passage.text)
            at, where = passage.find(want), passage.find(mine)
            overlap = at >= 0 and where >= 0 and at < where + len(mine) and where < at + len(want)
            hit = int(want in mine or overlap)
        out.append(hit)
    return out


def _fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    return logistic.fit(x, y, np.array([SIGNS.get(f, 0) for f in FEATURES]), l2)


def _probabilities(x_train: np.ndarray, y_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    mean, scale = logistic.standardise(x_train)
    w, b = _fit((x_train - mean) / scale, y_train)
    return logistic.probabilities(x, w, b, mean, scale)


def cross_validated(x: np.ndarray, y: np.ndarray, group: np.ndarray, seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities: each case's candidates scored by a model that did not see the case
    (cases dealt to folds in an order given by `seed`; 0 = in file order)."""
    order = np.arange(group.max() + 1) if seed == 0 else np.random.default_rng(seed).permutation(group.max() + 1)
    folds = order[group] % FOLDS
    out = np.zeros(len(y))
    for k in range(FOLDS):
        train = folds != k
        out[~train] = _probabilities(x[train], y[train], x[~train])
    return out


Judged = list[tuple[dict, list[Prepared | StatementResult]]]


def verdicts(judged: Judged, probs: np.ndarray, threshold: float, lead: float, restated: float) -> dict:
    """Macro-F1 and evidence accuracy of the drafts judged with these probabilities and this point."""
    i = 0
    rows = []
    for case, statements in judged:
        results = []
        for prepared in statements:
            if isinstance(prepared, StatementResult):
                results.append(prepared)
                continue
            for x in prepared.candidates:
                x.probability = float(probs[i])
                i += 1
            results.append(decide(prepared, threshold, lead, restated))
        verdict, result = combined_verdict(CheckReport(results))
        evidence = [e.to_dict() for e in result.evidence] if result else []
        rows.append((case["expected"], verdict, evidence_hit(evidence, case)
                     if case["expected"] in ("consistent", "conflict") else None))
    scores = prf([e for e, _, _ in rows], [v for _, v, _ in rows], LABELS)
    hits = [h for _, _, h in rows if h is not None]
    return {"macro_f1": round(scores["macro_f1"], 3), "evidence": round(sum(hits) / max(len(hits), 1), 3),
            "conflict_precision": round(scores["conflict"]["precision"], 3),
            "conflict_recall": round(scores["conflict"]["recall"], 3)}


def operating_point(judged: Judged, runs: list[np.ndarray]) -> tuple[dict[str, float], dict]:
    """The threshold, lead and restated probability with the best macro-F1, then evidence accuracy,
    averaged over the cross-validation `runs` (fold assignments): threshold and lead together, then
    restated (it only decides statements without values), twice."""
    point = {"threshold": 0.5, "lead": 0.0, "restated": NEVER}
    best: tuple = ()
    for _ in range(2):
        grid = [{**point, "threshold": t, "lead": lead} for t in THRESHOLDS for lead in LEADS]
        for choice in (grid, [{**point, "restated": r} for r in (*THRESHOLDS, NEVER)]):
            for option in choice:
                got = _mean([verdicts(judged, probs, **option) for probs in runs])
                rank = (got["macro_f1"], got["evidence"], -option["lead"], option["restated"])
                if not best or rank > best[0]:
                    best = (rank, option, got)
            point = best[1]
    return best[1], best[2]


def _mean(scores: list[dict]) -> dict:
    return {k: round(float(np.mean([s[k] for s in scores])), 3) for k in scores[0]}


def gather(svc, cases: list[dict], k: int = K) -> tuple[Judged, np.ndarray, np.ndarray, np.ndarray]:
    """Every tune statement prepared as the check prepares it, with its candidates' features and labels."""
    words = WordWeights(svc.tokenizer, svc.term_stats)
    filters = search_filters(svc, "all", None)
    cache: dict = {}
    judged: Judged = []
    xs, ys, groups = [], [], []
    for n, case in enumerate(cases):
        statements: list[Prepared | StatementResult] = []
        for st in split_statements(case["draft"]):
            passages, ranks = retrieve(svc, st, k, filters)
            prepared = prepare(st, passages, words, cache, ranks)
            statements.append(prepared)
            if isinstance(prepared, Prepared):
                xs += [[x.features[f] for f in FEATURES] for x in prepared.candidates]
                ys += label(case, prepared)
                groups += [n] * len(prepared.candidates)
        judged.append((case, statements))
    return judged, np.array(xs, dtype=float), np.array(ys, dtype=float), np.array(groups)


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Probability that a positive candidate outranks a negative one (ties count half)."""
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def fit_subject(svc, cases: list[dict], command: str, output: Path = MODEL_PATH) -> dict[str, Any]:
    tune = [c for c in cases if split_of(c) == "tune"]
    judged, x, y, group = gather(svc, tune)
    runs = [cross_validated(x, y, group, seed) for seed in range(REPEATS)]
    p_cv = runs[0]
    point, cv = operating_point(judged, runs)
    mean, scale = logistic.standardise(x)
    w, b = _fit((x - mean) / scale, y)
    p_fit = logistic.probabilities(x, w, b, mean, scale)
    with_evidence = sum(c["expected"] in ("consistent", "conflict") for c in tune)
    found = len({int(g) for g, lab in zip(group, y) if lab})
    model: dict[str, Any] = {
        **logistic.stored(FEATURES, w, mean, scale, b),
        **point,
        "fit": {"command": command, "split": "tune", "index_documents": len(svc.documents()), "drafts": len(tune), "candidates": len(y),
                "positives": int(y.sum()), "drafts_with_a_positive": f"{found}/{with_evidence}",
                "passages_per_mode": K, "l2": L2, "folds": FOLDS, "repeats": REPEATS,
                "candidate_auc": {"cross_validated": round(auc(p_cv, y), 4), "after_fit": round(auc(p_fit, y), 4)},
                "cross_validated": cv, "on_tune_after_fit": verdicts(judged, p_fit, **point)},
    }
    output.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return model


def cmd_fit_subject(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    output = Path(args.output) if getattr(args, "output", None) else MODEL_PATH
    model = fit_subject(svc, cases, f"plan-assistant eval fit-subject {args.cases}", output)
    fit = model["fit"]
    print(f"subject model: {fit['drafts']} tune drafts, {fit['candidates']} candidates ({fit['positives']} positive, "
          f"in {fit['drafts_with_a_positive']} drafts with evidence)")
    print(f"  operating point: threshold {model['threshold']}, lead {model['lead']}, restated {model['restated']}")
    print(f"  candidate AUC: {fit['candidate_auc']}")
    print(f"  cross-validated on tune: {fit['cross_validated']}")
    print(f"  on tune after the fit: {fit['on_tune_after_fit']}")
    print(f"  weights: {model['weights']}")
    print(f"  written to {output}")
    return 0
