"""Metrics by the rule in the evaluation README: NFKC, all whitespace deleted, substring containment.

Every command scores per-case rows with one pure function and reports it per split (`per_split`), because
the figure that counts is the one on `check`: cases nothing was fitted on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from pathlib import PurePosixPath

_WS = re.compile(r"\s+")
# The loader's SUPPORTED_SUFFIXES (ingest/load.py; a test keeps them in step) and office formats a case
# writer may name. Only these are cut off: a document id may itself contain a dot ("plan_v1.2").
DOC_SUFFIXES = frozenset({".pdf", ".html", ".htm", ".txt", ".md", ".csv", ".xlsx", ".xls", ".docx"})
SPLITS = ("tune", "check")


def norm(text: str) -> str:
    return _WS.sub("", unicodedata.normalize("NFKC", text or ""))


def doc_stem(doc: str | None) -> str | None:
    """`doc` is a file stem; a file name with a document extension compares by its stem."""
    p = PurePosixPath(doc or "")
    return p.stem if doc and p.suffix.lower() in DOC_SUFFIXES else doc


def same_doc(got: str | None, want: str | None) -> bool:
    return bool(want) and doc_stem(got) == doc_stem(want)


def contains(text: str, want: str | None) -> bool:
    w = norm(want or "")
    return bool(w) and w in norm(text)


def is_hit(passage: dict, case: dict) -> bool:
    """A passage is a hit when it contains the case's source text and comes from its document."""
    return same_doc(passage.get("doc"), case.get("doc")) and contains(passage.get("text", ""),
                                                                        case.get("source_contains"))


def split_of(case: dict) -> str:
    """Cases without a split were written for tuning: counting them as `check` would flatter it."""
    return case.get("split") or "tune"


def per_split(rows: list[dict], score: Callable[[list[dict]], dict]) -> dict[str, dict]:
    """`score` over each split's rows (rows carry `split`), then over all: tune, check, others, all.

    A split without cases is left out rather than shown as zeros."""
    names = [s for s in SPLITS if any(r["split"] == s for r in rows)]
    names += sorted({r["split"] for r in rows} - set(SPLITS))
    out = {s: score([r for r in rows if r["split"] == s]) for s in names}
    out["all"] = score(rows)
    return out


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


def ratio(num: int | float, den: int) -> float | None:
    """None, not 0.0, when there is nothing to count: an empty class is no failure."""
    return num / den if den else None


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
    # over the classes that occur (expected or predicted), as scikit-learn does: a small split without,
    # say, unsupported cases is not marked down for a class it could not get right
    present = [lab for lab in labels if lab in expected or lab in predicted] or labels
    out["macro_f1"] = sum(out[lab]["f1"] for lab in present) / len(present)
    return out


def per_kind(rows: list[dict], score: Callable[[list[dict]], dict], key: str = "kind") -> dict[str, dict[str, dict]]:
    """`score` per split (as `per_split`) and, within it, per value of `key` (a case's `kind`, or a
    conflict's `conflict_kind`); rows without the key are left out."""
    kinds = sorted({r[key] for r in rows if r.get(key)})
    out: dict[str, dict[str, dict]] = {}
    for split, _ in per_split(rows, lambda rs: {}).items():
        chosen = rows if split == "all" else [r for r in rows if r["split"] == split]
        out[split] = {k: score([r for r in chosen if r.get(key) == k]) for k in kinds
                      if any(r.get(key) == k for r in chosen)}
    return out


def select_split(cases: list[dict], split: str | None) -> list[dict]:
    """The cases of one split (`--split`), or all of them."""
    return cases if not split or split == "all" else [c for c in cases if split_of(c) == split]


def write_rows(path: str | None, rows: list[dict]) -> None:
    """Per-case results as JSON lines (`--out`)."""
    if path:
        import json

        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def print_per_kind(by_split: dict[str, dict[str, dict]], cell: Callable[[dict], str]) -> None:
    """One line per kind, the splits side by side (tune, check, all)."""
    splits = list(by_split)
    kinds = sorted({k for per in by_split.values() for k in per})
    print(f"  {'kind':15s} " + " ".join(f"{s:>22s}" for s in splits))
    for kind in kinds:
        print(f"  {kind:15s} " + " ".join(f"{cell(by_split[s][kind]) if kind in by_split[s] else '-':>22s}"
                                         for s in splits))


def fmt(x: float | None, width: int = 6) -> str:
    return f"{x:{width}.3f}" if x is not None else f"{'-':>{width}s}"
