"""English questions made from the `tune` split's Japanese questions, to fit what English questions use.

The development cases hold 12 English `tune` questions, too few to choose the dictionary translation's
settings or the English "covered" threshold on, and none of them unanswerable. This module renders the
`tune` split's other questions (answerable and unanswerable) into English with the bundled local model and
keeps the renderings that are English and not a refusal; each keeps its case's expected source and key facts
(`translated_from` holds the Japanese). The renderings are imperfect — a 1.5B model mistakes some years and
names — so figures on them are a floor for comparing settings, not a measure of the product. The written
file is `eval/english_tune.jsonl`; `check` cases are never read.

    python -m eval.english_cases translate ../shared/eval/dev_qa.jsonl eval/english_tune.jsonl
    python -m eval.english_cases threshold ../shared/eval/dev_qa.jsonl eval/english_tune.jsonl --data-dir DIR

`threshold` prints the English "covered" threshold on the best sentence's dense similarity
(`assistant.answer.ENGLISH_DENSE_THRESHOLD`), chosen by the covered model's own rule
(`eval.fit_covered.operating_point`: the most unanswerable questions rightly declined for at most 10% of
answerable ones wrongly declined).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from assistant.answer import is_english
from eval.metrics import split_of

SYSTEM = "You translate Japanese questions into natural English. Reply with the English question only."
_REFUSAL = re.compile(r"^(?:I'm sorry|I am sorry|I apologi[sz]e|I cannot|I can't|Sorry)", re.IGNORECASE)


def to_render(cases: list[dict]) -> list[dict]:
    """The tune questions to render: Japanese, answerable or not."""
    return [c for c in cases if split_of(c) == "tune" and not is_english(c["question"])]


def rendered(case: dict, english: str) -> dict | None:
    """The English case made from `case`, or None when the rendering is not usable English."""
    lines = english.strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not text or not is_english(text) or _REFUSAL.match(text):
        return None
    kind = "unanswerable" if not case.get("answer_keys") else "crosslingual"
    return dict(case, id=f"{case['id']}-en", question=text, kind=kind, translated_from=case["question"])


def translate(cases_path: Path, out: Path, data_dir: Path) -> int:
    from assistant.config import Settings
    from assistant.llm import make_generator

    generator = make_generator(Settings(data_dir=data_dir, generator="local"))
    assert generator is not None
    cases = [json.loads(line) for line in cases_path.open(encoding="utf-8") if line.strip()]
    kept = 0
    with out.open("w", encoding="utf-8") as f:
        for case in to_render(cases):
            english = generator.chat([{"role": "system", "content": SYSTEM},
                                      {"role": "user", "content": case["question"]}], max_tokens=80)
            row = rendered(case, english)
            if row is not None:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                kept += 1
    print(f"{kept} English renderings written to {out}", file=sys.stderr)
    return 0


def threshold(cases_path: Path, english_path: Path, data_dir: Path) -> int:
    import numpy as np

    from assistant.config import Settings
    from assistant.service import PlanAssistant
    from eval.fit_covered import operating_point, rates

    cases = [json.loads(line) for path in (cases_path, english_path)
             for line in path.open(encoding="utf-8") if line.strip()]
    cases = [c for c in cases if split_of(c) == "tune" and is_english(c["question"])]
    with PlanAssistant(Settings(data_dir=data_dir, generator="extractive")) as svc:
        strength = np.array([svc.engine.gather(c["question"], None, None).strength for c in cases])
    y = np.array([1.0 if c.get("answer_keys") else 0.0 for c in cases])
    t = operating_point(strength, y)
    print(f"{len(cases)} English tune questions ({int(y.sum())} answerable): threshold {t:.3f} {rates(strength, y, t)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("translate", "threshold"))
    parser.add_argument("cases", type=Path, help="dev_qa.jsonl")
    parser.add_argument("english", type=Path, help="the English renderings (written by translate)")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    if args.what == "translate":
        return translate(args.cases, args.english, args.data_dir)
    return threshold(args.cases, args.english, args.data_dir)


if __name__ == "__main__":
    raise SystemExit(main())
