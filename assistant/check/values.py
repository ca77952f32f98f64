"""The comparable values of a statement or a sentence: facts (`text.facts`) plus masses in grams
and bare numbers with their counter (kind "number": 85手続, 1.38), roles, and the departments in
charge; and the subject words that remain once the values are taken out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.evidence import WordWeights
from assistant.text.facts import KANJI, KATAKANA, Fact, extract_facts
from assistant.text.numerals import normalize_with_offsets, parse_number
from assistant.text.roles import Role, departments, extract_roles
from assistant.text.wordlists import VALUE_FILLERS

_KANJI, _KATA = KANJI, KATAKANA
_MASS = re.compile(
    r"(?<![\d.,])(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)(?P<u>kg|mg|g|キログラム|グラム)(?![A-Za-z])"
)
_MASS_FACTOR = {"kg": 1000.0, "キログラム": 1000.0, "g": 1.0, "グラム": 1.0, "mg": 0.001}
_BARE = re.compile(
    rf"(?<![\d.,A-Za-z])(?P<num>\d+(?:,\d{{3}})*(?:\.\d+)?)(?P<u>[{_KANJI}{_KATA}A-Za-z]{{0,4}})"
)
_CLAUSE_BREAK = re.compile(r"[。、，,()（）「」『』:：/／|｜・]")
_PER_YEAR = re.compile(r"(?:毎年度?|年間|年平均|1年当たり|1年あたり)\s*(?:約|で|に)?\s*$")
STRONG = {"period", "duration", "quantity", "percent", "points", "number", "role"}
WEAK = {"year", "date"}
PER_YEAR_LOOKBACK = 6  # characters before a figure in which 毎年度 / 年間 make it a yearly rate
SUBJECT_LOOKBACK = 20  # characters before a bare number searched for what it counts


@dataclass
class Values:
    facts: list[Fact]
    roles: list[Role]
    departments: list[str]  # departments named as responsible (担当・所管・中心)
    text: str = ""

    def per_year(self, f: Fact) -> bool:
        """「毎年度600人」「年間600件」: a yearly rate, not a total."""
        return bool(_PER_YEAR.search(self.text[max(0, f.start - PER_YEAR_LOOKBACK) : f.start]))

    def surfaces(self) -> list[str]:
        return [f.surface for f in self.facts] + [r.holder for r in self.roles] + self.departments


def extra_facts(text: str, facts: list[Fact]) -> list[Fact]:
    """Masses (g, kg) in grams, tonnes too, and bare numbers with their counter (85手続, 1.38)."""
    t, offsets = normalize_with_offsets(text)
    taken = bytearray(len(t))
    spans = sorted((f.start, f.end) for f in facts)
    for i, o in enumerate(offsets):
        if any(a <= o < b for a, b in spans):
            taken[i] = 1

    out: list[Fact] = []
    for f in facts:
        if f.kind == "quantity" and f.unit == "t":
            assert not isinstance(f.value, tuple)
            out.append(Fact("quantity", float(f.value) * 1e6, "g", f.surface, f.start, f.end, f.subject))
        else:
            out.append(f)
    for pattern in (_MASS, _BARE):
        for m in pattern.finditer(t):
            s, e = m.span()
            if taken.find(1, s, e) >= 0 or (value := parse_number(m["num"])) is None:
                continue
            if pattern is _BARE and (s == 0 or t[s - 1] in "・:：●○◇◆■□"):
                continue  # a heading or list number (「２ 温室効果ガス…」, 「番号: 2」), not a figure
            if pattern is _MASS:
                kind, unit, value = "quantity", "g", value * _MASS_FACTOR[m["u"]]
            else:
                kind, unit = "number", m["u"]
                if unit.endswith("当") and t.startswith("たり", e):  # 1日当たり: the counter is 日
                    unit, e = unit[:-1], e - 1
            window = "".join("\x00" if taken[i] else t[i] for i in range(max(0, s - SUBJECT_LOOKBACK), s))
            clause = _CLAUSE_BREAK.split(window)[-1].replace("\x00", "")
            subject = re.sub(rf"^[^{_KANJI}{_KATA}A-Za-z]+|[^{_KANJI}{_KATA}A-Za-z0-9]+$", "", clause)
            a, b = offsets[s], offsets[e - 1] + 1
            out.append(Fact(kind, value, unit, text[a:b], a, b, subject))
            taken[s:e] = b"\x01" * (e - s)
    return sorted(out, key=lambda f: f.start)


def values_of(text: str, responsible_only: bool = True) -> Values:
    """The comparable values of a statement or sentence."""
    facts = extra_facts(text, extract_facts(text))
    norm = normalize_with_offsets(text)[0]
    return Values(facts, extract_roles(text), departments(norm, responsible_only), text)



def subject_tokens(words: WordWeights, text: str, values: Values) -> frozenset[str]:
    """The statement's content words that are not part of its values (年度, 地区, 高齢者 …)."""
    value_tokens: set[str] = set()
    blanked = text
    for surface in sorted(values.surfaces(), key=len, reverse=True):
        value_tokens |= words.tokens(surface)
        blanked = blanked.replace(surface, "　")
    # a unit that also names the subject stays: 「脱炭素先行地域は…47地域」 keeps 地域
    value_tokens -= words.tokens(blanked)
    # one-character pieces (舎 of 本庁舎, 率 of 高齢化率) are fragments of a longer word or generic
    return frozenset(
        t
        for t in words.tokens(text) - value_tokens - VALUE_FILLERS
        if len(t) > 1 and not re.fullmatch(r"[\d.,]+", t)
    )

