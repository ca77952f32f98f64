"""A statement's values against a sentence's: which are the same, which differ, which are not
stated there. Figures are compared only with figures that measure the same thing (same kind and
unit, a subject the statement names, and the same role: a target with a target, a figure as it
stands with one, a base year (2013年度比) with a base year), one to one; a figure the statement
gives as approximate (約12.5万人) is the same at the precision it is written in. A sentence that restates the statement must also name the same
actor in each slot (`differing_actors`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from assistant.check.values import STRONG, Values
from assistant.text.facts import (
    KANJI,
    KATAKANA,
    Fact,
    commensurable,
    common_values,
    compare_facts,
    compatible,
    values_equal,
)
from assistant.text.numerals import plain
from assistant.text.roles import Role, compare_roles, holders_equal
from assistant.text.wordlists import SUBJECT_NOISE

_KANJI, _KATA = KANJI, KATAKANA
_APPROX_BEFORE = re.compile(r"(?:約|およそ|概ね|おおむね|ほぼ)\s*$")
_APPROX_AFTER = re.compile(r"^\s*(?:程度|ほど|余り|あまり|強|弱|前後)")
_FIGURE = re.compile(r"\d+(?:,\d{3})*(?:\.(?P<dec>\d+))?")
APPROX_KINDS = {"quantity", "percent", "points", "number"}
APPROX_REACH = 4  # characters around a figure searched for 約 / 程度
FOREIGN_SUBJECT_SHARE = 0.5  # a figure's subject shares fewer of its bigrams with the statement: another subject
_OF_A_PERIOD = re.compile(r"期間")  # a statement about a period (計画期間, 対象期間), not a deadline
UNSTATED_DISTANCE = 100  # the distance of a period end that one side leaves open
EVENT_REACH = 10  # characters after a date or year that say what happened then


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
    same_event_differ: int = 0  # differing dates or years said of the same event (「…に改訂」 both sides)

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
            # some years agree and one differs: the same statement with another year when a figure agrees
            # too (2030年度に46%削減 vs 2031年度に46%削減) or when both say the differing date of the same event
            # (「2021年10月に改訂」 vs 「令和3年9月改訂」), else another reference time
            return "conflict" if self.strong_same or self.same_event_differ else "neutral"
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
    x, y = common_values(a, b)  # candidates are compatible (`_candidates`)
    return abs(x - y) / max(abs(x), abs(y), 1e-9)


_RANGE = re.compile(r"から|より|[~〜～\-‐―ー–—]")


def _part(fact: Fact, label: str) -> str:
    """The end (終期) or start (始期) of a period's surface, else the whole surface."""
    pieces = _RANGE.split(fact.surface)
    if len(pieces) == 2 and label.endswith(("の終期", "の始期")):
        piece = pieces[1] if label.endswith("の終期") else pieces[0]
        return re.sub(r"末?まで$", "", piece.strip())
    return fact.surface


def rounded_equal(f: Fact, g: Fact, text: str) -> bool:
    """The same value, or — for a figure `text` gives as approximate (約12.5万人, 3割程度) — the same at
    the precision it is written in (124,820人 is 約12.5万人; 31.2% is 約3割)."""
    if values_equal(f, g):
        return True
    if f.kind not in APPROX_KINDS or not commensurable(f, g) or isinstance(f.value, tuple) or isinstance(g.value, tuple):
        return False
    if not (_APPROX_BEFORE.search(text[max(0, f.start - APPROX_REACH) : f.start])
            or _APPROX_AFTER.match(text[f.end : f.end + APPROX_REACH])):
        return False
    m = _FIGURE.search(f.surface.translate(_FULLWIDTH))
    digits = m[0].replace(",", "") if m else ""
    written = float(digits) if digits else 0.0
    if not m or not written:
        return False
    # the last digit written: 12.5 → 0.1, 300 → 100 (in the figure's own unit, then scaled to its value)
    step = 10.0 ** -len(m["dec"]) if m["dec"] else 10.0 ** (len(digits) - len(digits.rstrip("0")))
    bf, bg = common_values(f, g)
    return abs(bf - bg) <= step / 2 * abs(bf / written) + 1e-9


_FULLWIDTH = str.maketrans("０１２３４５６７８９，．", "0123456789,.")


