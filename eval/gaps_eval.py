"""`plan-assistant eval gaps dev_draft_check.jsonl`: the draft check's reverse gaps (the targets of the
plans a draft relies on that it never mentions), per document and overall.

For every document with at least MIN_STATEMENTS consistent or conflict statements of the split (each
with its `evidence_contains`), the statements are sorted by id and cut in two halves: the first half
is the draft, checked with gaps against that document alone (every other document excluded); the
second half is what the draft leaves out. Measured per draft:

- recall: the share of the left-out statements whose `evidence_contains` is in the text of a gap
  listed from that document (eval/metrics.py `contains`; table separators ignored, as
  eval/fit_subject.py labels candidates);
- false gaps: the share of the draft's own statements whose evidence is listed as a gap (the draft
  mentions them: they are not gaps);
- gaps: how many gaps the draft gets;
- reachable: the recall of every target the gap search reads in the document (`find_gaps` with no
  statement), the ceiling of recall whatever decides that a target is mentioned (`drafted_targets`:
  the draft's statements whose evidence is such a target, the only ones that can be false gaps).

`tune` is reported per document; on `check` only the aggregate is reported (the figure that
estimates unseen documents; nothing is chosen on it).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

from assistant.check.draft import find_gaps
from assistant.evidence import WordWeights
from assistant.types import SearchFilters
from eval.metrics import contains, fmt, norm, ratio, same_doc, split_of, write_rows

# Two statements a half: a draft of one statement is not a draft, and the check lists gaps only for a
# document that at least 2 statements rely on (check.draft GAP_SOURCE_MIN).
MIN_STATEMENTS = 4
VERDICTS = ("consistent", "conflict")  # statements with evidence in their document
ALL_TARGETS = 10_000  # `find_gaps` limit that lists every target of a document
_SEPARATORS = str.maketrans("", "", "|/")


def gap_cases(cases: list[dict], split: str) -> dict[str, list[dict]]:
    """The consistent and conflict statements of `split` with evidence, by document (documents with
    at least MIN_STATEMENTS of them), each list sorted by id."""
    by_doc: dict[str, list[dict]] = defaultdict(list)
    for c in cases:
        if split_of(c) == split and c.get("expected") in VERDICTS and c.get("evidence_contains") and c.get("doc"):
            by_doc[c["doc"]].append(c)
    return {doc: sorted(cs, key=lambda c: str(c.get("id"))) for doc, cs in sorted(by_doc.items())
            if len(cs) >= MIN_STATEMENTS}


def halves(cases: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the draft, what it leaves out): the first half by id (the larger one when odd) and the rest."""
    cut = (len(cases) + 1) // 2
    return cases[:cut], cases[cut:]


def listed(case: dict, gaps: list[dict], doc: str) -> bool:
    """Whether the case's evidence is in the text of a gap listed from `doc`."""
    want = case.get("evidence_contains")
    key = norm(want or "").translate(_SEPARATORS)
    return any(same_doc(g.get("doc"), doc)
               and (contains(g.get("text", ""), want) or bool(key) and key in norm(g.get("text", "")).translate(_SEPARATORS))
               for g in gaps)


def draft_row(doc: str, split: str, draft: list[dict], left_out: list[dict], gaps: list[dict],
              targets: list[dict] | None = None) -> dict:
    """One draft's figures (counts kept, so that documents add up in `aggregate`)."""
    found = [c["id"] for c in left_out if listed(c, gaps, doc)]
    false = [c["id"] for c in draft if listed(c, gaps, doc)]
    row = {"doc": doc, "split": split, "draft": [c["id"] for c in draft], "left_out": [c["id"] for c in left_out],
           "found": found, "false_gaps": false, "gaps": len(gaps),
           "recall": ratio(len(found), len(left_out)), "false_gap_rate": ratio(len(false), len(draft))}
    if targets is not None:
        reachable = [c["id"] for c in left_out if listed(c, targets, doc)]
        row.update(targets=len(targets), reachable=ratio(len(reachable), len(left_out)), reachable_ids=reachable,
                   drafted_targets=[c["id"] for c in draft if listed(c, targets, doc)])
    return row


