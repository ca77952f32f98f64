"""Japanese numerals, era years and the offset-keeping normalisation the fact extractor reads.

Pure functions, no state:

- `era_to_western("令和", 5) == 2023` (明治/大正/昭和/平成/令和 and M/T/S/H/R; 元年 is year 1).
- `parse_number` reads Arabic numbers (half- or full-width, with thousands separators) and kanji
  numerals, mixed with the multipliers 十/百/千/万/億/兆: "1,234", "１２３", "五百", "１万２千",
  "二千二十三", "二〇二三", "2億5000万". Arithmetic is decimal, so "1.2万" is exactly 12000.
- `format_number` writes a value back canonically ("29.0" → "29", 3.10 → "3.1").
- `normalize_with_offsets` gives NFKC text with whitespace removed (except between two ASCII
  alphanumerics) and, for every character, its offset in the original text.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

ERA_START: dict[str, int] = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
ERA_ABBREVIATIONS: dict[str, str] = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}

KANJI_DIGITS: dict[str, int] = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
_LARGE_UNITS: dict[str, int] = {"万": 10**4, "億": 10**8, "兆": 10**12}

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[〇零一二三四五六七八九十百千万億兆]")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_MINUS = ("-", "−", "▲", "△")
# Circled numbers are list markers; NFKC would turn ① into a bare "1".
_KEEP_AS_IS = re.compile("[\u2460-\u2473\u24b6-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]")


def era_to_western(era: str, year: int) -> int:
    """Western year of `year` in `era` (a name like "令和" or an abbreviation like "R" / "Ｒ")."""
    name = unicodedata.normalize("NFKC", era).strip()
    name = ERA_ABBREVIATIONS.get(name.upper(), name)
    if name not in ERA_START:
        raise ValueError(f"unknown era: {era!r}")
    if year < 1:
        raise ValueError(f"era years start at 1 (元年): {year}")
    return ERA_START[name] + year - 1


def parse_era_year(text: str) -> int | None:
    """The year number inside an era expression: "元" → 1, "５" → 5, "三十" → 30."""
    text = unicodedata.normalize("NFKC", text).strip()
    if text == "元":
        return 1
    value = parse_number(text)
    if value is None or value != int(value) or value < 1:
        return None
    return int(value)


def parse_number(s: str) -> float | None:
    """The value of an Arabic or kanji numeral, or None when `s` is not a number."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))
    sign = 1
    if text.startswith(_MINUS):
        sign, text = -1, text[1:]
    text = _THOUSANDS_COMMA.sub("", text)
    if not text:
        return None
    tokens: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            return None
        tokens.append(m.group())
        pos = m.end()
    if pos != len(text):
        return None
    value = _evaluate(tokens)
    return None if value is None else sign * float(value)


def _evaluate(tokens: list[str]) -> Decimal | None:
    total = Decimal(0)
    section = Decimal(0)  # the part below the current 万/億/兆 group
    current: Decimal | None = None  # digits not yet multiplied
    positional = False  # current was built from kanji digits (二〇二三)
    for tok in tokens:
        if tok[0].isdigit():
            if current is not None:
                return None
            try:
                current = Decimal(tok)
            except InvalidOperation:
                return None
            positional = False
        elif tok in KANJI_DIGITS:
            digit = KANJI_DIGITS[tok]
            if current is not None and not positional:
                return None
            current = Decimal(digit) if current is None else current * 10 + digit
            positional = True
        elif tok in _SMALL_UNITS:
            section += (Decimal(1) if current is None else current) * _SMALL_UNITS[tok]
            current, positional = None, False
        else:  # 万 億 兆
            group = section + (current or 0)
            if group == 0:
                return None
            total += group * _LARGE_UNITS[tok]
            section, current, positional = Decimal(0), None, False
    return total + section + (current or 0)


def format_number(value: float) -> str:
    """Canonical text of a number: integers without ".0", others without trailing zeros."""
    rounded = round(value)
    if abs(value - rounded) <= 1e-9 * max(1.0, abs(value)):
        return str(int(rounded))
    return format(Decimal(repr(value)).normalize(), "f")


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """NFKC text without whitespace, and for each of its characters the original offset.

    Whitespace is dropped (Japanese has none, and extracted text breaks lines inside words:
    "平成 29 年\\n\\n度"), except that one space is kept between two ASCII letters or digits so
    that "99,368 100,000" stays two numbers. Half-width kana with (han)dakuten are recomposed.
    """
    out: list[str] = []
    offsets: list[int] = []
    pending_space = -1
    for i, ch in enumerate(text):
        if ch.isspace():
            if pending_space < 0:
                pending_space = i
            continue
        norm = ch if _KEEP_AS_IS.match(ch) else unicodedata.normalize("NFKC", ch)
        if not norm or norm.isspace():
            continue
        if pending_space >= 0:
            if out and _ascii_alnum(out[-1]) and _ascii_alnum(norm[0]):
                out.append(" ")
                offsets.append(pending_space)
            pending_space = -1
        if norm in ("\u3099", "\u309a") and out:  # ﾞ ﾟ after half-width kana
            out[-1] = unicodedata.normalize("NFC", out[-1] + norm)
            continue
        for c in norm:
            out.append(c)
            offsets.append(i)
    return "".join(out), offsets


def normalize(text: str) -> str:
    """The text `normalize_with_offsets` works on, without the offsets."""
    return normalize_with_offsets(text)[0]


def _ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


_WHITESPACE = re.compile(r"\s+")


def plain(text: str) -> str:
    """NFKC, no whitespace, lower case: the form in which words are looked up in a text."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text or "")).lower()
