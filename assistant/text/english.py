"""English question → Japanese search terms, offline, through the JMdict/JMnedict dictionary.

No language model is needed: the English words (two-word phrases first: "water supply", "minimum
wage") are looked up among JMdict's English glosses (JMnedict's for capitalised names: Sapporo →
札幌), and of the Japanese forms found (kanji forms first, then kana) those the indexed documents
actually use are kept, preferring common entries (JMdict's priority tags: ichi1, news1 …) and words
frequent in the index (its IDF). "population" gives 人口 and 住民, not 母集団 or 個体群, which the
plans do not use.

The dictionary is the SQLite database of the `jamdict-data` package (JMdict/JMnedict by the EDRDG,
CC BY-SA), queried directly: a lookup takes about a millisecond, where `jamdict`'s own API takes
0.3 s. It is opened once per process, read only, on first use. Without the package the terms are
"" (logged once) and English questions fall back to the multilingual dense ranking.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.evidence import TermStatistics
from assistant.sparse import token_id
from assistant.text.numerals import plain
from assistant.text.tokens import Tokenizer

log = logging.getLogger(__name__)

# English function words and question scaffolding. They carry no subject, and as dictionary keys they
# match hundreds of glosses ("what" → 何, "is" → ある, "the" → その): looked up, they would only add noise
# to the search. A general English list, nothing about the documents' subjects; its last two lines (hedges
# and light verbs: around, expected, take, keep …) were added after reading the terms of tune questions.
STOP_WORDS = frozenset("""
a an the and or but nor so yet if then than as of in on at to for from by with without into onto upon
about above below over under between among through during before after since until till via per
is are was were be been being am do does did done doing have has had having will would shall should
can could may might must ought i me my mine we us our ours you your yours he him his she her hers it its
they them their theirs this that these those there here who whom whose which what when where why how
whether any some all each every both either neither no not only own same such other another more most
much many few less least very too also just even still again ever really quite rather
tell say said says please know want need get got give given make made let like according
something anything everything someone anyone one ones way thing things kind sort
around roughly approximately nearly almost about expected supposed heard hear take took taken put go goes
went come came become became keep kept happen happens happened hit hits while currently current latest
""".split())
MAX_CHECKED = 10  # of a key's forms, the best this many by dictionary weight are checked in the index
MAX_FORMS = 1  # Japanese forms kept per English word or phrase (tune: sparse hit@5 6/12 with 1, 5/12 with 2)
SECOND_FORM_SHARE = 0.5  # with MAX_FORMS > 1: a further form only if it scores this share of the best
# Choosing a word's sense by the passages the candidate forms find together (`Translator.terms`): the best
# FEEDBACK_OPTIONS forms of each word are searched at once (FEEDBACK_MODE), and each form's score is multiplied
# by FEEDBACK_FLOOR + the share of the FEEDBACK_PASSAGES found passages that hold it. Chosen on the tune split:
# its 12 English questions and 93 English renderings of its Japanese questions (eval/english_cases.py), hit@5
# of the search: without feedback .500 / .280; with it (3 forms, 0.1, 10 passages, hybrid) .500 / .355 (hit@1
# .250 → .333 / .118 → .161); sparse feedback .500 / .333; 5 passages .417 / .333; 5 forms .500 / .333.
FEEDBACK_OPTIONS = 3
FEEDBACK_PASSAGES = 10
FEEDBACK_FLOOR = 0.1
FEEDBACK_MODE: Literal["sparse", "hybrid"] = "hybrid"
# The weights below are set by hand (not fitted): their order matters more than their values.
# An entry's commonness from its JMdict priority tags on the form: ichi1/news1/spec1/gai1 mark the
# ~20k most common words, the *2 tags the next tier, untagged forms are rare.
COMMON_TAGS = frozenset({"ichi1", "news1", "spec1", "gai1"})
SECOND_TAGS = frozenset({"ichi2", "news2", "spec2"})
PRIORITY = {"common": 1.0, "second": 0.6, "rare": 0.3}
QUALIFIED_GLOSS = 0.8  # "merger (of companies, towns, etc.)" matched by "merger": a narrower sense
LATER_GLOSS = 0.75  # the word is a later gloss of its sense ("work; labour; salary"), not its first
NAME_WEIGHT = 0.8  # a JMnedict name: a reading may belong to many names (Saku: 佐久, 咲, 作 …)
DF_FLOOR = 0.05  # a form rare in the index still counts this much for its document frequency
KANA_ONLY_MISC = "word usually written using kana alone"
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[0-9]+(?:[.,][0-9]+)*(?:st|nd|rd|th)?")  # "water-supply": two words
_FIGURE = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヵヶー]+")  # kana, kanji, their marks


def japanese_part(text: str) -> str:
    """The Japanese words and the figures of a mostly English text (「人口 2040 What is the population …」 →
    「人口 2040」): what an English question was searched with beside its English."""
    return " ".join(dict.fromkeys(JAPANESE.findall(text) + _FIGURE.findall(text)))


def japanese_share(text: str) -> float:
    """Share of a text's non-space characters that are Japanese (kana, kanji)."""
    chars = sum(not c.isspace() for c in text)
    return sum(map(len, JAPANESE.findall(text))) / chars if chars else 0.0