def aggregate(rows: list[dict]) -> dict:
    """Recall and false gaps over all the statements of the drafts (pooled), gaps per draft (mean)."""
    left_out = sum(len(r["left_out"]) for r in rows)
    drafted = sum(len(r["draft"]) for r in rows)
    reach = [r for r in rows if "reachable_ids" in r]
    return {
        "drafts": len(rows),
        "recall": ratio(sum(len(r["found"]) for r in rows), left_out),
        "false_gap_rate": ratio(sum(len(r["false_gaps"]) for r in rows), drafted),
        "gaps_per_draft": ratio(sum(r["gaps"] for r in rows), len(rows)),
        "reachable": ratio(sum(len(r["reachable_ids"]) for r in reach), sum(len(r["left_out"]) for r in reach))
        if reach else None,
        "left_out": left_out, "drafted": drafted,
    }


def document_targets(svc, doc: str) -> list[dict]:
    """Every target the gap search reads in `doc` (what no draft mentions at all)."""
    words = WordWeights(svc.tokenizer, svc.term_stats)
    return [g.to_dict() for g in find_gaps(svc, [], [doc], SearchFilters(doc_ids=[doc]), words, limit=ALL_TARGETS)]


def evaluate_gaps(svc, cases: list[dict], split: str = "tune", against: str = "all",
                  reachable: bool = True) -> tuple[dict, list[dict]]:
    """The aggregate over the documents of `split`, and one row per document's draft."""
    started = time.perf_counter()
    docs = [d.doc_id for d in svc.documents()]
    rows = []
    for doc, statements in gap_cases(cases, split).items():
        draft, left_out = halves(statements)
        others = [d for d in docs if not same_doc(d, doc)]
        if len(others) == len(docs):  # the document is not in the index: nothing can be listed
            row = draft_row(doc, split, draft, left_out, [], [] if reachable else None)
            rows.append({**row, "missing": True})
            continue
        report = svc.check("\n".join(c["draft"] for c in draft), against, exclude_docs=others, gaps=True)
        gaps = [g.to_dict() for g in report.gaps]
        targets = document_targets(svc, next(d for d in docs if same_doc(d, doc))) if reachable else None
        rows.append(draft_row(doc, split, draft, left_out, gaps, targets))
    scores = aggregate(rows)
    scores["seconds"] = round(time.perf_counter() - started, 2)
    return scores, rows


def run_gaps_eval(args: argparse.Namespace, svc, cases: list[dict]) -> int:
    """tune by default (per document and overall); `--split check`: the aggregate only."""
    split = args.split if getattr(args, "split", None) in ("tune", "check") else "tune"
    against = getattr(args, "against", None) or "all"
    scores, rows = evaluate_gaps(svc, cases, split, against)
    shown = rows if split == "tune" else []
    write_rows(getattr(args, "out", None), shown)
    if getattr(args, "json", False):
        print(json.dumps({"eval": "gaps", "cases_file": args.cases, "split": split, "scores": scores,
                          "documents": shown}, ensure_ascii=False))
        return 0
    print(f"gaps {args.cases} [{split}]: {scores['drafts']} drafts (documents with ≥{MIN_STATEMENTS} statements), "
          f"{scores['seconds']}s")
    print(f"{'document':42s} {'recall':>7s} {'false':>6s} {'gaps':>5s} {'reach':>6s} {'left out':>9s}")
    for r in shown:
        print(f"{r['doc'][:42]:42s} {fmt(r['recall'], 7)} {fmt(r['false_gap_rate'])} {r['gaps']:5d} "
              f"{fmt(r.get('reachable'))} {len(r['left_out']):9d}")
    print(f"{'overall':42s} {fmt(scores['recall'], 7)} {fmt(scores['false_gap_rate'])} "
          f"{fmt(scores['gaps_per_draft'], 5)} {fmt(scores['reachable'])} {scores['left_out']:9d}")
    return 0
