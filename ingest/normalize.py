"""Japanese text clean-up for extracted pages. Pure functions, no I/O.

`normalize_text` turns what a PDF/text extractor gives into lines a chunker can use:
NFKC (which also folds Kangxi radicals ⽬⼊⼯ into 目入工), no control characters, no
fake-bold repeats, no spaces inside Japanese text or between numbers and units, no dot
leaders or page-number lines, and PDF line breaks inside sentences joined.

Line conventions the chunker can rely on (after normalisation, so digits are ASCII):
every heading or list item starts its own line, with no leading spaces:
`第1章`, `第2節`, `1 `, `1.2 `, `(1)`, `1)`, `ア `, `①`, `◇ ■ ● ○ ・ ◆ □ ※ 【`, `- `, `#`, `| `.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.text.layout import (
    DOT_LEADER,
    LINE_BULLETS,
    LINE_MARKER,
    LONE_NUMBER_LINE,
    MARKER_PREFIX,
    NUMBERED_LINE,
    PAGE_NUMBER_LINE,
)
from assistant.types import PageStatus

# --- character classes -------------------------------------------------------------

_JA = (
    "\u3000-\u303f"  # CJK symbols and punctuation 、。「」
    "\u3040-\u309f"  # hiragana
    "\u30a0-\u30ff"  # katakana
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # half-width and full-width forms
)
_JA_CHAR = re.compile(f"[{_JA}]")
_KANJI_KANA = "\u3041-\u3096\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff"

# CJK Radicals Supplement code points that NFKC leaves alone (the Kangxi block U+2F00–U+2FD5
# is folded by NFKC itself). Word-made PDFs emit these for ordinary kanji.
_RADICALS_FROM = "⺁⺇⺊⺌⺍⺎⺕⺖⺗⺘⺙⺛⺠⺡⺢⺣⺤⺦⺧⺨⺩⺪⺫⺬⺭⺮⺲⺳⺶⺷⺹⺺⺻⺼⺾⺿⻀⻁⻂⻃⻄⻅⻆⻈⻉⻋⻌⻍⻎⻏⻑⻔⻖⻘⻙⻚⻛⻝⻟⻠⻢⻣⻤⻥⻦⻧⻨⻩⻪⻫⻬⻭⻮⻯⻰⻱⻲"
_RADICALS_TO = "厂几卜小小兀彐忄心扌攵旡民氵氺灬爫丬牛犭王疋罒礻礻竹罒罓羊羊耂肀聿月艹艹艹虎衤覀西见角讠贝车辶辶辶阝長门阝青韦页风食飠饣马骨鬼鱼鸟卤麦黄黾斉齐歯齿竜龙龜亀"
_RADICALS = str.maketrans(_RADICALS_FROM, _RADICALS_TO)

# Characters NFKC would destroy but that carry meaning here: circled numbers are item
# markers (① → "1" would merge them into the text), ※ and the like are untouched anyway.
_KEEP_NFKC = re.compile("[\u2460-\u2473\u24b6-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]+")

_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff\u00ad]")

# --- line patterns ----------------------------------------------------------------

_FULL_STOP = "。．!?"
_SENTENCE_END = "」』)】〕:;"
_HIRAGANA = re.compile("[\u3041-\u3093]")
_CONTINUES = "、,，・(「『【〔"

# Fake bold: overprinted text comes out with each character, or each run of characters,
# 3+ times (森森森森, りなすりなすりなす). Kana and kanji only: digits, ー, ・ and 々
# repeat legitimately on their own.
_FAKE_BOLD = re.compile(f"([{_KANJI_KANA}])\\1{{2,}}")
_FAKE_BOLD_RUN = re.compile(  # りなすりなすりなす: units of 2–8 characters, bounded for speed
    f"((?:[{_KANJI_KANA}]|[・ー](?=[{_KANJI_KANA}]))[{_KANJI_KANA}・ー]{{1,7}}?)\\1{{2,}}"
)
# …and bracketed headings printed several times over: 【基本目標】【基本目標】【基本目標】【基本目標】
# (otoineppu/otoineppu_sogosenryaku.pdf)
_FAKE_BOLD_BRACKET = re.compile(r"(【[^】]{1,30}】)\1{2,}")
_JA_SPACE = re.compile(f"(?<=[{_JA}])[ \t]+(?=[{_JA}0-9A-Za-z%(])|(?<=[{_JA}0-9A-Za-z%)])[ \t]+(?=[{_JA}])")
_NUM_SPACE = re.compile(r"(?<=\d)[ \t]+(?=[.,]\d)|(?<=\d[.,])[ \t]+(?=\d)")


def _nfkc(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _KEEP_NFKC.finditer(text):
        out.append(unicodedata.normalize("NFKC", text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(unicodedata.normalize("NFKC", text[pos:]))
    return "".join(out).translate(_RADICALS)


def is_heading_line(line: str) -> bool:
    """True when a (stripped) line starts like a heading, a list item or a table row."""
    return bool(LINE_MARKER.match(line))


def _clean_line(line: str) -> str:
    if not line.lstrip().startswith("|"):  # keep markdown table rules
        line = DOT_LEADER.sub(" ", line)
    line = _FAKE_BOLD_BRACKET.sub(r"\1", _FAKE_BOLD_RUN.sub(r"\1", _FAKE_BOLD.sub(r"\1", line)))
    line = line.strip()
    m = MARKER_PREFIX.match(line)
    prefix, rest = re.sub(r"\s+", " ", m.group()) if m else "", line[m.end() :] if m else line
    rest = _NUM_SPACE.sub("", _JA_SPACE.sub("", rest))
    rest = re.sub(r"[ \t]{2,}", " ", rest)
    return (prefix + rest).rstrip()


def undouble_spacing(text: str) -> str:
    """Text pulled out of PDFs sometimes has a blank line after every line: drop those.

    Applies only when most (60%) of at least 10 non-empty lines are followed by exactly one
    blank line; runs of two or more blank lines stay as paragraph breaks.
    """
    lines = text.split("\n")
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    single = {i for i in nonblank if i + 2 < len(lines) and not lines[i + 1].strip() and lines[i + 2].strip()}
    if len(nonblank) < 10 or len(single) < 0.6 * len(nonblank):
        return text
    return "\n".join(ln for i, ln in enumerate(lines) if i - 1 not in single)


def _drop_page_numbers(lines: list[str]) -> list[str]:
    lines = [ln for ln in lines if not PAGE_NUMBER_LINE.match(ln)]
    filled = [i for i, ln in enumerate(lines) if ln.strip()]
    for i in {filled[0], filled[-1]} if filled else set():
        if LONE_NUMBER_LINE.match(lines[i]):
            lines[i] = ""
    return lines


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _full_width(lines: list[str]) -> int:
    """The width of a full line on this page: a shorter line ended for a reason."""
    widths = sorted(_width(ln) for ln in lines if ln)
    return max(widths[int(0.8 * (len(widths) - 1))] if widths else 0, 40)


def _should_join(prev: str, nxt: str, nxt_indented: bool, full: int) -> bool:
    if len(prev) == 1 and len(nxt) == 1 and _JA_CHAR.match(prev) and _JA_CHAR.match(nxt):
        return True  # vertical-layout text comes out one character per line
    if not prev or not nxt or is_heading_line(nxt) or nxt[0] == "#":
        return False
    last, first = prev[-1], nxt[0]
    if last in _FULL_STOP or NUMBERED_LINE.match(prev) or prev.startswith("|"):
        return last in _CONTINUES  # a sentence end, a heading or a table row keeps its line
    if _HIRAGANA.match(first):
        return True  # no paragraph or heading starts with a particle: 「…」\nに関する
    if nxt_indented and prev[0] not in LINE_BULLETS:
        return False  # an indented line starts a paragraph, unless it hangs under a bullet
    if last in _SENTENCE_END or (last not in _CONTINUES and _width(prev) < 0.7 * full):
        return False  # a short line ended for a reason
    return bool(_JA_CHAR.match(last) or _JA_CHAR.match(first) or japanese_ratio(prev + nxt) >= 0.3)


def normalize_text(text: str, *, structured: bool = False) -> str:
    """Normalise one page (or one record) of Japanese text. See the module docstring.

    `structured=True` is for text whose line breaks already mean something (HTML turned
    into lines, table records): lines are cleaned but never joined, and no line is taken
    for a page number.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\t", " ")
    text = _CONTROL.sub("", _nfkc(text))
    raw = text.split("\n")
    indented = [bool(ln) and ln[0] in " \u3000" for ln in raw]
    lines = [_clean_line(ln) for ln in raw]
    if not structured:
        lines = _drop_page_numbers(lines)
    full = _full_width(lines)
    out: list[str] = []
    prev = ""  # the previous source line (out[-1] may hold several joined ones)
    for line, indent in zip(lines, indented):
        if not line:
            if prev:
                out.append("")
            prev = ""
            continue
        if not structured and prev and _should_join(prev, line, indent, full):
            out[-1] += line
        else:
            out.append(line)
        prev = line
    return "\n".join(out).strip()


