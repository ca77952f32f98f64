"""Draft check: every statement of a draft plan against the indexed plan documents.

For each statement the documents are searched (BM25 first, the hybrid search too unless BM25 already
gives a clear verdict; filtered by `against`), the passages are
cut into sentences, and each sentence is scored by how well it covers the statement's subject:
the IDF-weighted share of the statement's content words left after its values (years, periods,
amounts, percentages, role holders, departments) are taken out. Values are then compared as
values (`assistant.facts`: era years, full-width and kanji numerals, 千人/万人, g/kg …):

- conflict: a sentence about the same subject states a different value (period, target year,
  amount, share, department, role holder) while agreeing on the reference time if it states one;
- consistent: a sentence about the same subject states the same values (for a statement with no
  values: one sentence says the same thing, nearly word for word);
- unsupported: no sentence is about the same subject, or none confirms the statement's values;
- not_judged: a fragment without content words, or a year that cannot be placed (「元年」 alone).

No language model takes part in a verdict. Missing the draft's own subject in a document's text
is normal (「本計画の計画期間は…」), so a sentence is scored together with its document title,
section path, table header and the sentence before it. A value counts as contradicted only when
the contradicting sentence covers the subject clearly better (CLEAR_LEAD) than any sentence that
confirms it: 「令和５年度～令和９年度」 is another plan's period in the 国土強靱化地域計画 and a wrong
one in the 地域公共交通計画 the statement names.

Thresholds were measured on the bundled samples' planted disagreements, eval/dev_draft_check.jsonl
and 32 further cases written the same way over ../shared/corpus: every SAME_SUBJECT from 0.3 to 0.6
scores macro-F1 1.0 there (0.65 loses a conflict), and on the whole sample comprehensive-plan draft
0.6 raises the fewest conflicts that are not planted, so 0.6 it is; CLEAR_LEAD 0 wrongly lets six
conflicts win over confirmations, 0.1 and 0.2 do not.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.errors import BadRequest
from assistant.evidence import content_tokens
from assistant.facts import (
    Fact,
    Role,
    compare_facts,
    compare_roles,
    extract_facts,
    extract_roles,
    holders_equal,
    values_equal,
)
from assistant.numerals import normalize_with_offsets, parse_number
from assistant.statements import Statement, split_statements, units
from assistant.types import Passage, SearchFilters

AGAINST: dict[str, list[str] | None] = {
    "sector_plan": ["sector_plan"],
    "plan": ["plan"],
    "consultation": ["consultation"],
    "all": None,
}
VERDICTS = ("consistent", "conflict", "unsupported", "not_judged")
VERDICT_JA = {
    "consistent": "整合",
    "conflict": "相違あり",
    "unsupported": "根拠なし",
    "not_judged": "判定対象外",
}
MAX_DRAFT_CHARS = 3_000_000
MAX_GAPS = 50
GAP_DOCS = 5
MIN_STATEMENT_CHARS = 8  # shorter and without figures: a heading or a table label, not a statement

# Measured on the bundled samples' planted disagreements and eval/dev_draft_check.jsonl.
SAME_SUBJECT = 0.6  # share of the statement's subject words a sentence (with its context) must cover
SAME_STATEMENT = 0.8  # share of all its words, for a statement without values
SENTENCE_SHARE = 0.35  # … of which the sentence itself must cover at least this much,
SENTENCE_WITH_PREVIOUS = 0.6  # … or, with the sentence before it, this much (its subject named there)
SENTENCE_MIN = 0.1
CLEAR_LEAD = 0.1  # a conflict must cover the subject this much better than the best confirmation
DECISIVE = 0.8  # a verdict from BM25 passages whose evidence covers this much needs no dense search
GAP_COVERED = 0.6  # a document's target counts as mentioned when a statement covers this much of it

ProgressFn = Callable[[int, int], None]


# ---------------------------------------------------------------------- report types
@dataclass
class EvidenceRef:
    passage: Passage
    sentence: str
    coverage: float = 0.0

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "doc": p.doc_id,
            "title": p.title,
            "section": p.section,
            "page": p.page,
            "text": p.text,
            "sentence": self.sentence,
            "pages": p.pages,
            "type": p.doc_type,
        }


@dataclass
class StatementResult:
    id: str
    text: str
    section: str
    verdict: str
    explanation: str
    draft_values: list[str] = field(default_factory=list)
    evidence_values: list[str] = field(default_factory=list)
    evidence: list[EvidenceRef] = field(default_factory=list)
    line: int = 0

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "section": self.section,
            "verdict": self.verdict,
            "explanation": self.explanation,
            "draft_values": self.draft_values,
            "evidence_values": self.evidence_values,
            "evidence": [e.to_dict() for e in self.evidence],
            "line": self.line,
        }


@dataclass
class Gap:
    passage: Passage
    text: str
    values: list[str]

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "doc": p.doc_id,
            "title": p.title,
            "section": p.section,
            "page": p.page,
            "text": self.text,
            "values": self.values,
        }


@dataclass
class CheckReport:
    statements: list[StatementResult]
    gaps: list[Gap] = field(default_factory=list)
    against: str = "all"

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(s.verdict for s in self.statements)
        return {v: counts.get(v, 0) for v in VERDICTS}

    def to_dict(self) -> dict:
        return {
            "statements": [s.to_dict() for s in self.statements],
            "gaps": [g.to_dict() for g in self.gaps],
            "summary": self.summary,
            "against": self.against,
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(
            [
                "kind",
                "id",
                "section",
                "text",
                "verdict",
                "explanation",
                "draft_values",
                "evidence_values",
                "evidence_doc",
                "evidence_title",
                "evidence_section",
                "evidence_page",
                "evidence_sentence",
            ]
        )
        for s in self.statements:
            e = s.evidence[0] if s.evidence else None
            w.writerow(
                [
                    "statement",
                    s.id,
                    s.section,
                    s.text,
                    s.verdict,
                    s.explanation,
                    " / ".join(s.draft_values),
                    " / ".join(s.evidence_values),
                    e.passage.doc_id if e else "",
                    e.passage.title if e else "",
                    e.passage.section if e else "",
                    e.passage.page or "" if e else "",
                    e.sentence if e else "",
                ]
            )
        for n, g in enumerate(self.gaps, 1):
            w.writerow(
                [
                    "gap",
                    f"g{n}",
                    "",
                    "",
                    "not_in_draft",
                    "原案に記載が見当たらない資料の目標・指標",
                    "",
                    " / ".join(g.values),
                    g.passage.doc_id,
                    g.passage.title,
                    g.passage.section,
                    g.passage.page or "",
                    g.text,
                ]
            )
        return out.getvalue()

    def to_markdown(self) -> str:
        s = self.summary
        counts = (
            f"照合先: {self.against}　／　整合 {s['consistent']} 件・相違あり {s['conflict']} 件・"
            f"根拠なし {s['unsupported']} 件・判定対象外 {s['not_judged']} 件"
        )
        lines = [
            "# 原案の整合性チェック結果",
            "",
            counts,
            "",
            "| No. | 判定 | 原案の記述 | 説明 | 根拠 |",
            "|---|---|---|---|---|",
        ]
        for r in self.statements:
            cite = "<br>".join(f"{_cite(e.passage)}「{_md(e.sentence)}」" for e in r.evidence[:2])
            lines.append(
                f"| {r.id} | {VERDICT_JA[r.verdict]} | {_md(r.text)} | {_md(r.explanation)} | {cite} |"
            )
        if self.gaps:
            lines += [
                "",
                "## 原案に反映されていない可能性のある目標・指標",
                "",
                "| 資料 | 該当箇所 | 数値 |",
                "|---|---|---|",
            ]
            for g in self.gaps:
                lines.append(f"| {_cite(g.passage)} | {_md(g.text)} | {_md(' / '.join(g.values))} |")
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "｜").replace("\n", " ")


def _cite(p: Passage) -> str:
    page = f" p.{p.page}" if p.page else ""
    section = f" {p.section.split(' > ')[-1]}" if p.section else ""
    return f"『{p.title}』{page}{section}"


# ---------------------------------------------------------------------- values
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff々〆ヵヶ"
_KATA = "ァ-ヺー"
_MASS = re.compile(
    r"(?<![\d.,])(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)(?P<u>kg|mg|g|キログラム|グラム)(?![A-Za-z])"
)
_MASS_FACTOR = {"kg": 1000.0, "キログラム": 1000.0, "g": 1.0, "グラム": 1.0, "mg": 0.001}
_BARE = re.compile(
    rf"(?<![\d.,A-Za-z])(?P<num>\d+(?:,\d{{3}})*(?:\.\d+)?)(?P<u>[{_KANJI}{_KATA}A-Za-z]{{0,4}})"
)
_CLAUSE_BREAK = re.compile(r"[。、，,()（）「」『』:：/／|｜・]")
_DEPT = re.compile(rf"[{_KANJI}{_KATA}]{{1,14}}?課(?![{_KANJI}])")
_DEPT_GENERIC = {"担当課", "所管課", "関係課", "各課", "同課", "本課", "主管課", "課"}
_DEPT_RESPONSIBLE = re.compile(r"^(?:が|は|を中心|において|で(?:は|実施|担)|の所管|の担当|が担当|が所管)")
_DEPT_LABEL_BEFORE = re.compile(r"(?:担当課?|所管課?)(?:は|:|：)?$")
_DEPT_LABEL = re.compile(r"(?:担当課?|所管課?|担当部署|所管部署)(?:は|:|：)\s*(?P<list>[^）)\n。]{2,60})")
_BARE_ERA_GANNEN = re.compile(r"(?<!明治)(?<!大正)(?<!昭和)(?<!平成)(?<!令和)(?<![MTSHR])元年")
_PER_YEAR = re.compile(r"(?:毎年度?|年間|年平均|1年当たり|1年あたり)\s*(?:約|で|に)?\s*$")
_STRONG = {"period", "duration", "quantity", "percent", "points", "number", "role"}
_WEAK = {"year", "date"}


@dataclass
class Values:
    facts: list[Fact]
    roles: list[Role]
    departments: list[str]  # departments named as responsible (担当・所管・中心)
    text: str = ""

    def per_year(self, f: Fact) -> bool:
        """「毎年度600人」「年間600件」: a yearly rate, not a total."""
        return bool(_PER_YEAR.search(self.text[max(0, f.start - 6) : f.start]))

    def surfaces(self) -> list[str]:
        return [f.surface for f in self.facts] + [r.holder for r in self.roles] + self.departments


def _extra_facts(text: str, facts: list[Fact]) -> list[Fact]:
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
            window = "".join("\x00" if taken[i] else t[i] for i in range(max(0, s - 20), s))
            clause = _CLAUSE_BREAK.split(window)[-1].replace("\x00", "")
            subject = re.sub(rf"^[^{_KANJI}{_KATA}A-Za-z]+|[^{_KANJI}{_KATA}A-Za-z0-9]+$", "", clause)
            a, b = offsets[s], offsets[e - 1] + 1
            out.append(Fact(kind, value, unit, text[a:b], a, b, subject))
            taken[s:e] = b"\x01" * (e - s)
    return sorted(out, key=lambda f: f.start)


def _departments(norm_text: str, responsible_only: bool) -> list[str]:
    """Departments (…課) named in the text; with `responsible_only`, only those said to be in charge
    (「福祉課が中心となって」, 「担当課：企画課」), not partners (「福祉課と連携し」)."""
    found: list[str] = []
    for m in _DEPT.finditer(norm_text):
        name = m.group()
        if name in _DEPT_GENERIC or name.endswith(("担当課", "所管課", "関係課")):
            continue
        if norm_text.startswith(("と連携", "と協力", "等と"), m.end()):
            continue
        before = norm_text[max(0, m.start() - 8) : m.start()]
        in_charge = bool(_DEPT_RESPONSIBLE.match(norm_text[m.end() :]) or _DEPT_LABEL_BEFORE.search(before))
        if in_charge or not responsible_only:
            found.append(name)
    return list(dict.fromkeys(found))


def values_of(text: str, responsible_only: bool = True) -> Values:
    """The comparable values of a statement or sentence."""
    facts = _extra_facts(text, extract_facts(text))
    norm = normalize_with_offsets(text)[0]
    return Values(facts, extract_roles(text), _departments(norm, responsible_only), text)


# ---------------------------------------------------------------------- comparison
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
            return "neutral"
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


_GENERIC_WORDS = re.compile(r"現在|時点|年度末|年度|年末|令和|平成|本市|本計画|計画|前回|全体|合計")


def _foreign_subject(fact: Fact, statement_plain: str) -> bool:
    """The figure is said of something the statement never names (「西山地区の４小学校区」)."""
    subject = _GENERIC_WORDS.sub("・", fact.subject)
    grams = {
        r[i : i + 2] for r in re.findall(rf"[{_KANJI}{_KATA}A-Za-z]+", subject) for i in range(len(r) - 1)
    }
    return bool(grams) and sum(g in statement_plain for g in grams) < 0.5 * len(grams)


def _distance(a: Fact, b: Fact) -> float:
    """How far apart two comparable values are (relative for amounts, in years for periods)."""
    if isinstance(a.value, tuple) or isinstance(b.value, tuple):
        va = a.value if isinstance(a.value, tuple) else (a.value,)
        vb = b.value if isinstance(b.value, tuple) else (b.value,)
        return float(sum(abs(x - y) if x is not None and y is not None else 100 for x, y in zip(va, vb)))
    x, y = float(a.value), float(b.value)
    return abs(x - y) / max(abs(x), abs(y), 1e-9)


def _compatible(a: Fact, b: Fact) -> bool:
    if a.kind == b.kind == "date":  # 「令和５年11月」 and 「令和５年11月21日」 compare on what both state
        return all(x is not None for x in (*a.value[:2], *b.value[:2]))  # type: ignore[index]
    return a.kind == b.kind and (
        a.unit == b.unit or (a.kind in ("year", "period") and {a.unit, b.unit} <= {"年", "年度"})
    )


def _equal(a: Fact, b: Fact) -> bool:
    if a.kind == b.kind == "date" and isinstance(a.value, tuple) and isinstance(b.value, tuple):
        return all(x == y for x, y in zip(a.value, b.value) if x is not None and y is not None)
    return values_equal(a, b)


_RANGE = re.compile(r"から|より|[~〜～\-‐―ー–—]")


def _part(fact: Fact, label: str) -> str:
    """The end (終期) or start (始期) of a period's surface, else the whole surface."""
    pieces = _RANGE.split(fact.surface)
    if len(pieces) == 2 and label.endswith(("の終期", "の始期")):
        piece = pieces[1] if label.endswith("の終期") else pieces[0]
        return re.sub(r"末?まで$", "", piece.strip())
    return fact.surface


