"""Metrics by the rule in the evaluation README: NFKC, all whitespace deleted, substring containment."""

from __future__ import annotations

import math
import re
import unicodedata

_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    return _WS.sub("", unicodedata.normalize("NFKC", text or ""))


def is_hit(passage: dict, case: dict) -> bool:
    """A passage is a hit when it contains the case's source text and comes from its document."""
    return passage.get("doc") == case.get("doc") and norm(case["source_contains"]) in norm(passage.get("text", ""))


def retrieval_scores(ranked_hits: list[list[bool]]) -> dict[str, float]:
    """`ranked_hits[i][r]` says whether the r-th passage for case i is relevant."""
    n = len(ranked_hits) or 1
    hit1 = sum(any(h[:1]) for h in ranked_hits) / n
    hit5 = sum(any(h[:5]) for h in ranked_hits) / n
    mrr = sum(next((1 / (r + 1) for r, x in enumerate(h[:10]) if x), 0.0) for h in ranked_hits) / n
    ndcg = 0.0
    for h in ranked_hits:
        dcg = sum(1 / math.log2(r + 2) for r, x in enumerate(h[:10]) if x)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(10, sum(h[:10])))) or 1.0
        ndcg += dcg / ideal if any(h[:10]) else 0.0
    return {"hit@1": hit1, "hit@5": hit5, "mrr@10": mrr, "ndcg@10": ndcg / n, "cases": len(ranked_hits)}


def answer_correct(answer: str, keys: list[list[str]]) -> bool:
    a = norm(answer)
    return all(any(norm(alt) in a for alt in group) for group in keys)


def prf(expected: list[str], predicted: list[str], labels: list[str]) -> dict:
    out: dict = {}
    for lab in labels:
        tp = sum(e == lab and p == lab for e, p in zip(expected, predicted))
        fp = sum(e != lab and p == lab for e, p in zip(expected, predicted))
        fn = sum(e == lab and p != lab for e, p in zip(expected, predicted))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    out["macro_f1"] = sum(out[lab]["f1"] for lab in labels) / len(labels)
    return out
