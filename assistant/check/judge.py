"""The verdict on one statement, given the passages retrieved for it.

Each passage is cut into candidates (`check.candidates`: sentences, list items, table rows, with
their title, section path, header and the sentence before), and each candidate gets the fitted
probability that it speaks of the statement's subject (`check.subject`). The candidates at or
above the model's operating point are the statement's evidence; their values are compared with
the statement's (`check.compare`: within the one sentence or row, figure with figure of the same
kind, unit and role).

- conflict: evidence states a different value (period, target year, amount, share, department,
  role holder) while agreeing on the reference time if it states one, or — a candidate that
  restates the statement (the model's `restated`) — names another actor in the same slot
  (「地域福祉課へ報告し」 ⇔ 「健康づくり課へ報告し」); a value counts as
  contradicted only when the contradicting candidate is clearly more probably on the subject (the
  model's `lead`) than any candidate that confirms it;
- consistent: evidence states the same values (for a statement with no values: a candidate very
  probably on the subject, the model's `restated`, or one that says nearly the same words);
- unsupported: no candidate reaches the operating point, or none confirms the statement's values;
- not_judged: a fragment without content words, or a year that cannot be placed (「元年」 alone).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field

from assistant.check.candidates import Candidate, passage_candidates
from assistant.check.compare import Comparison, compare_actors, compare_values
from assistant.check.report import EvidenceRef, StatementResult, cite
from assistant.check.statements import Statement
from assistant.check.subject import Retrieval, Subject, SubjectModel, features, names_another_document
from assistant.check.values import Values, values_of
from assistant.evidence import WordWeights
from assistant.text.numerals import plain
from assistant.types import Passage

MIN_STATEMENT_CHARS = 8  # shorter and without figures: a heading or a table label, not a statement
# Measured on the bundled samples' planted disagreements and the first 12 development statements
# (kept from the hand-weighted checker): a statement without values is confirmed by a sentence with
# this share of its words, whatever the model says.
SAME_STATEMENT = 0.8
MISSING_SHOWN = 4  # values listed in an "unsupported" explanation
EVIDENCE_SHOWN = 3  # passages shown as evidence
_BARE_ERA_GANNEN = re.compile(r"(?<!明治)(?<!大正)(?<!昭和)(?<!平成)(?<!令和)(?<![MTSHR])元年")


@dataclass
class Scored:
    candidate: Candidate
    probability: float  # on the statement's subject (`SubjectModel`)
    features: dict[str, float]
    comparison: Comparison | None = None  # values only
    restating: Comparison | None = None  # values and actors (`compare.compare_actors`), for a restatement
    used: Comparison | None = None  # the one that counts at the operating point
    other_document: bool = False  # it names a document the statement does not (`subject.names_another_document`)


@dataclass
class Prepared:
    """One statement and its scored candidates, before the operating point decides."""

    result: StatementResult
    statement_plain: str
    draft: Values
    has_values: bool
    candidates: list[Scored] = field(default_factory=list)


def prepare(statement: Statement, passages: list[Passage], words: WordWeights, cache: dict,
            ranks: list[int] | None = None) -> Prepared | StatementResult:
    """The statement's candidates with their features, or the result when it cannot be judged."""
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
    subject = Subject.read(statement.text, draft, words)
    if subject is None:
        result.verdict = "not_judged"
        result.explanation = "見出しや断片のため、照合に使える語句がありません。"
        return result
    has_values = any(f.kind != "ordinal" for f in draft.facts) or bool(draft.roles or draft.departments)
    if not has_values and len(statement_plain) < MIN_STATEMENT_CHARS:
        result.verdict = "not_judged"
        result.explanation = "短い語句（見出し・表の項目名など）のため、判定していません。"
        return result
    prepared = Prepared(result, statement_plain, draft, has_values)
    ranks = ranks if ranks is not None else list(range(len(passages)))
    docs = Counter(p.doc_id for p in passages)
    top_doc = passages[ranks.index(min(ranks))].doc_id if passages else ""
    for p, rank in zip(passages, ranks):
        key = (p.doc_id, p.chunk_no, p.text[:40])
        if key not in cache:
            cache[key] = passage_candidates(p, words)
        where = Retrieval(rank, p.doc_id == top_doc, docs[p.doc_id] / len(passages))
        prepared.candidates += [Scored(c, 0.0, features(subject, c, where), other_document=names_another_document(subject, c))
                                for c in cache[key]]
    return prepared


def judge(statement: Statement, passages: list[Passage], words: WordWeights, cache: dict,
          model: SubjectModel, ranks: list[int] | None = None) -> StatementResult:
    """The verdict on one statement, given the passages retrieved for it (best first, or ranked by `ranks`)."""
    prepared = prepare(statement, passages, words, cache, ranks)
    if isinstance(prepared, StatementResult):
        return prepared
    for x in prepared.candidates:
        x.probability = model.probability(x.features)
    return decide(prepared, model.threshold, model.lead, model.restated)