_ORDINAL = re.compile(r"^([0-9]+)(?:st|nd|rd|th)$")
Feedback = Callable[[str], list[str]]  # a search: query → the texts of the passages found
_UNKNOWN_TOKEN = "\x00unknown"  # a token no document has: its IDF is the index's maximum


def dictionary_path() -> Path | None:
    """The bundled JMdict database of `jamdict-data`, or None when the package is not installed."""
    try:
        import jamdict_data
    except ImportError:
        return None
    path = Path(jamdict_data.JAMDICT_DB_PATH)
    return path if path.is_file() else None


@dataclass(frozen=True)
class Candidate:
    form: str  # a Japanese form: 人口, バッテリー
    weight: float  # how good a rendering of the English key it is (gloss match × commonness)


class Dictionary:
    """Read-only lookups in the JMdict/JMnedict database; one connection, serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._cache: dict[str, list[Candidate]] = {}

    def lookup(self, key: str, names: bool = False) -> list[Candidate]:
        """Japanese forms whose English gloss is `key` ("population", "to review", "merger (of …)"); with
        `names`, the JMnedict names read `key` instead (Sapporo → 札幌)."""
        with self._lock:
            got = self._cache.get(f"{names}:{key}")
            if got is None:
                got = sorted(self._names(key) if names else self._words(key), key=lambda c: -c.weight)
                self._cache[f"{names}:{key}"] = got
            return got

    def _words(self, key: str) -> list[Candidate]:
        rows = self._db.execute(
            "SELECT s.idseq, g.sid, g.text, g.rowid FROM SenseGloss g JOIN Sense s ON s.ID = g.sid "
            "WHERE g.text IN (?, ?) OR (g.text >= ? AND g.text < ?)",
            (key, f"to {key}", f"{key} (", f"{key} )")).fetchall()
        best: dict[str, float] = {}
        for idseq, sid, gloss, rowid in rows:
            match = 1.0 if gloss in (key, f"to {key}") else QUALIFIED_GLOSS
            first = self._db.execute("SELECT MIN(rowid) FROM SenseGloss WHERE sid = ?", (sid,)).fetchone()[0]
            match *= 1.0 if rowid == first else LATER_GLOSS
            kana_too = bool(self._db.execute("SELECT 1 FROM misc WHERE sid = ? AND text = ?",
                                             (sid, KANA_ONLY_MISC)).fetchone())
            kanji = self._forms("SELECT k.text, group_concat(p.text) FROM Kanji k LEFT JOIN KJP p ON p.kid = k.ID "
                                "WHERE k.idseq = ? GROUP BY k.ID ORDER BY k.ID", idseq)
            kana = self._forms("SELECT k.text, group_concat(p.text) FROM Kana k LEFT JOIN KNP p ON p.kid = k.ID "
                               "WHERE k.idseq = ? GROUP BY k.ID ORDER BY k.ID", idseq)
            # kanji forms first; kana where the word has no kanji or is usually written in kana
            for form, tags in kanji + (kana if kana_too or not kanji else []):
                best[form] = max(best.get(form, 0.0), match * _priority(tags))
        return [Candidate(f, w) for f, w in best.items()]

    def _names(self, key: str) -> list[Candidate]:
        rows = self._db.execute(
            "SELECT t.idseq FROM NETransGloss g JOIN NETranslation t ON t.ID = g.tid "
            "WHERE g.text = ? OR (g.text >= ? AND g.text < ?)", (key, f"{key} (", f"{key} )")).fetchall()
        forms: dict[str, float] = {}
        for (idseq,) in rows:
            for (form,) in self._db.execute("SELECT text FROM NEKanji WHERE idseq = ?", (idseq,)):
                forms[form] = NAME_WEIGHT
        return [Candidate(f, w) for f, w in forms.items()]

    def _forms(self, sql: str, idseq: int) -> list[tuple[str, set[str]]]:
        return [(text, set((tags or "").split(","))) for text, tags in self._db.execute(sql, (idseq,))]


def _priority(tags: set[str]) -> float:
    if tags & COMMON_TAGS:
        return PRIORITY["common"]
    return PRIORITY["second"] if tags & SECOND_TAGS else PRIORITY["rare"]


_dictionary: Dictionary | None = None
_dictionary_lock = threading.Lock()
_dictionary_missing = False


def dictionary() -> Dictionary | None:
    """The process's dictionary, opened on first use (None, logged once, when it is not installed)."""
    global _dictionary, _dictionary_missing
    with _dictionary_lock:
        if _dictionary is None and not _dictionary_missing:
            path = dictionary_path()
            if path is None:
                _dictionary_missing = True
                log.warning("jamdict-data is not installed: English questions are not translated by dictionary")
            else:
                try:
                    _dictionary = Dictionary(path)
                except sqlite3.Error as exc:
                    _dictionary_missing = True
                    log.warning("the JMdict database %s cannot be opened (%s): no dictionary translation", path, exc)
        return _dictionary