def _event_bigrams(fact: Fact, text: str) -> set[str]:
    """The character bigrams of the words right after a date or year: what happened then
    (「2021年10月に一部を改訂した」 → 一部, 改訂; 「令和3年9月:一部改訂」 → 一部, 部改, 改訂)."""
    after = text[fact.end : fact.end + EVENT_REACH] if 0 <= fact.end <= len(text) else ""
    if after.startswith("の"):
        return set()  # 「2030年度の排出量」: the year of a measure (another reference time), not of an event
    after = re.split(r"[。、,，;；]", after, maxsplit=1)[0]
    words = [w for w in re.findall(rf"[{_KANJI}{_KATA}]{{2,}}", after) if not _GENERIC_WORDS.fullmatch(w)]
    return {w[i : i + 2] for w in words for i in range(len(w) - 1)}


def same_event(f: Fact, g: Fact, f_text: str, g_text: str) -> bool:
    """Two dates or years that both sides say of the same event: the words right after them share a word."""
    return bool(_event_bigrams(f, f_text) & _event_bigrams(g, g_text))


def _linked(f: Fact, g: Fact) -> bool:
    """Both figures are said of a named subject, and the subjects share a word (facts.py's test)."""
    return bool(f.subject and g.subject) and bool(compare_facts([f], [g]))


def _candidates(f: Fact, draft: Values, sentence: Values, draft_plain: str) -> list[Fact]:
    """The sentence's figures that measure what `f` measures."""
    paired = {id(b) for _, b, _ in compare_facts([f], sentence.facts)}
    out = []
    for g in sentence.facts:
        if not compatible(f, g):
            continue
        if f.kind == "period" and _open_ends(f) != _open_ends(g):
            seen = _as_stated(g, f, draft_plain)
            if seen is None:
                continue  # 「令和３年度～令和12年度」 and 「2050年まで」 are not the same kind of statement
            g = seen
        if draft.per_year(f) != sentence.per_year(g):
            continue  # 毎年度600人 is a rate, 12,000人 a total
        if f.kind in APPROX_KINDS and None not in (sf := draft.stance(f), sg := sentence.stance(g)) and sf != sg:
            continue  # a target (2035年度までに40%削減) is not compared with a figure as it stands (15.1%削減)
        if f.kind == "year" and draft.is_base(f) != sentence.is_base(g):
            continue  # a base year (2013年度比) is compared with a base year, not with a target year
        # facts.py pairs figures whose subjects share a word; a figure whose subject the statement
        # names too (「設置地区数９地区」 for 「…８地区に設置」) is the same measure as well
        if id(g) in paired or (f.kind in STRONG | {"date"} and not _foreign_subject(g, draft_plain)):
            out.append(g)
    return out


def _other_year(f: Fact, g: Fact, draft: Values, sentence: Values) -> bool:
    """Both figures are stated for a year (`Values.anchor`), and the years differ."""
    af, ag = draft.anchor(f), sentence.anchor(g)
    return af is not None and ag is not None and af != ag


def _as_stated(g: Fact, f: Fact, draft_plain: str) -> Fact | None:
    """A closed period `g` seen by the end that the draft's half-open period `f` states, when the draft
    speaks of a period (「令和8年度までを計画期間とする」 against 「令和4年度~令和8年度」); else None."""
    stated = _open_ends(f)
    if not _OF_A_PERIOD.search(draft_plain) or any(_open_ends(g)) or all(stated) or not isinstance(g.value, tuple):
        return None
    start, end = g.value
    return replace(g, value=(None if stated[0] else start, None if stated[1] else end))


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
    ordinals = [f for f in draft.facts if f.kind == "ordinal"]
    # a sentence's edition the draft names too (「第一次計画から30年」 in a draft about the sixth) is no other edition
    theirs = [g for g in sentence.facts if g.kind == "ordinal" and not any(values_equal(f, g) for f in ordinals)]
    for f in ordinals:
        pairs = compare_facts([f], theirs)
        c.ordinal_differs |= bool(pairs) and not any(eq for _, _, eq in pairs)
    candidates = {id(f): _candidates(f, draft, sentence, draft_plain) for f in facts}
    # a differing figure stated for another year is another measure, not the counterpart (「2027年度に78%」 is
    # not contradicted by 「2030年度に80%」); an equal one stated for another year still pairs, and the year differs
    differing = {id(f): [g for g in candidates[id(f)] if not _other_year(f, g, draft, sentence)] for f in facts}
    used: set[int] = set()
    equal: dict[int, Fact] = {}
    for f in facts:
        match = next((g for g in candidates[id(f)] if id(g) not in used and rounded_equal(f, g, draft.text)), None)
        if match is not None:
            equal[id(f)] = match
            used.add(id(match))
    # the rest are paired with the closest differing figure: an edited value stays near the original
    options = sorted(
        (
            (_distance(f, g), i, j)
            for i, f in enumerate(facts)
            if id(f) not in equal
            for j, g in enumerate(differing[id(f)])
            if id(g) not in used
        ),
        key=lambda x: x[0],
    )
    differs: dict[int, Fact] = {}
    for _, i, j in options:
        f, g = facts[i], differing[id(facts[i])][j]
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
            c.same_event_differ += not strong and same_event(f, other, draft.text, sentence.text)
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
    # an office holder who acts in the statement (「副村長がとりまとめ」) where the sentence names only others
    # (「総務課長は…まとめ」); one the sentence names anywhere (「会長は村長をもって充てる」) is not in question
    others = [e for e in sentence.heads if e not in plain(draft.text)] if draft.heads and sentence.heads else []
    for h in draft.heads if others else []:
        if h not in plain(sentence.text) and not any(holders_equal(h, e) for e in sentence.heads):
            c.differ.append(("担当・役割", h, "、".join(others)))
            c.differ_keys.append(("head", h))
            c.strong_differ += 1
    return c