def _linked(f: Fact, g: Fact) -> bool:
    """Both figures are said of a named subject, and the subjects share a word (facts.py's test)."""
    return bool(f.subject and g.subject) and bool(compare_facts([f], [g]))


def _candidates(f: Fact, draft: Values, sentence: Values, draft_plain: str) -> list[Fact]:
    """The sentence's figures that measure what `f` measures."""
    paired = {id(b) for _, b, _ in compare_facts([f], sentence.facts)}
    out = []
    for g in sentence.facts:
        if not _compatible(f, g) or (f.kind == "period" and _open_ends(f) != _open_ends(g)):
            continue  # 「令和３年度～令和12年度」 and 「2050年まで」 are not the same kind of statement
        if draft.per_year(f) != sentence.per_year(g):
            continue  # 毎年度600人 is a rate, 12,000人 a total
        # facts.py pairs figures whose subjects share a word; a figure whose subject the statement
        # names too (「設置地区数９地区」 for 「…８地区に設置」) is the same measure as well
        if id(g) in paired or (f.kind in _STRONG | {"date"} and not _foreign_subject(g, draft_plain)):
            out.append(g)
    return out


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
    for f in draft.facts:
        if f.kind == "ordinal":
            pairs = compare_facts([f], [g for g in sentence.facts if g.kind == "ordinal"])
            c.ordinal_differs |= bool(pairs) and not any(eq for _, _, eq in pairs)
    candidates = {id(f): _candidates(f, draft, sentence, draft_plain) for f in facts}
    used: set[int] = set()
    equal: dict[int, Fact] = {}
    for f in facts:
        match = next((g for g in candidates[id(f)] if id(g) not in used and _equal(f, g)), None)
        if match is not None:
            equal[id(f)] = match
            used.add(id(match))
    # the rest are paired with the closest differing figure: an edited value stays near the original
    options = sorted(
        (
            (_distance(f, g), i, j)
            for i, f in enumerate(facts)
            if id(f) not in equal
            for j, g in enumerate(candidates[id(f)])
            if id(g) not in used
        ),
        key=lambda x: x[0],
    )
    differs: dict[int, Fact] = {}
    for _, i, j in options:
        f, g = facts[i], candidates[id(facts[i])][j]
        if id(f) not in differs and id(g) not in used:
            differs[id(f)] = g
            used.add(id(g))
    for f in facts:
        strong = f.kind in _STRONG
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
            c.differ.append(("担当課", d, "、".join(evidence_depts)))
            c.differ_keys.append(("dept", d))
            c.strong_differ += 1
    return c


