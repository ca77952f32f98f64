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

With `--restated`, every `tune` statement (of any verdict) is written again in other notation — western
years as era years or the reverse, every digit full-width — and expected to keep its verdict: values are
compared as values, so the notation must change nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator

from assistant.text.facts import extract_facts
from assistant.text.numerals import ERA_START, era_to_western, parse_era_year
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


_WESTERN_YEAR = re.compile(r"(?<![0-9０-９])((?:19|20)[0-9]{2})(年)")
_ERA_YEAR = re.compile(r"(令和|平成)([0-9]{1,2}|元)(年)")
_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def _to_era(m: re.Match) -> str:
    year = int(m.group(1))
    era = "令和" if year >= ERA_START["令和"] else "平成"
    n = year - ERA_START[era] + 1
    return f"{era}{'元' if n == 1 else n}{m.group(2)}"


def _to_western(m: re.Match) -> str:
    return f"{era_to_western(m.group(1), parse_era_year(m.group(2)) or 1)}{m.group(3)}"


def restated(case: dict) -> Iterator[dict]:
    """The same statement in other notation, expected consistent as the original: western years as era
    years (2024年度 → 令和6年度) or era years as western ones, and every digit full-width (１,８４０円).
    A check that reads values, not strings, gives the original's verdict."""
    text = case["draft"]
    years = _ERA_YEAR.sub(_to_western, text) if _ERA_YEAR.search(text) else _WESTERN_YEAR.sub(_to_era, text)
    rewrites = [("r0", years), ("r1", text.translate(_WIDE))]
    for suffix, draft in rewrites:
        if draft != text:
            yield {**case, "id": f"{case['id']}-{suffix}", "draft": draft, "split": "tune"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cases", help="dev_draft_check.jsonl")
    p.add_argument("--restated", action="store_true",
                   help="instead: every tune statement restated in other notation (era / western years, "
                        "full-width digits), expected as the original")
    args = p.parse_args(argv)
    with open(args.cases, encoding="utf-8") as fh:
        cases = [json.loads(line) for line in fh if line.strip()]
    for case in cases:
        if split_of(case) != "tune":
            continue
        if args.restated:
            made = restated(case)
        elif case.get("expected") == "consistent":
            made = perturbed(case)
        else:
            continue
        for out in made:
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