def decide(prepared: Prepared, threshold: float, lead: float, restated: float) -> StatementResult:
    """The verdict from the candidates' probabilities: evidence is what reaches `threshold`; a
    statement without values is confirmed by evidence that reaches `restated` or says nearly the
    same words (SAME_STATEMENT)."""
    result, draft, has_values = prepared.result, prepared.draft, prepared.has_values
    result = StatementResult(result.id, result.text, result.section, "unsupported", "", line=result.line)
    same_subject = [x for x in prepared.candidates if x.probability >= threshold]
    # a statement that names the plan it speaks of is judged by the documents that name that plan somewhere
    # among its candidates (a table of that plan need not repeat the name), and not by a sentence that names
    # another plan: another plan's own period or target is another subject, whatever the words share
    own = [x for x in same_subject if not x.other_document]
    if any(x.features.get("document_missing", 0.0) > 0 for x in same_subject):
        naming = {x.candidate.passage.doc_id for x in same_subject if x.features.get("document_missing", 0.0) == 0}
        same_subject = [x for x in own if x.candidate.passage.doc_id in naming] or own or same_subject
    else:
        same_subject = own or same_subject
    for x in same_subject:
        c = x.candidate
        if x.comparison is None:
            x.comparison = compare_values(draft, c.values, c.passage_values, prepared.statement_plain)
        x.used = x.comparison
        if x.probability >= restated:  # a restatement: the actor in each slot must be the same too
            if x.restating is None:
                x.restating = copy.deepcopy(x.comparison)
                compare_actors(x.restating, prepared.statement_plain, c.plain)
            x.used = x.restating
    same_subject.sort(key=lambda x: (-x.probability, -_cmp(x).linked, -x.features["full"]))

    support = [x for x in same_subject if _cmp(x).outcome == "support"]
    if not has_values:
        support = [x for x in same_subject if _cmp(x).outcome != "conflict"
                   and (x.probability >= restated or x.features["full"] >= SAME_STATEMENT)]
    contradicted = _contradicted(same_subject, lead, restated)
    if contradicted:
        result.verdict = "conflict"
        entries = [entry for _, entry, _ in contradicted]
        result.draft_values = [d for _, d, _ in entries]
        result.evidence_values = [e for _, _, e in entries]
        parts = [f"{label}が異なります：原案「{d}」⇔ 資料「{e}」" for label, d, e in entries]
        cites = dict.fromkeys(cite(x.candidate.passage) for _, _, x in contradicted)
        result.explanation = "／".join(dict.fromkeys(parts)) + f"（{'、'.join(cites)}）"
        result.evidence = _refs(
            [x for _, _, x in contradicted] + [x for x in same_subject if _cmp(x).outcome == "conflict"]
        )
    elif support:
        top = support[0]
        same = _cmp(top).same
        result.verdict = "consistent"
        result.draft_values = [d for d, _ in same]
        result.evidence_values = [e for _, e in same]
        if same:
            pairs = "、".join(f"「{d}」" + (f"＝「{e}」" if plain(d) != plain(e) else "") for d, e in same)
            result.explanation = f"資料の記述と値が一致します：{pairs}（{cite(top.candidate.passage)}）"
        else:
            result.explanation = f"資料に同じ趣旨の記述があります（{cite(top.candidate.passage)}）"
        result.evidence = _refs(support)
    else:
        near = same_subject[0] if same_subject else None
        if near is not None and has_values:
            missing = _cmp(near).missing or [d for d, _ in _cmp(near).same] or draft.surfaces()
            result.explanation = (
                f"同じ主題の記述（{cite(near.candidate.passage)}）はありますが、原案の値"
                f"（{'、'.join(missing[:MISSING_SHOWN])}）を確かめられる記述が見当たりません。"
            )
        else:
            result.explanation = "照合先の資料に、この記述を裏付ける箇所が見当たりません。"
    return result


def _cmp(x: Scored) -> Comparison:
    assert x.used is not None
    return x.used


def _contradicted(same_subject: list[Scored], lead: float,
                  restated: float) -> list[tuple[object, tuple[str, str, str], Scored]]:
    """The draft's values that a candidate on the same subject contradicts and no candidate about
    as probably on the subject (within `lead`) confirms: (value key, (label, draft value, evidence
    value), candidate), most probable first. Dates and years alone (運行開始の年月) are contradicted
    only by a candidate that restates the statement (`restated`)."""
    confirmed: dict[object, float] = {}
    for x in same_subject:
        if not _cmp(x).ordinal_differs:
            for key in _cmp(x).same_keys:
                confirmed[key] = max(confirmed.get(key, 0.0), x.probability)
    found: dict[object, tuple[tuple[str, str, str], Scored]] = {}
    for x in same_subject:  # most probable first
        c = _cmp(x)
        if c.outcome != "conflict":
            continue
        weak_only = not c.strong_same and not c.strong_differ
        if weak_only and x.probability < restated:
            continue
        for key, entry in zip(c.differ_keys, c.differ):
            if key not in found and x.probability >= confirmed.get(key, 0.0) + lead:
                found[key] = (entry, x)
    return [(key, entry, x) for key, (entry, x) in found.items()]


def _refs(ranked: list[Scored], limit: int = EVIDENCE_SHOWN) -> list[EvidenceRef]:
    """The best passages, one per document first: when several documents state the figure,
    each of them is shown."""
    unique: list[Scored] = []
    seen: set[tuple[str, int]] = set()
    for x in ranked:
        key = (x.candidate.passage.doc_id, x.candidate.passage.chunk_no)
        if key not in seen:
            seen.add(key)
            unique.append(x)
    first: list[Scored] = []
    docs: set[str] = set()
    for x in unique:
        if x.candidate.passage.doc_id not in docs:
            docs.add(x.candidate.passage.doc_id)
            first.append(x)
    chosen = (first + [x for x in unique if x not in first])[:limit]
    return [EvidenceRef(x.candidate.passage, x.candidate.text, round(x.probability, 3)) for x in chosen]