def _first_per_role(pairs: list[tuple[Role, Role, bool]]) -> list[tuple[Role, Role, bool]]:
    best: dict[tuple[str, str], tuple[Role, Role, bool]] = {}
    for ra, rb, eq in pairs:
        key = (ra.role, ra.holder)
        if key not in best or (eq and not best[key][2]):
            best[key] = (ra, rb, eq)
    return list(best.values())


# ---------------------------------------------------------------------- subject coverage
class WordWeights:
    """Content words and their IDF weights, cached for one check run."""

    def __init__(self, svc) -> None:
        self.bm25, self.registry = svc.sparse, svc.registry
        self._idf: dict[str, float] = {}
        self._tokens: dict[str, frozenset[str]] = {}

    def tokens(self, text: str) -> frozenset[str]:
        got = self._tokens.get(text)
        if got is None:
            got = frozenset(content_tokens(self.bm25, text))
            if len(self._tokens) < 200_000:
                self._tokens[text] = got
        return got

    def weights(self, tokens) -> dict[str, float]:
        todo = [t for t in tokens if t not in self._idf]
        if todo:
            ids = {t: self.bm25._index(t) for t in todo}
            idf = self.registry.idf(list(ids.values()))
            for t, i in ids.items():
                self._idf[t] = idf.get(i, 1.0)
        return {t: self._idf[t] for t in tokens}