# who acts, in any municipality's wording: departments (課・係・室・局・部・担当), bodies (委員会・審議会・
# 協議会・会議・部会・事務局), office holders (…長, 委員, 知事)
_ACTOR_END = re.compile(r"(?:[課係室局部]|担当|所管|事務局|会|会議|委員|長|知事)$")
# a name: kanji, katakana, letters, digits, and kana that are not particles (健康づくり課, 指名する委員)
_NAME_RUN = re.compile(rf"[{_KANJI}{_KATA}A-Za-z0-9ぁ-ゖ]+")
_PARTICLES = re.compile(r"[はがをにへとでのもやか]")
SLOT_CONTEXT = 3  # characters after an actor that mark its slot in both texts (「へ報告」「と連携」「がその」)
_HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))
_TOPIC = ("は", "には")  # 「部会長は、会…」: a topic, not a slot; the roles say who holds it (text.roles)


def _names(text: str) -> list[tuple[int, int]]:
    """The spans of the names in `text`: runs of name characters cut at particles."""
    spans = []
    for m in _NAME_RUN.finditer(text):
        start = m.start()
        for p in _PARTICLES.finditer(text, m.start(), m.end()):
            if p.start() > start:
                spans.append((start, p.start()))
            start = p.end()
        if start < m.end():
            spans.append((start, m.end()))
    # a name starts with a kanji, katakana, letter or digit: leading kana end the clause before it
    # (「…委員長とする企画調整委員会」 → 企画調整委員会, not 「する企画調整委員会」)
    spans = [(start + len(text[start:end]) - len(text[start:end].lstrip(_HIRAGANA)), end) for start, end in spans]
    return [(start, end) for start, end in spans if start < end]


def differing_actors(draft_plain: str, sentence_plain: str) -> list[tuple[str, str]]:
    """(draft's actor, sentence's actor) where a sentence names another actor in the same slot — the
    words after the actor are the same: 「地域福祉課へ報告し」 ⇔ 「健康づくり課へ報告し」, 「副町長が会務を代理
    する」 ⇔ 「会長の指名する委員が会務を代理する」."""
    out: list[tuple[str, str]] = []
    theirs_spans = {end: (start, end) for start, end in _names(sentence_plain)}
    for start, end in _names(draft_plain):
        mine, slot = draft_plain[start:end], draft_plain[end : end + SLOT_CONTEXT]
        if len(slot) < SLOT_CONTEXT or not _ACTOR_END.search(mine) or mine in sentence_plain or slot.startswith(_TOPIC):
            continue
        at = sentence_plain.find(slot)
        while at >= 0:
            span = theirs_spans.get(at)
            theirs = sentence_plain[span[0] : span[1]] if span else ""
            if theirs and _ACTOR_END.search(theirs) and theirs not in draft_plain and not holders_equal(mine, theirs):
                out.append((mine, theirs))
                break
            at = sentence_plain.find(slot, at + 1)
    return out


def compare_actors(c: Comparison, draft_plain: str, sentence_plain: str) -> None:
    """Add to `c` the actors a restating sentence names differently (`differing_actors`)."""
    for mine, theirs in differing_actors(draft_plain, sentence_plain):
        key = ("actor", mine)
        if key not in c.differ_keys:
            c.differ.append(("担当・役割", mine, theirs))
            c.differ_keys.append(key)
            c.strong_differ += 1


def _first_per_role(pairs: list[tuple[Role, Role, bool]]) -> list[tuple[Role, Role, bool]]:
    best: dict[tuple[str, str], tuple[Role, Role, bool]] = {}
    for ra, rb, eq in pairs:
        key = (ra.role, ra.holder)
        if key not in best or (eq and not best[key][2]):
            best[key] = (ra, rb, eq)
    return list(best.values())