# --- running headers / footers ----------------------------------------------------------


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", unicodedata.normalize("NFKC", line)))


def _edges(lines: list[str]) -> list[int]:
    filled = [i for i, ln in enumerate(lines) if ln.strip()]
    return sorted({filled[0], filled[-1]}) if filled else []


def strip_running_lines(pages: list[str], max_len: int = 40) -> list[str]:
    """Drop short lines that head or foot at least half the pages (3 at least).

    Lines are compared with digits masked and spaces removed, so `- 3 -` and `- 4 -`, or
    `第1章 総論 3` and `第1章 総論 4`, count as the same running line. Two passes, for a
    header and a page number stacked on top of each other.
    """
    out = list(pages)
    threshold = max(3, (len(pages) + 1) // 2)
    for _ in range(2):
        split = [p.split("\n") for p in out]
        counts: dict[str, int] = {}
        for lines in split:
            for key in {_key(lines[i]) for i in _edges(lines) if len(lines[i].strip()) <= max_len}:
                counts[key] = counts.get(key, 0) + 1
        running = {k for k, n in counts.items() if n >= threshold and k}
        if not running:
            break
        for n, lines in enumerate(split):
            drop = {
                i for i in _edges(lines) if len(lines[i].strip()) <= max_len and _key(lines[i]) in running
            }
            if sum(1 for ln in lines if ln.strip()) > len(drop):  # never empty a page
                out[n] = "\n".join(ln for i, ln in enumerate(lines) if i not in drop)
    return out


# --- quality ------------------------------------------------------------------------

# Characters a Japanese (or English/European) public document is made of. Anything else —
# Greek, IPA, Cyrillic, Arabic, Indic scripts, combining marks, C0 controls, private use,
# unassigned code points, U+FFFD — is what pypdf makes of a broken ToUnicode map.
_EXPECTED = (
    "\t\n\r\x20-\x7e\u00a0-\u017f"  # ASCII, Latin-1, Latin Extended-A (é, ü, ß, ł)
    "\u2000-\u2bff"  # punctuation, arrows, maths, enclosed numbers, box drawing, symbols
    "\u2e80-\u2fdf\u3000-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"  # CJK, kana
    "\U0001f000-\U0001faff"  # emoji
)
_SUSPECT = re.compile(f"[^{_EXPECTED}]")


def japanese_ratio(text: str) -> float:
    """Share of non-space characters that are kana, kanji, Japanese punctuation or full-width forms."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _JA_CHAR.match(c)) / len(chars)


def suspect_ratio(text: str) -> float:
    """Share of non-space characters typical of mojibake (see `_EXPECTED`)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _SUSPECT.match(c)) / len(chars)