def plain(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def cover(weights: dict[str, float], text: str, tokens: frozenset[str]) -> float:
    """IDF-weighted share of the weighted words found in `text` (plain) or among its `tokens`."""
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(w for t, w in weights.items() if t in tokens or t in text) / total


_FILLER = frozenset(
    {
        "うち",
        "ほか",
        "等",
        "など",
        "末",
        "時点",
        "現在",
        "とおり",
        "中",
        "以上",
        "以下",
        "当たり",
        "約",
        "年度",
        "年",
        "月",
        "日",
        "本市",
        "本計画",
        "次",
        "前回",
        "比",
    }
)


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
        for t in words.tokens(text) - value_tokens - _FILLER
        if len(t) > 1 and not re.fullmatch(r"[\d.,]+", t)
    )


# ---------------------------------------------------------------------- sentences of passages
@dataclass
class _Sentence:
    passage: Passage
    text: str
    plain: str
    context: str  # title, section, table header, the sentence before
    tokens: frozenset[str]
    context_tokens: frozenset[str]
    values: Values
    previous: str = ""
    previous_tokens: frozenset[str] = frozenset()
    title: str = ""  # documents call themselves 本計画: the title belongs to every sentence
    title_tokens: frozenset[str] = frozenset()


def _passage_sentences(p: Passage, words: WordWeights) -> list[_Sentence]:
    out = []
    labels = [(m.start(), m["list"]) for m in _DEPT_LABEL.finditer(p.text)]
    context_base = f"{p.title}\n{p.section}"
    title, title_tokens = plain(p.title), words.tokens(p.title)
    pos = 0
    previous = ""
    for u in units(p.text):
        if len(u.text) < 4:
            continue
        values = values_of(u.text, responsible_only=False)
        if u.kind == "row":  # a table row's figures are said of its first cell, not of the cell before
            values.facts = [
                Fact(f.kind, f.value, f.unit, f.surface, f.start, f.end, "") for f in values.facts
            ]
        # 「（担当課：地域包括ケア推進課）」 after the sentence names its department
        at = p.text.find(u.text[:12], pos)
        pos = at if at >= 0 else pos
        for start, names in labels:
            if start >= pos and start - pos < len(u.text) + 200:
                values.departments += [
                    d for d in _departments(plain(names), False) if d not in values.departments
                ]
                break
        # the subject is often named once, in the sentence before (「協議会は…組織です。令和４年度末現在で…」)
        context = f"{context_base}\n{u.header}\n{previous}"
        out.append(
            _Sentence(
                p,
                u.text,
                plain(u.text),
                plain(context),
                words.tokens(u.text),
                words.tokens(context),
                values,
                plain(previous),
                words.tokens(previous),
                title,
                title_tokens,
            )
        )
        previous = u.text
    return out


