"""A statement's values against a sentence's: which are the same, which differ, which are not
stated there. Figures are compared only with figures that measure the same thing (same kind and
unit, a subject the statement names), one to one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.check.values import STRONG, Values
from assistant.text.facts import KANJI, KATAKANA, Fact, compare_facts, compatible, values_equal
from assistant.text.roles import Role, compare_roles, holders_equal
from assistant.text.wordlists import SUBJECT_NOISE

_KANJI, _KATA = KANJI, KATAKANA
FOREIGN_SUBJECT_SHARE = 0.5  # a figure's subject shares fewer of its bigrams with the statement: another subject
UNSTATED_DISTANCE = 100  # the distance of a period end that one side leaves open


@dataclass
class Comparison:
    same: list[tuple[str, str]] = field(default_factory=list)  # (draft value, evidence value)
    differ: list[tuple[str, str, str]] = field(default_factory=list)  # (label, draft value, evidence value)
    same_keys: set = field(default_factory=set)  # which of the draft's values are confirmed
    differ_keys: list = field(default_factory=list)  # … and contradicted, parallel to `differ`
    missing: list[str] = field(default_factory=list)
    strong_same: int = 0
    strong_differ: int = 0
    weak_same: int = 0
    weak_differ: int = 0
    strong_missing: int = 0
    ordinal_differs: bool = False
    linked: int = 0  # pairs whose figures are said of the same named subject

    @property
    def outcome(self) -> str:
        """support | conflict | neutral (no values to compare, or a different reference time)."""
        if self.ordinal_differs:
            return "neutral"  # 第２期 vs 第３期: another edition, not a contradiction
        if self.strong_differ:
            if self.weak_differ and not self.strong_same:
                return "neutral"  # another year's figure: 令和４年度の108万人 vs 令和10年度の120万人
            return "conflict"
        if self.weak_differ and not self.weak_same:
            # 令和10年度に120万人 vs 令和12年度に120万人; or a statement of dates alone (運行開始の年月),
            # which `_contradicted` accepts only from a sentence that says nearly the same thing
            return "conflict" if self.strong_same or not self.strong_missing else "neutral"
        if self.weak_differ:
            return "neutral"
        if self.strong_same or (self.weak_same and not self.strong_missing):
            return "support"
        return "neutral"


_KIND_JA = {
    "year": "年",
    "period": "期間",
    "date": "日付",
    "duration": "期間の長さ",
    "quantity": "数量",
    "percent": "割合",
    "points": "ポイント",
    "number": "数値",
}


_MEASURE_NOUN = re.compile(r"(?:期間|率|数|量|額|人口|割合|目標|費|件数|人数|面積|時間|年数|比)$")


def _label(fact: Fact, other: Fact) -> str:
    """What differs, in words: the measure named before the figure (計画期間), else its kind (割合)."""
    runs = [
        r
        for subject in (fact.subject, other.subject)
        for r in re.findall(rf"[{_KANJI}{_KATA}A-Za-z]{{2,}}", subject)
        if _MEASURE_NOUN.search(r)
    ]
    base = max(runs, key=len) if runs else _KIND_JA.get(fact.kind, "数値")
    if fact.kind == "period" and isinstance(fact.value, tuple) and isinstance(other.value, tuple):
        (a1, b1), (a2, b2) = fact.value[:2], other.value[:2]
        if a1 == a2 and b1 != b2:
            return f"{base}の終期"
        if b1 == b2 and a1 != a2:
            return f"{base}の始期"
    return base


_GENERIC_WORDS = re.compile(SUBJECT_NOISE)


def _foreign_subject(fact: Fact, statement_plain: str) -> bool:
    """The figure is said of something the statement never names (「西山地区の４小学校区」)."""
    subject = _GENERIC_WORDS.sub("・", fact.subject)
    grams = {
        r[i : i + 2] for r in re.findall(rf"[{_KANJI}{_KATA}A-Za-z]+", subject) for i in range(len(r) - 1)
    }
    return bool(grams) and sum(g in statement_plain for g in grams) < FOREIGN_SUBJECT_SHARE * len(grams)


def _distance(a: Fact, b: Fact) -> float:
    """How far apart two comparable values are (relative for amounts, in years for periods)."""
    if isinstance(a.value, tuple) or isinstance(b.value, tuple):
        va = a.value if isinstance(a.value, tuple) else (a.value,)
        vb = b.value if isinstance(b.value, tuple) else (b.value,)
        return float(sum(abs(x - y) if x is not None and y is not None else UNSTATED_DISTANCE for x, y in zip(va, vb)))
    x, y = float(a.value), float(b.value)
    return abs(x - y) / max(abs(x), abs(y), 1e-9)


_RANGE = re.compile(r"から|より|[~〜～\-‐―ー–—]")


def _part(fact: Fact, label: str) -> str:
    """The end (終期) or start (始期) of a period's surface, else the whole surface."""
    pieces = _RANGE.split(fact.surface)
    if len(pieces) == 2 and label.endswith(("の終期", "の始期")):
        piece = pieces[1] if label.endswith("の終期") else pieces[0]
        return re.sub(r"末?まで$", "", piece.strip())
    return fact.surface


