"""The comparable values of a statement or a sentence: facts (`text.facts`) plus masses in grams
and bare numbers with their counter (kind "number": 85手続, 1.38), roles, and the departments in
charge; and the subject words that remain once the values are taken out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.evidence import WordWeights
from assistant.text.facts import KANJI, KATAKANA, Fact, extract_facts
from assistant.text.numerals import normalize_with_offsets, parse_number
from assistant.text.roles import Role, departments, extract_roles, heads
from assistant.text.wordlists import VALUE_FILLERS

_KANJI, _KATA = KANJI, KATAKANA
_MASS = re.compile(
    r"(?<![\d.,])(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)(?P<u>kg|mg|g|キログラム|グラム)(?![A-Za-z])"
)
# 「約2割」「3割5分」: a share in tenths, compared as a percentage
_WARI = re.compile(r"(?<![\d.,])(?P<num>\d+(?:\.\d+)?)割(?:(?P<bu>\d)分)?")
_MASS_FACTOR = {"kg": 1000.0, "キログラム": 1000.0, "g": 1.0, "グラム": 1.0, "mg": 0.001}
_BARE = re.compile(
    rf"(?<![\d.,A-Za-z])(?P<num>\d+(?:,\d{{3}})*(?:\.\d+)?)(?P<u>[{_KANJI}{_KATA}A-Za-z]{{0,4}})"
)
# the basis of an amount, written right before it: 月額12,500円, 時間額 1,050円, 日給8,000円, 毎月5,000円
_RATE_BASIS = re.compile(r"(?:(?P<amount>時間|日|週|月|年)額|(?P<pay>時|日|月)給|毎(?P<each>月|年))[:：]?\s*(?:約)?\s*$")
_PAY_BASIS = {"時": "時間", "日": "日", "月": "月"}
RATE_REACH = 6  # characters before an amount searched for its basis
_CLAUSE_BREAK = re.compile(r"[。、，,()（）「」『』:：/／|｜・]")
_PER_YEAR = re.compile(r"(?:毎年度?|年間|年平均|1年当たり|1年あたり)\s*(?:約|で|に)?\s*$")
# A figure is a target (or a forecast) when its clause says so: from the comma before it to the end of
# its sentence (「2035年度までに40%削減することを目標とし」), or for a table cell, its column's header
# and the row's first cell (「目標値」).
_TARGET_WORDS = re.compile(r"目標|目指|めざ|までに|見込|計画値|予定|予測|推計|見通し")
# A figure as it stands says so (「2022年度時点で」「現状値」「2013年度比15.1%削減されている」); one that says neither
# (a line of a table of goals: 「移住者数5年間で12人」) is compared with either
_ACTUAL_WORDS = re.compile(r"現状|現在|時点|実績|基準値|であった|となった|となっている|されている|している")
_DATE_RANGE = re.compile(r"\s*(?:[(（][^()（）]{1,3}[)）])?\s*(?:から|より|[~〜～\-‐―ー–—])\s*")
# 「令和3年度から」 then 「5年間」; 「令和6年度を初年度とする」 then 「5か年」
_FROM_LENGTH = re.compile(r"\s*(?:(?:始|はじ)まる|開始する|の)?\s*")  # 「2015年度から始まる5か年」
_FIRST_YEAR = re.compile(r"\s*を(?:初年度|始期|計画初年度)と(?:する|し)[、,]?\s*")
_LAST_YEAR = re.compile(r"\s*を(?:目標|最終|終期|計画最終|計画目標)年度?")
FISCAL_FIRST_MONTH = 4  # a Japanese fiscal year runs from April to March
_ALSO = re.compile(r"\s*[(（]\s*")  # 「平成31年度（令和元年度）」
_UNTIL_AFTER = re.compile(r"\s*(?:[(（][^()（）]{1,12}[)）])?\s*(?:から|より|[~〜～\-‐―ー–—])\s*")
ERA_BASE = {"令和": 2018, "平成": 1988, "昭和": 1925}  # era year n is Western year base + n
_ERA_RANGE = re.compile(r"(?P<era>令和|平成|昭和)\s*(?P<a>\d{1,2})\s*[~〜～\-‐―ー–—]\s*(?P<b>\d{1,2})\s*(?P<unit>年度|年)")
_BASE = re.compile(r"\s*(?:比|と比べ|に比べ|と比較|を基準|対比|から(?:の)?(?:増減|増加|減少|削減))")
# a listed item: a name ending in a word of two or more characters (施設維持管理業務 → 業務)
_ENUM_ITEM = re.compile(rf"(?:(?!及び|並びに)[{_KANJI}{_KATA}A-Za-z0-9])*?(?P<word>[{_KANJI}{_KATA}]{{2}})"
                        rf"(?=及び|並びに|[^{_KANJI}{_KATA}A-Za-z0-9]|$)")
_ENUM_JOIN = re.compile(r"\s*(?:[、，,・]|及び|および|並びに|ならびに)\s*")
_ENUM_SENTENCE = re.compile(r"[^。\n]+")
MIN_ENUMERATION = 3  # items a list needs before its length counts as a figure
_CLAUSE_START = re.compile(r"[、。，,]")
_SENTENCE_END = re.compile(r"[。]")
STRONG = {"period", "duration", "quantity", "percent", "points", "number", "role"}
WEAK = {"year", "date"}
PER_YEAR_LOOKBACK = 6  # characters before a figure in which 毎年度 / 年間 make it a yearly rate
SUBJECT_LOOKBACK = 20  # characters before a bare number searched for what it counts
# a figure belongs to the year before it within this many characters of one clause (「2030年度に90%」,
# 「令和4年度の職員数は約」, 「2030年までに普及率(75%)」); a comma, a full stop or a closing bracket between
# them ends the clause
ANCHOR_REACH = 12
_ANCHOR_BREAK = re.compile(r"[、。，,)）」』\n]")


def _stance_of(text: str) -> str | None:
    if _TARGET_WORDS.search(text):
        return "target"
    return "actual" if _ACTUAL_WORDS.search(text) else None


@dataclass
class Values:
    facts: list[Fact]
    roles: list[Role]
    departments: list[str]  # departments named as responsible (担当・所管・中心)
    text: str = ""
    cells: list[tuple[int, int, str]] = field(default_factory=list)  # a table row: (start, end, what names the cell)
    heads: list[str] = field(default_factory=list)  # office holders who act (副村長が, 総務課長は)

    def stance(self, f: Fact) -> str | None:
        """"target" for a target or forecast (see `_TARGET_WORDS`; a figure after 「→」), "actual" for a figure
        as it stands (`_ACTUAL_WORDS`), None when its clause or cell says neither (「移住者数5年間で12人」
        under a table of targets): such a figure is compared with either."""
        for start, end, names in self.cells:
            if start <= f.start < end:
                return _stance_of(names)
        before = [0] + [m.end() for m in _CLAUSE_START.finditer(self.text, 0, f.start)]
        if len(before) > 1 and self.text[before[-1] - 2 : before[-1] - 1] == "は":
            before.pop()  # the topic of the clause belongs to it: 「目標値は、30%とする」
        if "→" in self.text[before[-1] : f.start]:
            return "target"  # 「0人(2014年度)→5年間で6人」
        after = _SENTENCE_END.search(self.text, f.end)
        return _stance_of(self.text[before[-1] : after.end() if after else len(self.text)])

    def is_base(self, f: Fact) -> bool:
        """The year is a base of comparison (「2013年度比」「2019年と比べて」「2013年度を基準として」)."""
        return bool(_BASE.match(self.text, f.end))

    def anchor(self, f: Fact) -> int | None:
        """The year a figure is stated for, when a year stands right before it in the same clause
        (「2027年度に78%、2030年度に90%」, 「令和4年度の職員数は約40人」, 「2030年までに…(75%)」); a base year
        (2013年度比) is none. Years and fiscal years count alike."""
        if f.kind in WEAK or f.kind == "period":
            return None
        before = [g for g in self.facts if g.end <= f.start and _year_of(g) is not None and not self.is_base(g)]
        if not before:
            return None
        between = self.text[before[-1].end : f.start]
        return _year_of(before[-1]) if len(between) <= ANCHOR_REACH and not _ANCHOR_BREAK.search(between) else None

    def per_year(self, f: Fact) -> bool:
        """「毎年度600人」「年間600件」: a yearly rate, not a total."""
        return bool(_PER_YEAR.search(self.text[max(0, f.start - PER_YEAR_LOOKBACK) : f.start]))

    def surfaces(self) -> list[str]:
        return [f.surface for f in self.facts] + [r.holder for r in self.roles] + self.departments + self.heads


def extra_facts(text: str, facts: list[Fact]) -> list[Fact]:
    """Masses (g, kg) in grams, tonnes too, shares in tenths (2割) as percentages, and bare numbers
    with their counter (85手続, 1.38)."""
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
        elif f.kind == "quantity" and f.unit == "円" and (m := _RATE_BASIS.search(text[max(0, f.start - RATE_REACH):f.start])):
            basis = m["amount"] or _PAY_BASIS.get(m["pay"] or "") or m["each"]
            surface = m[0].rstrip(" 　:：") + f.surface  # shown with its basis: 時間額1,050円 ⇔ 日額1,050円
            subject = _RATE_BASIS.sub("", f.subject)  # the basis is the unit's now, not what is measured
            out.append(Fact("quantity", f.value, f"円/{basis}", surface, f.start, f.end, subject))
        else:
            out.append(f)
    for pattern in (_MASS, _WARI, _BARE):
        for m in pattern.finditer(t):
            s, e = m.span()
            if taken.find(1, s, e) >= 0 or (value := parse_number(m["num"])) is None:
                continue
            if pattern is _WARI:
                kind, unit, value = "percent", "%", value * 10 + (int(m["bu"]) if m["bu"] else 0)
            elif pattern is _BARE and (s == 0 or t[s - 1] in "・:：●○◇◆■□"):
                continue  # a heading or list number (「２ 温室効果ガス…」, 「番号: 2」), not a figure
            elif pattern is _MASS:
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


def ranges(text: str, facts: list[Fact]) -> list[Fact]:
    """Periods the facts state together: a range of dates (「2026年10月15日～2028年9月30日」, a
    period of days whose end can differ; from April to March, in fiscal years too), of years (「R6～R10年度」, 「令和6～10年度」, 「平成31年度（令和元年度）
    から令和5年度まで」, 「令和6年度を初年度とし、令和10年度を目標年度とする」), and a start with a length in years (「令和3年度から5年間」, 「令和6年度を初年度と
    する5か年」 are 令和3年度～令和7年度 and 令和6年度～令和10年度; the length stays a fact of its own)."""
    facts = _era_ranges(text, facts)
    out: list[Fact] = []
    i = 0
    while i < len(facts):
        f = facts[i]
        if i + 2 < len(facts) and f.kind == "year" and facts[i + 1].kind == "year" and facts[i + 1].value == f.value \
                and _ALSO.fullmatch(text, f.end, facts[i + 1].start):
            facts = facts[: i + 1] + facts[i + 2 :]  # 平成31年度（令和元年度）: one year, written twice
        g = facts[i + 1] if i + 1 < len(facts) else None
        if g is None:
            out.append(f)
            break
        between = (f.end, g.start)
        if f.kind == g.kind == "date" and _DATE_RANGE.fullmatch(text, *between):
            end = g.end + (2 if text.startswith("まで", g.end) else 0)
            value: tuple = (_day_code(f.value), _day_code(g.value))
            out.append(Fact("period", value, f.unit, text[f.start : end], f.start, end, f.subject))
            years = _fiscal_years(f.value, g.value)
            if years:  # 2024年4月から2029年3月まで: 2024年度～2028年度 as well
                out.append(Fact("period", years, "年度", text[f.start : end], f.start, end, f.subject))
            i += 2
            continue
        if f.kind == g.kind == "year" and _FIRST_YEAR.fullmatch(text, *between) and _LAST_YEAR.match(text, g.end):
            # 令和6年度を初年度とし、令和10年度を目標年度とする
            out.append(Fact("period", (_year(f), _year(g)), g.unit, text[f.start : g.end], f.start, g.end, f.subject))
            i += 2
            continue
        if f.kind == "year" and g.kind == "year" and _DATE_RANGE.fullmatch(text, *between):
            out.append(Fact("period", (_year(f), _year(g)), g.unit, text[f.start : g.end], f.start, g.end, f.subject))
            i += 2
            continue
        if (f.kind == "year" and g.kind == "period" and isinstance(g.value, tuple) and g.value[0] is None
                and _UNTIL_AFTER.fullmatch(text, *between)):
            out.append(Fact("period", (_year(f), g.value[1]), g.unit, text[f.start : g.end], f.start, g.end, f.subject))
            i += 2
            continue
        start = _open_start(f)
        length_after = (_FROM_LENGTH if f.kind == "period" else _FIRST_YEAR).fullmatch(text, *between)
        if start is not None and g.kind == "duration" and g.unit == "年" and length_after:
            length = int(float(g.value))  # type: ignore[arg-type]
            out.append(Fact("period", (start, start + length - 1), f.unit, text[f.start : g.end], f.start, g.end,
                            f.subject))
            out.append(g)
            i += 2
            continue
        out.append(f)
        i += 1
    return out


def _year_of(f: Fact) -> int | None:
    """The year of a year, a date, or a period that only ends (「2030年までに」)."""
    if f.kind == "year":
        return _year(f)
    if f.kind == "date" and isinstance(f.value, tuple) and f.value and isinstance(f.value[0], int):
        return f.value[0]
    if f.kind == "period" and isinstance(f.value, tuple) and f.value[0] is None and isinstance(f.value[1], int):
        return f.value[1]
    return None


def _year(f: Fact) -> int | None:
    return int(f.value) if isinstance(f.value, (int, float)) else None


def _open_start(f: Fact) -> int | None:
    """The first year of 「令和3年度から」 (a period without its end) or of a lone year."""
    if f.kind == "period" and isinstance(f.value, tuple) and f.value[0] is not None and f.value[1] is None:
        return int(f.value[0])
    return int(f.value) if f.kind == "year" and isinstance(f.value, int) else None


def _era_ranges(text: str, facts: list[Fact]) -> list[Fact]:
    """「令和6～10年度」: one era for both ends."""
    out = list(facts)
    for m in _ERA_RANGE.finditer(text):
        base = ERA_BASE[m["era"]]
        fact = Fact("period", (base + int(m["a"]), base + int(m["b"])), m["unit"], m[0], m.start(), m.end(), "")
        out = [f for f in out if f.end <= m.start() or f.start >= m.end()] + [fact]
    return sorted(out, key=lambda f: f.start)


def _fiscal_years(a: object, b: object) -> tuple[int, int] | None:
    """A range from April to March in fiscal years (2024年4月～2029年3月 → 2024–2028), else None."""
    if not (isinstance(a, tuple) and isinstance(b, tuple) and len(a) >= 2 and len(b) >= 2):
        return None
    (ya, ma), (yb, mb) = a[:2], b[:2]
    if ya is None or yb is None or ma != FISCAL_FIRST_MONTH or mb != FISCAL_FIRST_MONTH - 1:
        return None
    return int(ya), int(yb) - 1


def _day_code(value: object) -> int:
    """A date (year, month, day; unstated parts None) as one comparable number, yyyymmdd."""
    y, m, d = (tuple(value) + (None, None, None))[:3] if isinstance(value, tuple) else (None, None, None)
    return (y or 0) * 10000 + (m or 0) * 100 + (d or 0)


def enumeration_counts(text: str) -> list[Fact]:
    """How many things a list names, when each ends in the same word (「A業務、B業務、C業務を委託」 is
    3業務): a count a statement's 「2業務」 can be compared with."""
    out: list[Fact] = []
    for sentence in _ENUM_SENTENCE.finditer(text):
        items = list(_ENUM_ITEM.finditer(text, sentence.start(), sentence.end()))
        run: list[re.Match[str]] = []
        for m in [*items, None]:
            if m is not None and run and m["word"] == run[-1]["word"] and _ENUM_JOIN.fullmatch(text, run[-1].end(), m.start()):
                run.append(m)
                continue
            if len(run) >= MIN_ENUMERATION:
                a, b = run[0].start(), run[-1].end()
                out.append(Fact("number", float(len(run)), run[0]["word"], text[a:b], a, b, ""))
            run = [m] if m is not None else []
    return out


def values_of(text: str, responsible_only: bool = True) -> Values:
    """The comparable values of a statement or sentence."""
    facts = ranges(text, extra_facts(text, extract_facts(text)))
    norm = normalize_with_offsets(text)[0]
    return Values(facts, extract_roles(text), departments(norm, responsible_only), text,
                  heads=heads(norm, responsible_only))



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

