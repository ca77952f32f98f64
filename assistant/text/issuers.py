"""Whose document is it, and whose plans does a question ask about: municipalities and the state.

A document's issuer is the municipality its text names most often (a place name that ends in 市, 町,
村 or 区, as SudachiPy reads it: 「音威子府村」, 「長野県佐久市」 → 佐久市), or the state (国) when
ministries and agencies (…省, …庁) are named more often than any municipality. A question names an
issuer (「佐久市の…」) or implies its kind: a municipality speaks of itself as 本村 / 当市, of its
head as 村長 / 市長, of its people as 村民 / 市民, and residents say 「村の…」; 「国は…」 asks about
the state. These are the word-formation rules of Japanese municipal writing, not a list of places.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from assistant.text.tokens import Tokenizer

MUNICIPAL = "市町村区"
NATIONAL = "国"
# the prefecture part of a full place name (長野県佐久市 → 佐久市; 北海道 itself is no municipality)
_PREFECTURE = re.compile(r"^.+?(?:都|道|府|県)(?=.+[市町村区]$)")
_MINISTRY = re.compile(r"^.{1,8}(?:省|庁)$")
# a municipality of kind k speaks of itself: k, 本k / 当k / 我がk / 全k, 副k長, kX for these X
_SELF_PREFIXES = ("本", "当", "我が", "全", "副")
_STATE_WORDS = ("国", "政府")  # the state, as its own documents and residents name it
_SELF_SUFFIXES = ("長", "民", "内", "外", "役場", "役所", "議会", "職員", "政", "営", "税", "有", "道")
ISSUER_TEXT_CHARS = 30_000  # of a document's text read for its issuer (its opening speaks of it most)
TITLE_WEIGHT = 5  # a name in the title counts this many mentions
MIN_MENTIONS = 2  # fewer mentions than this name no issuer


def kind_of(issuer: str) -> str:
    """市 / 町 / 村 / 区 for a municipality, 国 for the state, "" when unknown."""
    if not issuer:
        return ""
    if issuer == NATIONAL or _MINISTRY.match(issuer):
        return NATIONAL
    return issuer[-1] if issuer[-1] in MUNICIPAL else ""


def _municipality(surface: str) -> str:
    """The municipality a place name names (長野県佐久市 → 佐久市); "" for other places and for a
    municipality's words for itself that SudachiPy also knows as places (本町)."""
    name = _PREFECTURE.sub("", surface)
    return name if len(name) >= 2 and name[-1] in MUNICIPAL and not _kind_word(name) else ""


def _kind_word(surface: str) -> str:
    """The kind of issuer a common noun speaks for (村長 → 村, 本市 → 市, 国 → 国), else ""."""
    if surface == NATIONAL:
        return NATIONAL
    for k in MUNICIPAL[:3]:  # 区 alone is a ward of a city, not an issuer of plans
        if surface == k or any(surface == p + k or surface == p + k + "長" for p in _SELF_PREFIXES):
            return k
        if surface.startswith(k) and surface[1:] in _SELF_SUFFIXES:
            return k
    return ""


def infer_issuer(tokenizer: Tokenizer, title: str, text: str) -> str:
    """The municipality a document speaks for, or 国; "" when it cannot tell.

    Municipal evidence: the most named municipality (title counted `TITLE_WEIGHT` times) plus the
    words of its kind a municipality uses of itself (本村, 村長, 村民 …); without a name, those words
    alone give the kind (「村」). National evidence: ministries and agencies (…省, …庁), 政府 and 国.
    The larger wins, with at least `MIN_MENTIONS`."""
    places: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for weight, part in ((TITLE_WEIGHT, title), (1, text[:ISSUER_TEXT_CHARS])):
        for surface, pos in tokenizer.tagged(part):
            name = _municipality(surface) if pos[1] == "固有名詞" and pos[2] == "地名" else ""
            if name:
                places[name] += weight
            elif pos[0] == "名詞":
                if _MINISTRY.match(surface) or surface in _STATE_WORDS:
                    kinds[NATIONAL] += weight
                else:
                    kind = _kind_word(surface)
                    if kind:
                        kinds[kind] += weight
    national = kinds.pop(NATIONAL, 0)
    # each named municipality with its kind's words, and each kind's words alone (a municipality that
    # never names itself in the text: 本村, 村民 …); a name wins a tie with its own kind
    candidates = [(places[n] + kinds[n[-1]], 1, n) for n in places] + [(c, 0, k) for k, c in kinds.items()]
    municipal, _, top = max(candidates, default=(0, 0, ""))
    if national > municipal and national >= MIN_MENTIONS:
        return NATIONAL
    return top if municipal >= MIN_MENTIONS else ""


@dataclass
class AskedIssuer:
    """The issuers a question names, and the kinds it implies (村 for 「村の…」)."""
    names: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.names or self.kinds)

    def matches(self, issuer: str) -> bool | None:
        """True: the document is the asked issuer's; False: it is another's; None: cannot tell."""
        if not self or not issuer:
            return None
        if self.names and len(issuer) > 1:  # a named document against the named issuers
            return issuer in self.names
        return kind_of(issuer) in self.kinds  # 「村の…」, or a document known only by its kind


def asked_issuer(tokenizer: Tokenizer, question: str) -> AskedIssuer:
    asked = AskedIssuer()
    for surface, pos in tokenizer.tagged(question):
        name = _municipality(surface) if pos[1] == "固有名詞" and pos[2] == "地名" else ""
        if name:
            if name not in asked.names:
                asked.names.append(name)
            asked.kinds.add(name[-1])
        elif pos[0] == "名詞":
            if _MINISTRY.match(surface) or surface in _STATE_WORDS:
                asked.kinds.add(NATIONAL)
            kind = _kind_word(surface)
            if kind:
                asked.kinds.add(kind)
    return asked
