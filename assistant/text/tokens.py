"""The SudachiPy tokenizer behind one public API: BM25 tokens, content words, proper nouns.

Mode C, normalised forms, lower case. SudachiPy refuses inputs over ~49k bytes, so every
method reads long texts in slices of `SLICE_CHARS`: BM25 and coverage see the same tokens.
The tokenizer is not thread-safe; one lock serialises its use.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

from assistant.text.numerals import ERA_START, era_to_western, parse_era_year
from assistant.text.wordlists import QUESTION_WORDS

SLICE_CHARS = 4000
_DROP_POS = {"助詞", "助動詞", "補助記号", "空白"}  # not indexed for BM25
_CONTENT_POS = {"名詞", "形状詞", "接尾辞"}  # content words of a question or statement
_PUNCTUATION = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"[0-9]{1,4}")
_YEAR_UNITS = ("年", "年度")
WESTERN_YEARS = (1868, 2200)  # a four-digit number before 年 in these bounds is a year (明治 onwards)


class Tokenizer:
    def __init__(self) -> None:
        self._tokenizer: Any = None
        self._mode: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._tokenizer is None:
            from sudachipy import Dictionary, SplitMode

            self._tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
            self._mode = SplitMode.C

    def _morphemes(self, text: str) -> Iterator[Any]:
        self.warm_up()
        text = unicodedata.normalize("NFKC", text)
        with self._lock:
            morphemes = [m for start in range(0, len(text), SLICE_CHARS)
                         for m in self._tokenizer.tokenize(text[start:start + SLICE_CHARS], self._mode)]
        yield from morphemes

    def tagged(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Each word as written, with its part of speech (名詞, 固有名詞, 地名, …)."""
        return [(m.surface(), tuple(m.part_of_speech())) for m in self._morphemes(text)]

    def tokens(self, text: str) -> list[str]:
        """Every word but particles, auxiliaries and punctuation: what BM25 indexes; and each date's
        year, month and day as whole tokens (`date_tokens`)."""
        out = []
        forms = []
        for m in self._morphemes(text):
            form = m.normalized_form().lower()
            forms.append(form)
            if m.part_of_speech()[0] in _DROP_POS:
                continue
            if form.strip():
                out.append(form)
        return out + date_tokens(forms)

    def content_tokens(self, text: str) -> list[str]:
        """Nouns (and other content words) of `text`, normalised, without question words, once each."""
        out = []
        for m in self._morphemes(text):
            if m.part_of_speech()[0] not in _CONTENT_POS or m.surface().lower() in QUESTION_WORDS:
                continue
            form = m.normalized_form().lower()
            if form.startswith(("何", "幾")) and len(form) <= 6:
                continue  # 何度, 何名, 何パーセント: the question's unknown, not its subject
            if form.strip() and form not in QUESTION_WORDS and not _PUNCTUATION.fullmatch(form):
                out.append(form)
        return list(dict.fromkeys(out))

    def proper_nouns(self, text: str, kind: str | None = None) -> list[str]:
        """Proper nouns (固有名詞) as written; `kind` narrows them ("地名": place names)."""
        return [m.surface() for m in self._morphemes(text)
                if m.part_of_speech()[1] == "固有名詞" and (kind is None or m.part_of_speech()[2] == kind)]

    def place_names(self, text: str) -> list[str]:
        """Place names (固有名詞・地名): a passage about another place does not answer."""
        return self.proper_nouns(text, "地名")


def date_tokens(forms: list[str]) -> list[str]:
    """A date as whole tokens, besides the pieces it is tokenized into: 「令和6年4月1日」 (令和 / 6 / 年 / 4 /
    月 / 1 / 日) adds 「2024年」, 「4月」 and 「4月1日」, so that a question about 令和6年 (or 2024年) matches
    that year and not every date that shares 令和, 年 and a small number. Era years become western years;
    年 and 年度 stay apart."""
    out: list[str] = []
    i, n = 0, len(forms)
    while i < n:
        j = i
        if forms[i] in ERA_START and i + 2 < n and (_DIGITS.fullmatch(forms[i + 1]) or forms[i + 1] == "元") \
                and forms[i + 2] in _YEAR_UNITS:
            year = parse_era_year(forms[i + 1])  # 元 → 1; None for 0
            if year is not None:
                out.append(f"{era_to_western(forms[i], year)}{forms[i + 2]}")
            j = i + 3
        elif _DIGITS.fullmatch(forms[i]) and WESTERN_YEARS[0] <= int(forms[i]) <= WESTERN_YEARS[1] and i + 1 < n \
                and forms[i + 1] in _YEAR_UNITS:
            out.append(f"{int(forms[i])}{forms[i + 1]}")
            j = i + 2
        if j + 1 < n and _DIGITS.fullmatch(forms[j]) and forms[j + 1] == "月" and 1 <= int(forms[j]) <= 12:
            month = int(forms[j])
            out.append(f"{month}月")
            j += 2
            if j + 1 < n and _DIGITS.fullmatch(forms[j]) and forms[j + 1] == "日" and 1 <= int(forms[j]) <= 31:
                out.append(f"{month}月{int(forms[j])}日")
                j += 2
        i = max(j, i + 1)
    return out