# ---------------------------------------------------------------------- judging one statement
@dataclass
class _Scored:
    sentence: _Sentence
    coverage: float  # subject words, sentence with context
    full: float  # all words, sentence alone
    comparison: Comparison


def judge(statement: Statement, passages: list[Passage], words: WordWeights, cache: dict) -> StatementResult:
    """The verdict on one statement, given the passages retrieved for it."""
    result = StatementResult(
        statement.id, statement.text, statement.section, "unsupported", "", line=statement.line
    )
    draft = values_of(statement.text)
    statement_plain = plain(statement.text)
    if _BARE_ERA_GANNEN.search(statement_plain):
        result.verdict = "not_judged"
        result.explanation = (
            "元号のない「元年」は年を特定できないため、判定していません。元号を補ってください。"
        )
        return result
    subject_weights = words.weights(subject_tokens(words, statement.text, draft))
    full_weights = words.weights(words.tokens(statement.text))
    if not subject_weights or sum(full_weights.values()) == 0:
        result.verdict = "not_judged"
        result.explanation = "見出しや断片のため、照合に使える語句がありません。"
        return result
    has_values = any(f.kind != "ordinal" for f in draft.facts) or bool(draft.roles or draft.departments)
    if not has_values and len(statement_plain) < MIN_STATEMENT_CHARS:
        result.verdict = "not_judged"
        result.explanation = "短い語句（見出し・表の項目名など）のため、判定していません。"
        return result

    scored: list[_Scored] = []
    for p in passages:
        key = (p.doc_id, p.chunk_no, p.text[:40])
        if key not in cache:
            cache[key] = _passage_sentences(p, words)
        passage_values = Values([f for x in cache[key] for f in x.values.facts], [], [])
        for s in cache[key]:
            own = cover(subject_weights, s.title + s.plain, s.tokens | s.title_tokens)
            if own < SENTENCE_SHARE and (
                own < SENTENCE_MIN
                or cover(
                    subject_weights,
                    s.title + s.previous + s.plain,
                    s.tokens | s.previous_tokens | s.title_tokens,
                )
                < SENTENCE_WITH_PREVIOUS
            ):
                continue
            with_context = cover(subject_weights, s.plain + s.context, s.tokens | s.context_tokens)
            full = cover(full_weights, s.plain, s.tokens)
            if with_context < SAME_SUBJECT and full < SAME_STATEMENT:
                continue
            scored.append(
                _Scored(
                    s, with_context, full, compare_values(draft, s.values, passage_values, statement_plain)
                )
            )
    scored.sort(key=lambda x: (-x.coverage, -x.comparison.linked, -x.full))
    same_subject = [x for x in scored if x.coverage >= SAME_SUBJECT]

    support = [x for x in same_subject if x.comparison.outcome == "support"]
    if not has_values:
        support = [x for x in scored if x.full >= SAME_STATEMENT and x.comparison.outcome != "conflict"]
        support.sort(key=lambda x: -x.full)
    contradicted = _contradicted(same_subject)
    if contradicted:
        result.verdict = "conflict"
        entries = [entry for _, entry, _ in contradicted]
        result.draft_values = [d for _, d, _ in entries]
        result.evidence_values = [e for _, _, e in entries]
        parts = [f"{label}が異なります：原案「{d}」⇔ 資料「{e}」" for label, d, e in entries]
        cites = dict.fromkeys(_cite(x.sentence.passage) for _, _, x in contradicted)
        result.explanation = "／".join(dict.fromkeys(parts)) + f"（{'、'.join(cites)}）"
        result.evidence = _refs(
            [x for _, _, x in contradicted] + [x for x in same_subject if x.comparison.outcome == "conflict"]
        )
    elif support:
        top = support[0]
        result.verdict = "consistent"
        result.draft_values = [d for d, _ in top.comparison.same]
        result.evidence_values = [e for _, e in top.comparison.same]
        if top.comparison.same:
            pairs = "、".join(
                f"「{d}」" + (f"＝「{e}」" if plain(d) != plain(e) else "") for d, e in top.comparison.same
            )
            result.explanation = f"資料の記述と値が一致します：{pairs}（{_cite(top.sentence.passage)}）"
        else:
            result.explanation = f"資料に同じ趣旨の記述があります（{_cite(top.sentence.passage)}）"
        result.evidence = _refs(support)
    else:
        near = same_subject[0] if same_subject else None
        if near is not None and has_values:
            missing = near.comparison.missing or [d for d, _ in near.comparison.same] or draft.surfaces()
            result.explanation = (
                f"同じ主題の記述（{_cite(near.sentence.passage)}）はありますが、原案の値"
                f"（{'、'.join(missing[:4])}）を確かめられる記述が見当たりません。"
            )
        else:
            result.explanation = "照合先の資料に、この記述を裏付ける箇所が見当たりません。"
    return result


