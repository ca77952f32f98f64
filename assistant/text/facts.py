"""Comparable facts in Japanese plan text: years, periods, dates, durations, quantities, roles.

A draft statement and a plan passage are compared on values, not strings: 「平成 29 年度」,
「H29年度」 and 「2017年度」 are the same year, 「１万２千人」 is 12000 人, 「29.0パーセント」 is
29 %. Pure functions over text; the text may be raw (full-width digits, spaces and line breaks
inside numbers) because it is first NFKC-normalised with an offset map (`assistant.numerals`).

Fact kinds (`FACT_KINDS`) and their values:

    year      int Western year             unit "年" (calendar), "年度" (fiscal), "年代" (decade)
    period    (start, end) Western years   unit "年度" if either end is fiscal, else "年";
              an open end is None: 「概ね2030年まで」 → (None, 2030), 「令和６年度から」 → (2024, None)
    date      (year | None, month, day | None)   unit "年月日", "年月" or "月日"
    duration  float   unit "年" (10年間, ２か年, 策定後５年), "月", "週", "日", "時間"
    quantity  float in base units (千人 → ×1000 人, 億円 → 円)   unit a canonical counter:
              人 (also 名), 円, 件, 箇所 (か所, カ所), 地域, 団体, 回, 世帯, 校, km, ha, ℃, t, 倍 …
    percent   float   unit "%"
    points    float   unit "ポイント" (3.1ポイント is not 3.1%)
    ordinal   float   unit the counter after 第N: 次, 期, 回, 号, 条 … or ""

A number inside a date, year or period never comes out again as a quantity. `subject` is the
few words before the number in its clause (「人口減少率は12.5％」 → "人口減少率"), or the noun the
number counts (「12（令和６年４月現在）の認定地域」 → "認定地域").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.text.numerals import (
    era_to_western,
    format_number,
    normalize_with_offsets,
    parse_era_year,
    parse_number,
)
from assistant.text.wordlists import SUBJECT_STOP_GRAMS

__all__ = [
    "FACT_KINDS",
    "Fact",
    "canonical_tokens",
    "commensurable",
    "common_values",
    "compare_facts",
    "compatible",
    "extract_facts",
    "values_equal",
]

FACT_KINDS = ("year", "period", "date", "duration", "quantity", "percent", "points", "ordinal")

FactValue = float | tuple[int | None, ...]


@dataclass(frozen=True)
class Fact:
    kind: str
    value: FactValue
    unit: str
    surface: str  # the original text, text[start:end]
    start: int
    end: int
    subject: str = ""


# --- building blocks (all patterns run on normalised text) -----------------------------

KANJI = "\u3400-\u4dbf\u4e00-\u9fff々〆ヵヶ"  # character classes, for the regexes of this toolkit
KATAKANA = "ァ-ヺー"
_KANJI, _KATAKANA = KANJI, KATAKANA
_CONTENT = f"{_KANJI}{_KATAKANA}A-Za-z0-9"

_ERA = r"(?:明治|大正|昭和|平成|令和|(?<![A-Za-z])[MTSHR])"
_ERA_NUM = r"(?:元|\d{1,2}|[一二三四五六七八九十]{1,3})"
_ERA_YEAR = rf"{_ERA}{_ERA_NUM}(?:\(\d{{4}}\))?年"
_WEST_YEAR = rf"(?<![\d.,])(?:1\d|2[01])\d\d(?:\((?:明治|大正|昭和|平成|令和){_ERA_NUM}\))?年"
_KANJI_WEST_YEAR = (
    r"(?<![\u3400-\u9fff])[一二][〇一二三四五六七八九十百千]{2,5}年"  # 二千二十三年, 二〇二三年
)
_YEAR = rf"(?:{_ERA_YEAR}|{_WEST_YEAR}|{_KANJI_WEST_YEAR})度?"
_YEAR_PARTS = re.compile(rf"(?P<era>明治|大正|昭和|平成|令和|[MTSHR])(?P<n>{_ERA_NUM})|(?P<west>\d{{4}})")

_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
_KANJI_NUMERAL = "〇一二三四五六七八九十百千"
_NUM_PART = rf"(?:{_ARABIC}[十百千]?|[{_KANJI_NUMERAL}]+)"
_NUM_BODY = rf"{_NUM_PART}(?:[万億兆]{_NUM_PART}?)*"
# A number starts at a digit not inside another number or word, or at a kanji numeral not
# inside a kanji word (統一, 第六次); 約 may precede it.
_NUM = (
    rf"(?P<num>(?:(?<![\d.,A-Za-z])(?=\d)|(?:(?<=約)|(?<![{_KANJI}]))(?=[{_KANJI_NUMERAL}]))"
    rf"{_NUM_BODY})"
)

_MONTH = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_DAY = r"(?:3[01]|[12]\d|0?[1-9]|[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_DATE = re.compile(
    rf"(?P<y>{_ERA}{_ERA_NUM}|(?<![\d.,])\d{{4}})年(?P<m>{_MONTH})月(?:(?P<d>{_DAY})日)?"
    r"(?:末|初め|初旬|上旬|中旬|下旬)?(?:現在|時点)?"
)
_DATE_NUMERIC = re.compile(
    r"(?<![\d.,/A-Za-z])(?P<y>[MTSHR]\d{1,2}|\d{4})(?P<sep>[./-])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d)"
)
_MONTH_DAY = re.compile(rf"(?<![\d年])(?P<m>{_MONTH})月(?P<d>{_DAY})日")

_RANGE_SEP = r"(?:から|より|[~〜\-‐―ー–—]|(?P<and>と))"
_PERIOD = re.compile(
    rf"(?P<a>{_YEAR}|(?<![\d.,])\d{{4}}(?=[~〜\-‐―–—]))"
    rf"{_RANGE_SEP}"
    rf"(?P<b>{_YEAR}|{_ERA_NUM}年度?(?![間分]))"
    r"末?(?P<until>まで)?"
)
# 「令和２年度と令和３年度の２か年」 is a period; 「令和２年度と令和３年度に」 two years.
_AND_SPAN = re.compile(r"の?\d+(?:[かカヵヶケ箇]年|年間)")
_UNTIL = re.compile(rf"[~〜]?(?P<b>{_YEAR})末?(?:まで|以前)")
_FROM = re.compile(rf"(?P<a>{_YEAR})(?:から|以降|より)")
_YEAR_ONLY = re.compile(rf"(?P<y>{_YEAR})(?P<decade>代)?")
_ERA_ABBREVIATED = re.compile(r"(?<![A-Za-z0-9])(?P<era>[RH])(?P<n>\d{1,2})(?![\dA-Za-z.])")

_DURATION = re.compile(
    rf"{_NUM}(?P<u>[かカヵヶケ箇]年間?|年間|年度分|年度間|[かカヵヶケ箇]月間?|週間|日間|日分|時間)"
)
_YEARS_COUNT = re.compile(rf"{_NUM}年(?![度代])")  # 策定後５年, 10年先: a count below 1000

_ORDINAL = re.compile(rf"第(?P<num>{_NUM_BODY})(?P<u>段階|次|期|回|号|条|項|章|節|部|款|弾|版|編|位|種)?")

# unit surface → canonical unit; the number before it is in base units already (千/万/億).
_SAME_UNITS = (
    "円 件 回 世帯 地域 地区 団体 自治体 市町村 施設 事業 分野 項目 校 社 台 戸 棟 歳 倍 種 つ 個 km ha m2 m3 m"
)
_QUANTITY_UNITS: dict[str, str] = {
    **{u: u for u in _SAME_UNITS.split()},
    **dict.fromkeys(["人", "名"], "人"),
    **dict.fromkeys(["箇所", "個所", "か所", "カ所", "ヵ所", "ヶ所", "ケ所"], "箇所"),
    **dict.fromkeys(["か国", "カ国", "ヵ国", "ヶ国"], "か国"),
    **dict.fromkeys(["km2", "平方キロメートル"], "km2"),
    **dict.fromkeys(["キロメートル"], "km"),
    **dict.fromkeys(["平方メートル"], "m2"),
    **dict.fromkeys(["立方メートル"], "m3"),
    **dict.fromkeys(["メートル"], "m"),
    **dict.fromkeys(["ヘクタール"], "ha"),
    **dict.fromkeys(["トン"], "t"),
    **dict.fromkeys(["リットル", "ℓ"], "L"),  # not an ASCII L: 「P35 L11」 is a page and a line
    **dict.fromkeys(["キロリットル", "kL", "kl"], "kL"),
    **dict.fromkeys(["℃", "°C", "度"], "℃"),  # 度 is ℃ only near 気温/温暖化, else a count (回)
}
_UNITS: dict[str, tuple[str, str]] = {
    **{u: ("quantity", c) for u, c in _QUANTITY_UNITS.items()},
    **dict.fromkeys(["%", "パーセント"], ("percent", "%")),
    **dict.fromkeys(["ポイント", "pt"], ("points", "ポイント")),
}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
# a space may stand between a figure and its unit in text taken from PDFs (「3.3 m2/1人」)
_QUANTITY = re.compile(rf"(?:約)?{_NUM} ?(?P<u>{_UNIT_ALT})(?![A-Za-z])")
_TEMPERATURE_CONTEXT = re.compile(r"気温|温度|温暖化|水温|℃|°C")
_COUNTED_NOUN = re.compile(rf"{_NUM}(?:\([^()]{{0,30}}\))?の(?P<noun>[{_KANJI}{_KATAKANA}]+)")
_COUNTER_SUFFIXES = tuple(
    sorted(
        (u for u, (kind, _) in _UNITS.items() if kind == "quantity" and len(u) >= 2 and not u.isascii()),
        key=len,
        reverse=True,
    )
)
_BARE_NUMBER = re.compile(rf"(?<![\d.,])(?=\d){_NUM_BODY}")

_BOUNDARY = re.compile(r"[。．.!?！？、，,;；:：()\[\]「」『』【】〈〉《》〔〕●○◎◇◆■□※★☆]")
_EDGE = re.compile(rf"^[^{_KANJI}{_KATAKANA}A-Za-z]+|(?:[^{_CONTENT}]|約|概|合計)+$")
_FOLLOWING_NOUN = re.compile(rf"(?:\([^()]{{0,30}}\))?の(?P<noun>[{_KANJI}{_KATAKANA}]+)")
_STOP_GRAMS = SUBJECT_STOP_GRAMS
_SUBJECT_WINDOW = 24
_SUBJECT_MAX = 12


@dataclass
class _Hit:
    kind: str
    value: FactValue
    unit: str
    start: int  # offsets in the normalised text
    end: int
    subject: str = ""


# --- value readers -------------------------------------------------------------------


def _year_of(expr: str) -> int | None:
    """Western year of a year expression ("令和5年度", "R5", "2023年", "1995(平成7)年")."""
    m = _YEAR_PARTS.search(expr)
    if m is None:
        value = parse_number(expr.rstrip("年度"))
        return int(value) if value is not None and value == int(value) and 1000 <= value < 2200 else None
    if m["west"]:
        return int(m["west"])
    n = parse_era_year(m["n"])
    return None if n is None else era_to_western(m["era"], n)


def _small_int(text: str) -> int | None:
    value = parse_number(text)
    return None if value is None or value != int(value) else int(value)


def _date(m: re.Match[str], t: str) -> _Hit | None:
    year = _year_of(m["y"]) if m.groupdict().get("y") else None
    month, day = _small_int(m["m"]), _small_int(m["d"]) if m["d"] else None
    if month is None or not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        return None
    unit = ("年" if year is not None else "") + "月" + ("日" if day is not None else "")
    return _Hit("date", (year, month, day), unit, *m.span())


def _period(m: re.Match[str], t: str) -> _Hit | None:
    a, b = m.groupdict().get("a"), m.groupdict().get("b")
    if m.groupdict().get("and") and (m["until"] or not _AND_SPAN.match(t, m.end())):
        return None
    start = _year_of(a) if a else None
    if a and b and not _YEAR_PARTS.match(b):  # 「令和２年度から６年度まで」: the end keeps the era
        era = _YEAR_PARTS.match(a)
        n = parse_era_year(b.rstrip("年度"))
        if era is None or not era["era"] or n is None:
            return None
        end: int | None = era_to_western(era["era"], n)
    else:
        end = _year_of(b) if b else None
        if b and end is None:
            return None
    if start is not None and end is not None and end < start:
        return None
    fiscal = any(x and x.endswith("度") for x in (a, b))
    return _Hit("period", (start, end), "年度" if fiscal else "年", *m.span())


def _year(m: re.Match[str], t: str) -> _Hit | None:
    year = _year_of(m.group())
    if year is None:
        return None
    decade = m.groupdict().get("decade")
    unit = "年代" if decade else "年度" if m.group().endswith("度") else "年"
    return _Hit("year", year, unit, *m.span())


def _duration(m: re.Match[str], t: str) -> _Hit | None:
    value = parse_number(m["num"])
    u = m.groupdict().get("u") or "年"
    if value is None or (u == "年" and value >= 1000):
        return None
    unit = "年" if "年" in u else "月" if "月" in u else "週" if "週" in u else "日" if "日" in u else "時間"
    return _Hit("duration", value, unit, *m.span())


def _ordinal(m: re.Match[str], t: str) -> _Hit | None:
    value = parse_number(m["num"])
    return None if value is None else _Hit("ordinal", value, m["u"] or "", *m.span())


def _quantity(m: re.Match[str], t: str) -> _Hit | None:
    value = parse_number(m["num"])
    if value is None or (m["num"] == "一" and (m["u"] == "度" or t.startswith(("ひとり", "一人"), m.end()))):
        return None  # 一人ひとり and 一度 are idioms, not counts
    kind, unit = _UNITS[m["u"]]
    if m["u"] == "度":  # 1.5度 of warming is ℃; 「２度にわたり」 is a count of times
        warm = _TEMPERATURE_CONTEXT.search(t, max(0, m.start() - 20), m.end() + 4)
        unit = "℃" if warm and not t.startswith("目", m.end()) else "回"
    return _Hit(kind, value, unit, m.start("num"), m.end())


def _counted_noun(m: re.Match[str], t: str) -> _Hit | None:
    noun = m["noun"]
    suffix = next((s for s in _COUNTER_SUFFIXES if noun.endswith(s)), None)
    value = parse_number(m["num"])
    if suffix is None or value is None:
        return None
    return _Hit("quantity", value, _UNITS[suffix][1], *m.span("num"), subject=noun)


def _era_abbreviated(m: re.Match[str], t: str) -> _Hit | None:
    return _Hit("year", era_to_western(m["era"], int(m["n"])), "年", *m.span()) if int(m["n"]) else None


_Builder = Callable[[re.Match[str], str], _Hit | None]

# Order matters: an earlier pass claims its characters (a date's "11" is not a quantity).
_PASSES: tuple[tuple[re.Pattern[str], _Builder, str | int], ...] = (
    (_ORDINAL, _ordinal, 0),
    (_DATE, _date, 0),
    (_DATE_NUMERIC, _date, 0),
    (_MONTH_DAY, _date, 0),
    (_PERIOD, _period, 0),
    (_UNTIL, _period, 0),
    (_DURATION, _duration, 0),
    (_FROM, _period, 0),
    (_YEAR_ONLY, _year, 0),
    (_ERA_ABBREVIATED, _era_abbreviated, 0),
    (_YEARS_COUNT, _duration, 0),
    (_QUANTITY, _quantity, 0),
    (_COUNTED_NOUN, _counted_noun, "num"),
)


def _scan(t: str) -> tuple[list[_Hit], bytearray]:
    taken = bytearray(len(t))
    hits: list[_Hit] = []
    for pattern, build, group in _PASSES:
        for m in pattern.finditer(t):
            s, e = m.span(group)
            if taken.find(1, s, e) >= 0:
                continue
            hit = build(m, t)
            if hit is None:
                continue
            taken[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
            hits.append(hit)
    hits.sort(key=lambda h: h.start)
    return hits, taken


def _subject(t: str, hit: _Hit, taken: bytearray) -> str:
    if hit.subject:
        return hit.subject
    lo = max(0, hit.start - _SUBJECT_WINDOW)
    window = "".join("\x00" if taken[i] else t[i] for i in range(lo, hit.start))
    clause = _BOUNDARY.split(window)[-1].replace("\x00", "")
    subject = _EDGE.sub("", clause)
    if len(subject) > _SUBJECT_MAX:  # keep whole words: 「…実現のための施策の実施期間」 → 「施策の実施期間」
        tail = subject[-_SUBJECT_MAX:]
        if re.match(f"[{_CONTENT}]", subject[-_SUBJECT_MAX - 1]):
            tail = re.sub(f"^[{_CONTENT}]+", "", tail) or tail
        subject = _EDGE.sub("", tail)
    if not subject and (m := _FOLLOWING_NOUN.match(t, hit.end)):
        subject = m["noun"]
    return subject


def extract_facts(text: str) -> list[Fact]:
    """Every year, period, date, duration, quantity, percentage and ordinal in `text`."""
    t, offsets = normalize_with_offsets(text)
    hits, taken = _scan(t)
    facts = []
    for hit in hits:
        start, end = offsets[hit.start], offsets[hit.end - 1] + 1
        facts.append(
            Fact(hit.kind, hit.value, hit.unit, text[start:end], start, end, _subject(t, hit, taken))
        )
    return facts


# --- comparison ----------------------------------------------------------------------


# units of one measure that convert exactly: (kind, unit) → (measure, size in its base unit). 3週間 is 21日, not
# 3日; 116ha is 1.16km2; 1年間 is 12か月. 月 and 日 do not convert exactly and stay apart.
UNIT_SIZES: dict[tuple[str, str], tuple[str, float]] = {
    ("duration", "年"): ("months", 12.0), ("duration", "月"): ("months", 1.0),
    ("duration", "週"): ("hours", 168.0), ("duration", "日"): ("hours", 24.0), ("duration", "時間"): ("hours", 1.0),
    ("quantity", "km2"): ("area", 1e6), ("quantity", "ha"): ("area", 1e4), ("quantity", "m2"): ("area", 1.0),
    ("quantity", "km"): ("length", 1e3), ("quantity", "m"): ("length", 1.0),
    ("quantity", "kL"): ("volume", 1e3), ("quantity", "m3"): ("volume", 1e3), ("quantity", "L"): ("volume", 1.0),
}


# an amount per period (the draft check's 「月額12,500円」 is 円/月, `assistant.check.values`): any two amounts
# in 円 are the same kind of figure, but a monthly amount equals only a monthly (or a yearly twelve times as
# large) one; an amount without a stated basis compares with any as written
RATE_SIZES: dict[str, tuple[str, float]] = {
    "円/時間": ("yen/hour", 1.0), "円/日": ("yen/day", 1.0), "円/週": ("yen/week", 1.0),
    "円/月": ("yen/year", 12.0), "円/年": ("yen/year", 1.0),
}


def _size(f: Fact) -> tuple[str, float] | None:
    return UNIT_SIZES.get((f.kind, f.unit)) or (RATE_SIZES.get(f.unit) if f.kind == "quantity" else None)


def _base_value(f: Fact) -> float:
    """A figure's value in its measure's base unit (`UNIT_SIZES`: 3週間 → 504 hours; `RATE_SIZES`: 月額 →
    a year's), else as it is; not for periods and dates (tuples)."""
    assert not isinstance(f.value, tuple), f
    size = _size(f)
    return f.value * size[1] if size else f.value


def common_values(a: Fact, b: Fact) -> tuple[float, float]:
    """Two compatible figures' values in one unit: their measure's base unit, or as written when only one of
    them has a size (an amount with a basis, 月額7,000円, against one without, 7,000円)."""
    if (_size(a) is None) != (_size(b) is None):
        assert not isinstance(a.value, tuple) and not isinstance(b.value, tuple)
        return a.value, b.value
    return _base_value(a), _base_value(b)


def commensurable(a: Fact, b: Fact) -> bool:
    """Compatible, and equal values would mean the same amount: not 日額 against 月額 (amounts of two bases)."""
    if not compatible(a, b):
        return False
    sa, sb = _size(a), _size(b)
    return sa is None or sb is None or sa[0] == sb[0]


def compatible(a: Fact, b: Fact) -> bool:
    """Measure the same kind of thing: same kind and unit (年 and 年度 count as one for years and
    periods; units of one measure, `UNIT_SIZES`, as one); two dates compare on what both state
    (「令和５年11月」 and 「令和５年11月21日」)."""
    if a.kind == b.kind == "date":
        return all(x is not None for x in (*a.value[:2], *b.value[:2]))  # type: ignore[index]
    if a.kind != b.kind:
        return False
    if a.unit == b.unit or (a.kind in ("year", "period") and {a.unit, b.unit} <= {"年", "年度"}):
        return True
    if a.kind == "quantity" and a.unit.partition("/")[0] == b.unit.partition("/")[0] == "円":
        return True  # an amount with its basis (円/月) and one without, or with another (`commensurable`)
    sa, sb = UNIT_SIZES.get((a.kind, a.unit)), UNIT_SIZES.get((b.kind, b.unit))
    return sa is not None and sb is not None and sa[0] == sb[0]


def values_equal(a: Fact, b: Fact) -> bool:
    """Commensurable and the same value (floats within 1e-9 relative, in the measure's base unit; periods end
    by end; dates on the parts both state)."""
    if not commensurable(a, b):
        return False
    if a.kind == b.kind == "date" and isinstance(a.value, tuple) and isinstance(b.value, tuple):
        return all(x == y for x, y in zip(a.value, b.value) if x is not None and y is not None)
    if isinstance(a.value, tuple) or isinstance(b.value, tuple):
        return a.value == b.value
    return math.isclose(*common_values(a, b), rel_tol=1e-9, abs_tol=1e-12)


def _grams(subject: str) -> set[str]:
    grams: set[str] = set()
    for run in re.findall(f"[{_CONTENT}]+", subject):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams - _STOP_GRAMS


def _similar_subjects(a: str, b: str) -> bool:
    """Share a content bigram; an unknown subject (empty) may be anything."""
    ga, gb = _grams(a), _grams(b)
    return not ga or not gb or bool(ga & gb)


def compare_facts(a: list[Fact], b: list[Fact]) -> list[tuple[Fact, Fact, bool]]:
    """Pairs (fact of a, fact of b, equal?) that measure the same thing: same kind and unit
    (年 and 年度 count as one for years and periods) and similar subjects. In the order of `a`,
    equal pairs first for each fact of `a`."""
    pairs: list[tuple[Fact, Fact, bool]] = []
    for fa in a:
        matches = [
            (fa, fb, values_equal(fa, fb))
            for fb in b
            if compatible(fa, fb) and _similar_subjects(fa.subject, fb.subject)
        ]
        pairs.extend(sorted(matches, key=lambda p: not p[2]))
    return pairs


def _tokens_of(hit: _Hit) -> set[str]:
    if isinstance(hit.value, tuple):
        return {str(v) for v in hit.value if v is not None}
    number = format_number(hit.value)
    return {number, number + "%"} if hit.kind == "percent" else {number}


def canonical_tokens(text: str) -> set[str]:
    """Every number in `text` as canonical strings: years and dates as Western numbers
    ("令和５年" → "2023"), quantities in base units ("１万２千人" → "12000"), percentages also with
    "%" ("29.0％" → "29", "29%"). `canonical_tokens(answer) <= canonical_tokens(passages)` holds
    when every number of the answer appears in the passages."""
    t, _ = normalize_with_offsets(text)
    hits, taken = _scan(t)
    tokens: set[str] = set()
    for hit in hits:
        tokens |= _tokens_of(hit)
    for m in _BARE_NUMBER.finditer(t):
        if taken.find(1, *m.span()) < 0 and (value := parse_number(m.group())) is not None:
            tokens.add(format_number(value))
    return tokens