# A run of two or more different characters printed three or more times in a row: fake bold ("700700700700
# 人人人人", each text run drawn 3–4 times a hair apart), which pypdf reads as many times as it is drawn.
_OVERPRINT = re.compile(r"(.{2,12}?)\1{2,}", re.S)


def overprint_ratio(text: str) -> float:
    """Share of non-space characters that repeat the run before them (see `_OVERPRINT`). Tables repeat a
    header or a 0 column legitimately; compare two extractions of one page rather than judge one."""
    chars = sum(not c.isspace() for c in text)
    if not chars:
        return 0.0
    repeated = 0
    for m in _OVERPRINT.finditer(text):
        run = m.group(1)
        if len(set(run.strip())) < 2:
            continue  # "――――", " 0 0 0": one character repeated
        repeated += sum(not c.isspace() for c in m.group(0)) - sum(not c.isspace() for c in run)
    return repeated / chars


# Measured with pypdf on corpus/otoineppu/kouhou/*.pdf (72 pages): pages whose font map is
# broken have 0.40–0.97 of their characters outside `_EXPECTED`; pages that read fine have
# 0.00–0.06; one page with a few broken fonts among good ones has 0.19.
GARBLED_RATIO = 0.3


def page_quality(text: str) -> tuple[PageStatus, str]:
    """("ok", ""), ("empty", "no text") or ("garbled", reason) for one page of raw text."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return "empty", "no text"
    suspect = sum(1 for c in chars if _SUSPECT.match(c))
    if suspect >= 10 and suspect >= GARBLED_RATIO * len(chars):
        ja = sum(1 for c in chars if _JA_CHAR.match(c))
        return "garbled", (
            f"mojibake (broken font map): {suspect} of {len(chars)} characters are not "
            f"Japanese/Latin text, {ja} Japanese"
        )
    return "ok", ""