def _contradicted(same_subject: list[_Scored]) -> list[tuple[object, tuple[str, str, str], _Scored]]:
    """The draft's values that a sentence on the same subject contradicts and no sentence that
    covers the subject about as well (within CLEAR_LEAD) confirms: (value key, (label, draft
    value, evidence value), sentence), best-covered first."""
    confirmed: dict[object, float] = {}
    for x in same_subject:
        if not x.comparison.ordinal_differs:
            for key in x.comparison.same_keys:
                confirmed[key] = max(confirmed.get(key, 0.0), x.coverage)
    found: dict[object, tuple[tuple[str, str, str], _Scored]] = {}
    for x in same_subject:  # best coverage first
        if x.comparison.outcome != "conflict":
            continue
        weak_only = not x.comparison.strong_same and not x.comparison.strong_differ
        if weak_only and x.coverage < SAME_STATEMENT:
            continue
        for key, entry in zip(x.comparison.differ_keys, x.comparison.differ):
            if key not in found and x.coverage >= confirmed.get(key, 0.0) + CLEAR_LEAD:
                found[key] = (entry, x)
    return [(key, entry, x) for key, (entry, x) in found.items()]


def _refs(ranked: list[_Scored], limit: int = 3) -> list[EvidenceRef]:
    """The best passages, one per document first: when several documents state the figure,
    each of them is shown."""
    unique: list[_Scored] = []
    seen: set[tuple[str, int]] = set()
    for x in ranked:
        key = (x.sentence.passage.doc_id, x.sentence.passage.chunk_no)
        if key not in seen:
            seen.add(key)
            unique.append(x)
    docs: set[str] = set()
    first = [
        x for x in unique if x.sentence.passage.doc_id not in docs and not docs.add(x.sentence.passage.doc_id)
    ]
    chosen = (first + [x for x in unique if x not in first])[:limit]
    return [EvidenceRef(x.sentence.passage, x.sentence.text, round(x.coverage, 3)) for x in chosen]


