"""Conflicts made from the `tune` split's consistent draft statements: one figure changed by one unit.

For every consistent `tune` statement, each year, period, date, duration, quantity or percentage it states
becomes one new statement with that figure's last number raised (令和８年度 → 令和9年度, 29.0％ → 29.3％,
1,840円 → 1,940円), expected `conflict` with the original case's evidence. These are statements no one
wrote as cases, over the same documents, so the draft check's conflict recall can be measured on more than
the split's own conflicts without reading `check`. A raised reference date (「令和6年4月2日現在」) is
expected conflict here, though the check rightly calls a figure for another date unsupported: the recall
on this set is a floor, not a target.

    python -m eval.perturbed_cases ../shared/eval/dev_draft_check.jsonl > /tmp/perturbed.jsonl
    plan-assistant eval check /tmp/perturbed.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator

from assistant.text.facts import extract_facts
from eval.metrics import split_of

KINDS = ("year", "period", "quantity", "percent", "duration", "date")
_NUMBER = re.compile(r"[0-9０-９]+(?:[.,][0-9]+)*")
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def raised(number: str) -> str | None:
    """The number one step up in the precision it is written in: 8 → 9, 29.0 → 29.3, 1,840 → 1,940."""
    digits = number.translate(_FULLWIDTH)
    try:
        value = float(digits.replace(",", ""))
    except ValueError:
        return None
    if "," in digits and value >= 1000:
        return f"{int(value) + 100:,}"
    decimals = len(digits.partition(".")[2])
    return f"{value + 0.3:.{decimals}f}" if decimals else str(int(value) + 1)


def perturbed(case: dict) -> Iterator[dict]:
    """One conflict per figure of a consistent statement."""
    for n, fact in enumerate(f for f in extract_facts(case["draft"]) if f.kind in KINDS):
        numbers = list(_NUMBER.finditer(fact.surface))
        if not numbers or (new := raised(numbers[-1].group())) is None:
            continue
        last = numbers[-1]
        surface = fact.surface[: last.start()] + new + fact.surface[last.end():]
        draft = case["draft"][: fact.start] + surface + case["draft"][fact.end:]
        yield {"id": f"{case['id']}-p{n}", "draft": draft, "expected": "conflict",
               "evidence_contains": case["evidence_contains"], "doc": case["doc"], "conflict_kind": fact.kind,
               "split": "tune"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cases", help="dev_draft_check.jsonl")
    args = p.parse_args(argv)
    with open(args.cases, encoding="utf-8") as fh:
        cases = [json.loads(line) for line in fh if line.strip()]
    for case in cases:
        if split_of(case) == "tune" and case.get("expected") == "consistent":
            for out in perturbed(case):
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