def _linked(f: Fact, g: Fact) -> bool:
    """Both figures are said of a named subject, and the subjects share a word (facts.py's test)."""
    return bool(f.subject and g.subject) and bool(compare_facts([f], [g]))


def _candidates(f: Fact, draft: Values, sentence: Values, draft_plain: str) -> list[Fact]:
    """The sentence's figures that measure what `f` measures."""
    paired = {id(b) for _, b, _ in compare_facts([f], sentence.facts)}
    out = []
    for g in sentence.facts:
        if not compatible(f, g) or (f.kind == "period" and _open_ends(f) != _open_ends(g)):
            continue  # 「令和３年度～令和12年度」 and 「2050年まで」 are not the same kind of statement
        if draft.per_year(f) != sentence.per_year(g):
            continue  # 毎年度600人 is a rate, 12,000人 a total
        # facts.py pairs figures whose subjects share a word; a figure whose subject the statement
        # names too (「設置地区数９地区」 for 「…８地区に設置」) is the same measure as well
        if id(g) in paired or (f.kind in STRONG | {"date"} and not _foreign_subject(g, draft_plain)):
            out.append(g)
    return out


def _open_ends(f: Fact) -> tuple[bool, bool]:
    value = f.value if isinstance(f.value, tuple) else (None, None)
    return value[0] is None, value[1] is None


def compare_values(
    draft: Values, sentence: Values, passage: Values | None = None, draft_plain: str = ""
) -> Comparison:
    """Each value of the draft against the sentence's: the same, different, or not stated there.
    Figures are matched one to one, equal pairs first: a sentence's 8,420人 that confirms the
    draft's 8,420人 is not also the counterpart of the draft's 12,000人."""
    c = Comparison()
    facts = [f for f in draft.facts if f.kind != "ordinal"]
    for f in draft.facts:
        if f.kind == "ordinal":
            pairs = compare_facts([f], [g for g in sentence.facts if g.kind == "ordinal"])
            c.ordinal_differs |= bool(pairs) and not any(eq for _, _, eq in pairs)
    candidates = {id(f): _candidates(f, draft, sentence, draft_plain) for f in facts}
    used: set[int] = set()
    equal: dict[int, Fact] = {}
    for f in facts:
        match = next((g for g in candidates[id(f)] if id(g) not in used and values_equal(f, g)), None)
        if match is not None:
            equal[id(f)] = match
            used.add(id(match))
    # the rest are paired with the closest differing figure: an edited value stays near the original
    options = sorted(
        (
            (_distance(f, g), i, j)
            for i, f in enumerate(facts)
            if id(f) not in equal
            for j, g in enumerate(candidates[id(f)])
            if id(g) not in used
        ),
        key=lambda x: x[0],
    )
    differs: dict[int, Fact] = {}
    for _, i, j in options:
        f, g = facts[i], candidates[id(facts[i])][j]
        if id(f) not in differs and id(g) not in used:
            differs[id(f)] = g
            used.add(id(g))
    key: tuple
    for f in facts:
        strong = f.kind in STRONG
        key = ("fact", f.start, f.kind)
        other = equal.get(id(f)) or differs.get(id(f))
        c.linked += other is not None and _linked(f, other)
        if id(f) in equal:
            c.same_keys.add(key)
            c.same.append((f.surface, equal[id(f)].surface))
            c.strong_same += strong
            c.weak_same += not strong
            continue
        if id(f) in differs:
            other = differs[id(f)]
            label = _label(f, other)
            c.differ.append((label, _part(f, label), _part(other, label)))
            c.differ_keys.append(key)
            c.strong_differ += strong
            c.weak_differ += not strong
        elif passage is not None and any(eq for _, _, eq in compare_facts([f], passage.facts)):
            c.same_keys.add(key)
            c.same.append((f.surface, f.surface))
            c.weak_same += 1  # stated elsewhere in the passage: confirms, never decides alone
        else:
            c.missing.append(f.surface)
            c.strong_missing += strong
    for ra, rb, eq in _first_per_role(compare_roles(draft.roles, sentence.roles)):
        key = ("role", ra.role, ra.holder)
        if eq:
            c.same_keys.add(key)
            c.same.append((ra.holder, rb.holder))
            c.strong_same += 1
        else:
            c.differ.append((ra.role, ra.holder, rb.holder))
            c.differ_keys.append(key)
            c.strong_differ += 1
    evidence_depts = sentence.departments
    for d in draft.departments:
        if not evidence_depts:
            c.missing.append(d)
        elif any(holders_equal(d, e) for e in evidence_depts):
            c.same_keys.add(("dept", d))
            c.same.append((d, next(e for e in evidence_depts if holders_equal(d, e))))
            c.strong_same += 1
        else:
            c.differ.append(("担当部署", d, "、".join(evidence_depts)))
            c.differ_keys.append(("dept", d))
            c.strong_differ += 1
    return c



def _first_per_role(pairs: list[tuple[Role, Role, bool]]) -> list[tuple[Role, Role, bool]]:
    best: dict[tuple[str, str], tuple[Role, Role, bool]] = {}
    for ra, rb, eq in pairs:
        key = (ra.role, ra.holder)
        if key not in best or (eq and not best[key][2]):
            best[key] = (ra, rb, eq)
    return list(best.values())