# ---------------------------------------------------------------------- the whole draft
def search_filters(svc, against: str, exclude_docs: list[str] | None) -> SearchFilters:
    if against not in AGAINST:
        raise BadRequest(f"照合先の指定が正しくありません: {against}（{' / '.join(AGAINST)} のいずれか）")
    types = AGAINST[against]
    if not exclude_docs:
        return SearchFilters(doc_types=types)
    excluded = set(exclude_docs)
    ids = [
        d.doc_id
        for d in svc.documents()
        if d.doc_id not in excluded and (types is None or d.doc_type in types)
    ]
    if not ids:
        raise BadRequest("照合先の資料がありません。資料を取り込むか、照合先の指定を見直してください。")
    return SearchFilters(doc_ids=ids)


def _judge_retrieved(
    svc, st: Statement, k: int, filters: SearchFilters, words: WordWeights, cache: dict
) -> StatementResult:
    """BM25 first (cheap, and best for statements full of figures, whose dense ranking favours
    number tables); the hybrid search too unless BM25 already gives a clear verdict."""
    if len(plain(st.text)) < 2:
        return judge(st, [], words, cache)
    query = st.text[:2000]
    passages = svc.search(query, k, filters, mode="sparse")
    result = judge(st, passages, words, cache)
    if result.verdict in ("consistent", "conflict") and result.evidence[0].coverage >= DECISIVE:
        return result
    seen = {(p.doc_id, p.chunk_no) for p in passages}
    passages += [p for p in svc.search(query, k, filters) if (p.doc_id, p.chunk_no) not in seen]
    return judge(st, passages, words, cache)