def english_keys(question: str) -> list[list[str]]:
    """The question's words in order, each with the keys to try: the word as written (names), lower
    case, then simple singular and base forms ("students" → "student", "hired" → "hire")."""
    out = []
    for raw in _WORD.findall(unicodedata.normalize("NFKC", question).replace("’", "'")):
        word = raw.lower()
        if word in STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        keys = [raw, *_base_forms(raw)] if raw != word else []  # "Japan's" → Japan (日本) before japan (漆器)
        out.append(list(dict.fromkeys([*keys, word, *_base_forms(word)])))
    return out


def _base_forms(word: str) -> list[str]:
    forms = [word]
    if word.endswith("'s"):
        word = word[:-2]
        forms.append(word)
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[:-len(suffix)]
            forms += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # "planned" → "plan"
    return list(dict.fromkeys(forms))[1:]


class Translator:
    """English question → space-separated Japanese terms the index uses (see the module docstring)."""

    def __init__(self, tokenizer: Tokenizer, stats: TermStatistics, words: Dictionary) -> None:
        self.tokenizer, self.stats, self.words = tokenizer, stats, words
        self._max_idf: float | None = None
        self._idf: dict[str, float] = {}  # this question's lookups (the registry scans per token)

    def terms(self, question: str, feedback: Feedback | None = None) -> str:
        """The Japanese terms: for each English word or phrase the form the dictionary and the index like
        best; with `feedback` (a search returning passage texts), the form the passages found by all the
        candidate forms together use most (the other words' senses decide an ambiguous word's)."""
        fixed = JAPANESE.findall(question)  # 「農業集落排水」 written in the question: already Japanese
        groups = self.options(question)
        if feedback is not None and any(len(g) > 1 for g in groups):
            first = " ".join([*fixed, *(f for g in groups for _, f in g[:FEEDBACK_OPTIONS])])
            texts = [plain(t) for t in feedback(first)]
            if texts:
                groups = [sorted(((sc * (FEEDBACK_FLOOR + sum(plain(f) in t for t in texts) / len(texts)), f)
                                  for sc, f in g), key=lambda x: -x[0]) for g in groups]
        chosen = [*fixed, *(f for g in groups for f in _kept(g))]
        return " ".join(dict.fromkeys(chosen))

    def options(self, question: str) -> list[list[tuple[float, str]]]:
        """For each English word or phrase of the question, in order, its Japanese forms that the index uses,
        best first, scored by dictionary weight × index use (a number is its own single option)."""
        keys = english_keys(question)
        done: set[int] = set()
        groups: list[list[tuple[float, str]]] = []
        for i in range(len(keys)):
            if i in done:
                continue
            found: list[tuple[float, str]] = []
            # a two-word phrase first: "water supply"; then one across a word: "minimum (hourly) wage"
            for j in (i + 1, i + 2):
                if j < len(keys) and j not in done:
                    found = self._scored(_phrases(keys[i], keys[j]))
                    if found:
                        done.add(j)
                        break
            number = self._number(keys[i][0])
            found = found or ([(1.0, number[0])] if number else self._scored(keys[i]))
            if found:
                groups.append(found)
        return groups

    def _number(self, word: str) -> list[str]:
        ordinal = _ORDINAL.match(word)
        if ordinal:
            return [ordinal.group(1)]
        return [word] if word[:1].isdigit() else []

    def _scored(self, keys: list[str]) -> list[tuple[float, str]]:
        """The forms for the first key the dictionary knows that the index uses, scored; a capitalised word
        not found among the glosses is looked up among the names last."""
        names = [(k, True) for k in keys if k[:1].isupper()]
        for key, as_name in [(k, False) for k in keys] + names:
            found = self.words.lookup(key, names=as_name)[:MAX_CHECKED]
            scored = sorted(((c.weight * self._in_index(c.form), c.form) for c in found), key=lambda x: -x[0])
            scored = [(sc, f) for sc, f in scored if sc > 0]
            if scored:
                return scored
        return []

    def _in_index(self, form: str) -> float:
        """How much the documents use `form`: 0 when a word of it is in no chunk, else the log-scaled
        document frequency of its rarest word (1 - IDF / the largest IDF), at least `DF_FLOOR`."""
        if not self.tokenizer.content_tokens(form):
            return 0.0  # particles and auxiliaries (ない, する): no subject
        tokens = self.tokenizer.tokens(form)
        if not tokens:
            return 0.0
        if self._max_idf is None:
            self._max_idf = self.stats.idf([token_id(_UNKNOWN_TOKEN)]).get(token_id(_UNKNOWN_TOKEN), 0.0)
        top = self._max_idf
        todo = [t for t in tokens if t not in self._idf]
        if todo:
            idf = self.stats.idf([token_id(t) for t in todo])
            self._idf.update({t: idf.get(token_id(t), top) for t in todo})
        rarest = max(self._idf[t] for t in tokens)
        if top <= 0 or rarest >= top - 1e-9:
            return 0.0
        return max(DF_FLOOR, 1.0 - rarest / top) if math.isfinite(rarest) else 0.0


def _kept(scored: list[tuple[float, str]]) -> list[str]:
    """The best form, and up to MAX_FORMS scoring at least SECOND_FORM_SHARE of it."""
    if not scored:
        return []
    top = scored[0][0]
    return [f for sc, f in scored[:MAX_FORMS] if sc >= SECOND_FORM_SHARE * top]


def _phrases(first: list[str], second: list[str]) -> list[str]:
    """Two-word keys: "water supply", "foster parent" (the second word singular), lower case."""
    a, b = first[0].lower(), second[0].lower()
    if a[:1].isdigit() or b[:1].isdigit():
        return []
    return list(dict.fromkeys([f"{a} {b}", f"{a}-{b}", *(f"{a} {x}" for x in second[1:] if x.islower())]))


def japanese_terms(question: str, tokenizer: Tokenizer, stats: TermStatistics, feedback: Feedback | None = None) -> str:
    """Japanese search terms for an English question ("" without the dictionary or when nothing is found);
    `feedback` (a search: query → passage texts) chooses among a word's senses (`Translator.terms`)."""
    words = dictionary()
    if words is None:
        return ""
    return Translator(tokenizer, stats, words).terms(question, feedback)
