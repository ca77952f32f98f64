"""Roles and departments: who chairs, who runs the secretariat, which department is in charge.

「副市長を委員長とし」 → Role("委員長", "副市長"); 「事務局を企画課に置く」 → Role("事務局", "企画課");
「福祉課が中心となって」 → the department in charge is 福祉課, while 「福祉課と連携し」 names a partner.
Pure functions over text; the text may be raw, it is normalised with an offset map first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text.facts import KANJI, KATAKANA
from assistant.text.numerals import normalize_with_offsets
from assistant.text.wordlists import GENERIC_DEPARTMENT_ENDS, GENERIC_DEPARTMENTS, ROOMS

_KANJI = KANJI
_CONTENT = f"{KANJI}{KATAKANA}A-Za-z0-9"


@dataclass(frozen=True)
class Role:
    role: str  # 委員長, 事務局, 対象 …
    holder: str  # 副市長, 企画部企画課, 若い世代 … (normalised, no spaces)
    surface: str  # the original text of the whole assignment


ROLE_NAMES = (
    "副委員長",
    "委員長",
    "副会長",
    "部会長",
    "会長",
    "幹事長",
    "副座長",
    "座長",
    "議長",
    "事務局",
    "所管課",
    "担当課",
    "所管部署",
    "担当部署",
    "実施主体",
    "事業主体",
    "主体",
    "対象",
)
_ROLE = "(?P<role>" + "|".join(sorted(ROLE_NAMES, key=len, reverse=True)) + ")"
_ROLE_START = rf"(?<!副){_ROLE}"  # not 委員長 out of 副委員長; 「（４）事務局事務局を…」 still matches
_NOUN = rf"[{_CONTENT}・]+"
# a noun phrase, possibly joined by の and led by an adjective (若い世代, 市内の高齢者)
_HOLDER = rf"(?P<holder>(?:[{_KANJI}]{{1,2}}[ぁ-ん]{{0,2}}い)?{_NOUN}(?:の{_NOUN})*)"
_HOLDER_END = rf"(?=とする|とし|である|です|に置|に設置|が務|が担|をも[っつ]て|[^{_CONTENT}・ぁ-ん]|$)"
_ROLE_PATTERNS = tuple(
    re.compile(p)
    for p in (
        rf"{_HOLDER}を{_ROLE}(?:と(?:し|する|して|した|なる|なり)|に(?:充て|あて|任命|選任))",  # 副市長を委員長とし
        rf"{_ROLE_START}(?:に|には|は)、?{_HOLDER}が(?:就任|就く|つく|当たる|あたる|務め|つとめ|担)",  # 会長には町長が就任
        rf"{_HOLDER}が{_ROLE}(?=を務|をつと|と(?:な|し|す)|に(?:就|な)|で(?:あ|す)|[。、,)]|$)",  # 市長が委員長
        rf"{_ROLE_START}(?:は|:)、?{_HOLDER}{_HOLDER_END}",  # 所管課は企画課, ●委員長:副市長
        rf"{_ROLE_START}を、?{_HOLDER}に(?:置|設置|設け)",  # 事務局を企画課に置く
        rf"{_HOLDER}に{_ROLE}を(?:置|設置|設け)",  # 企画課に事務局を置く
        rf"{_ROLE_START}(?:は|には)、?{_HOLDER}をも[っつ]て(?:充|あ)て",  # 委員長は、副村長をもって充てる
        # any office: 「運航指揮者は、隊長をもって充てる」 (the construction itself says it is a role)
        rf"(?<![{_KANJI}{KATAKANA}・])(?P<role>[{_KANJI}{KATAKANA}]{{2,12}})(?:は|には)、?{_HOLDER}をも[っつ]て(?:充|あ)て",
    )
)
_ORGANISATION_END = ("の", "部", "局", "課", "室", "市", "町", "村", "県", "庁")
_PLACE_HEAD = ("市長", "町長", "村長", "区長")
_PLACE_NAME = re.compile(rf"[{_KANJI}{KATAKANA}ぁ-ん]+")


def extract_roles(text: str) -> list[Role]:
    """Who holds which role: 「副市長を委員長とし」 → Role("委員長", "副市長"), 「事務局を企画課に
    置く」 → Role("事務局", "企画課"), 「若い世代を対象として」 → Role("対象", "若い世代")."""
    t, offsets = normalize_with_offsets(text)
    found: list[tuple[int, Role]] = []
    seen: set[tuple[str, str]] = set()
    for pattern in _ROLE_PATTERNS:
        for m in pattern.finditer(t):
            key = (m["role"], m["holder"])
            if key in seen:
                continue
            seen.add(key)
            start, end = offsets[m.start()], offsets[m.end() - 1] + 1
            found.append((start, Role(m["role"], m["holder"], text[start:end])))
    return [role for _, role in sorted(found, key=lambda x: x[0])]


def holders_equal(a: str, b: str) -> bool:
    """Same holder, allowing a longer name that only adds an organisation or の-phrase in front
    (企画部企画課 = 企画課, 市内の高齢者 = 高齢者) but not a title prefix (副市長 ≠ 市長)."""
    a, b = normalize_with_offsets(a)[0], normalize_with_offsets(b)[0]
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if not short or not long.endswith(short):
        return False
    prefix = long[: -len(short)]
    # 音威子府村長 = 村長: the head of a municipality named in front (a place name of 2+ characters, not 副)
    head_of_place = short.startswith(_PLACE_HEAD) and len(prefix) >= 2 and bool(_PLACE_NAME.fullmatch(prefix))
    return prefix.endswith(_ORGANISATION_END) or head_of_place


def compare_roles(a: list[Role], b: list[Role]) -> list[tuple[Role, Role, bool]]:
    """Pairs (role of a, role of b, same holder?) for the same role name."""
    return [(ra, rb, holders_equal(ra.holder, rb.holder)) for ra in a for rb in b if ra.role == rb.role]


# --- departments ----------------------------------------------------------------------
# a department as municipalities name them: …課, …係 (a village's unit), …室 (not a room: see ROOMS)
_DEPT = re.compile(rf"[{KANJI}{KATAKANA}]{{1,14}}?[課係室](?![{KANJI}])")
_DEPT_RESPONSIBLE = re.compile(r"^(?:が|は|を中心|において|で(?:は|実施|担)|の所管|の担当|が担当|が所管)")
_DEPT_LABEL_BEFORE = re.compile(r"(?:担当(?:課|係|部署)?|所管(?:課|係|部署)?)(?:は|:|：)?$")
_LABEL_LOOKBACK = 8  # characters before a department in which 「担当課：」 may stand
# 「（担当課：地域包括ケア推進課、福祉課）」: a label naming the departments of what precedes it
DEPARTMENT_LABEL = re.compile(r"(?:担当(?:課|係)?|所管(?:課|係)?|担当部署|所管部署)(?:は|:|：)\s*(?P<list>[^）)\n。]{2,60})")


def departments(norm_text: str, responsible_only: bool) -> list[str]:
    """Departments (…課) named in normalised text; with `responsible_only`, only those said to be
    in charge (「福祉課が中心となって」, 「担当課：企画課」), not partners (「福祉課と連携し」)."""
    found: list[str] = []
    for m in _DEPT.finditer(norm_text):
        name = m.group()
        if name in GENERIC_DEPARTMENTS or name.endswith(GENERIC_DEPARTMENT_ENDS) or name.endswith(ROOMS):
            continue
        if norm_text.startswith(("と連携", "と協力", "等と"), m.end()):
            continue
        before = norm_text[max(0, m.start() - _LABEL_LOOKBACK) : m.start()]
        in_charge = bool(_DEPT_RESPONSIBLE.match(norm_text[m.end() :]) or _DEPT_LABEL_BEFORE.search(before))
        if in_charge or not responsible_only:
            found.append(name)
    return list(dict.fromkeys(found))


# --- office heads ---------------------------------------------------------------------
# an office holder: the head of a municipality, a department, a body or a school (村長, 副市長, 総務課長,
# 所属長, 委員長, 教育長, 消防署長), not a word that merely ends in 長 (成長, 延長, 首長 as a word for heads)
_HEAD = re.compile(
    rf"(?<![{KANJI}{KATAKANA}])[{KANJI}{KATAKANA}]*?"
    r"(?:[市町村区課部局室係所会署団校園館]|委員|議|座|所属|教育|事務局)長"
    rf"(?![{KANJI}{KATAKANA}])"
)
_HEAD_ACTS = re.compile(r"^(?:が|は|を中心|において)")


def heads(norm_text: str, acting_only: bool) -> list[str]:
    """Office holders named in normalised text; with `acting_only`, only those who act in it (「副村長が
    とりまとめ」「総務課長は…まとめ」), not those acted upon (「村長に報告する」) nor a role as a topic."""
    found = []
    for m in _HEAD.finditer(norm_text):
        after = norm_text[m.end() :]
        # 「部会長は、会長の指名する委員がこれに当たる」: a role as the topic, whose holder the roles read
        topic = m.group() in ROLE_NAMES and after.startswith("は")
        if not acting_only or (_HEAD_ACTS.match(after) and not topic):
            found.append(m.group())
    return list(dict.fromkeys(found))