def check_draft(
    svc,
    draft: str,
    against: str = "all",
    progress: ProgressFn | None = None,
    batch_size: int = 32,
    exclude_docs: list[str] | None = None,
    k: int = 8,
    gaps: bool = True,
) -> CheckReport:
    """Check every statement of `draft` against the documents chosen by `against`."""
    if not (draft or "").strip():
        raise BadRequest("原案の本文が空です。確認したい文章を入力するか、ファイルを指定してください。")
    if len(draft) > MAX_DRAFT_CHARS:
        raise BadRequest(
            f"原案が長すぎます（{len(draft)}文字）。{MAX_DRAFT_CHARS}文字以内に分割してください。"
        )
    filters = search_filters(svc, against, exclude_docs)
    statements = split_statements(draft)
    if not statements:
        raise BadRequest("原案から確認できる文が見つかりませんでした。本文を確認してください。")
    words = WordWeights(svc)
    cache: dict = {}
    results: list[StatementResult] = []
    relied_on: Counter[str] = Counter()
    total = len(statements)
    for start in range(0, total, max(1, batch_size)):
        for st in statements[start : start + batch_size]:
            result = _judge_retrieved(svc, st, k, filters, words, cache)
            results.append(result)
            if result.verdict in ("consistent", "conflict"):
                relied_on[result.evidence[0].passage.doc_id] += 1
        if progress:
            progress(min(start + batch_size, total), total)
    report = CheckReport(results, against=against)
    # the plans the draft mainly relies on: cited by several statements, not once in passing
    plans = {d.doc_id for d in svc.documents() if d.doc_type in ("plan", "sector_plan")}
    top = max(relied_on.values(), default=0)
    sources = [d for d, n in relied_on.most_common() if d in plans and n >= max(2, top // 5)][:GAP_DOCS]
    if gaps and sources:
        report.gaps = find_gaps(svc, statements, sources, filters, words)
    return report


# ---------------------------------------------------------------------- reverse gaps
_TARGET = re.compile(r"目標|指標|ＫＰＩ|KPI|までに|を目指|目指し")
_GAP_QUERY = "目標値 成果指標 評価指標 目標 までに 目指す"


def find_gaps(
    svc,
    statements: list[Statement],
    docs: list[str],
    filters: SearchFilters,
    words: WordWeights,
    limit: int = MAX_GAPS,
) -> list[Gap]:
    """Targets in the documents the draft relies on that no statement of the draft mentions."""
    index: dict[str, set[int]] = {}
    stmt_tokens = []
    for i, st in enumerate(statements):
        toks = words.tokens(st.text)
        stmt_tokens.append(toks)
        for t in toks:
            index.setdefault(t, set()).add(i)
    gaps: list[Gap] = []
    seen: set[str] = set()
    for doc in docs:
        doc_filter = SearchFilters(doc_types=filters.doc_types, doc_ids=[doc])
        for p in svc.search(_GAP_QUERY, 60, doc_filter):
            for u in units(p.text):
                if u.kind == "heading" or len(u.text) < 6:
                    continue
                if not (_TARGET.search(u.text) or (u.kind == "row" and _TARGET.search(u.header))):
                    continue
                values = values_of(u.text, responsible_only=False)
                figures = [f for f in values.facts if f.kind in _STRONG]
                key = plain(u.text)
                if not figures or key in seen:
                    continue
                seen.add(key)
                weights = words.weights(subject_tokens(words, u.text, values))
                total = sum(weights.values())
                if not total:
                    continue
                candidates = set().union(*(index.get(t, set()) for t in weights))
                best = max(
                    (sum(w for t, w in weights.items() if t in stmt_tokens[i]) / total for i in candidates),
                    default=0.0,
                )
                if best < GAP_COVERED:
                    gaps.append(Gap(p, u.text, [f.surface for f in values.facts]))
                    if len(gaps) >= limit:
                        return gaps
    return gaps


def combined_verdict(report: CheckReport) -> tuple[str, StatementResult | None]:
    """One verdict for a short draft: any conflict, else any consistent, else unsupported."""
    for verdict in ("conflict", "consistent"):
        for r in report.statements:
            if r.verdict == verdict:
                return verdict, r
    unsupported = next((r for r in report.statements if r.verdict == "unsupported"), None)
    return "unsupported", unsupported or (report.statements[0] if report.statements else None)
