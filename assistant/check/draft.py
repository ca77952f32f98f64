"""The draft loop: every statement of a draft, its evidence retrieved and judged, and the targets
of the plans the draft relies on that it never mentions (reverse gaps).

Evidence is searched with BM25 (best for statements full of figures, whose dense ranking favours
number tables) and with the hybrid search (the answers' ranking); the candidates of both are
scored by the fitted same-subject model (`check.subject`) and judged (`check.judge`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from assistant.check.candidates import Candidate, passage_candidates
from assistant.check.judge import judge
from assistant.check.report import CheckReport, Gap, StatementResult
from assistant.check.statements import Statement, split_statements
from assistant.check.subject import MODEL_PATH, Retrieval, Subject, SubjectModel, features
from assistant.check.values import STRONG, values_of
from assistant.errors import BadRequest
from assistant.evidence import TermStatistics, WordWeights
from assistant.retrieve import Mode
from assistant.text.numerals import plain
from assistant.text.tokens import Tokenizer
from assistant.types import AGAINST, AGAINST_TYPES, DocumentMeta, Passage, SearchFilters

MAX_DRAFT_CHARS = 3_000_000
MAX_GAPS = 50
GAP_DOCS = 5
GAP_SOURCE_SHARE = 5  # a plan the draft relies on is cited by at least 1/this of the top plan's count …
GAP_SOURCE_MIN = 2  # … and at least this often
GAP_PASSAGES = 60  # passages searched for targets per relied-on plan
SEARCH_MODES: tuple[Mode, ...] = ("sparse", "hybrid")

ProgressFn = Callable[[int, int], None]


class Documents(Protocol):
    """What the check needs of the service: search, the document list and the term statistics."""

    @property
    def tokenizer(self) -> Tokenizer: ...

    @property
    def term_stats(self) -> TermStatistics: ...

    @property
    def max_query_chars(self) -> int: ...

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None,
               mode: Mode = "hybrid") -> list[Passage]: ...

    def documents(self) -> list[DocumentMeta]: ...


def search_filters(svc: Documents, against: str, exclude_docs: list[str] | None) -> SearchFilters:
    if against not in AGAINST:
        raise BadRequest(f"照合先の指定が正しくありません: {against}（{' / '.join(AGAINST)} のいずれか）")
    types = AGAINST_TYPES[against]
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


def retrieve(svc: Documents, st: Statement, k: int, filters: SearchFilters) -> tuple[list[Passage], list[int]]:
    """The statement's passages from BM25 (best for statements full of figures, whose dense ranking
    favours number tables) and from the hybrid search, each with its better rank of the two."""
    query = st.text[: svc.max_query_chars]
    ranks: dict[tuple[str, int], int] = {}
    found: dict[tuple[str, int], Passage] = {}
    for mode in SEARCH_MODES:
        for rank, p in enumerate(svc.search(query, k, filters, mode=mode)):
            key = (p.doc_id, p.chunk_no)
            found.setdefault(key, p)
            ranks[key] = min(rank, ranks.get(key, rank))
    order = sorted(found, key=lambda key: ranks[key])
    return [found[key] for key in order], [ranks[key] for key in order]


def _judge_retrieved(
    svc: Documents, st: Statement, k: int, filters: SearchFilters, words: WordWeights, cache: dict,
    model: SubjectModel,
) -> StatementResult:
    if len(plain(st.text)) < 2:
        return judge(st, [], words, cache, model)
    passages, ranks = retrieve(svc, st, k, filters)
    return judge(st, passages, words, cache, model, ranks)


@lru_cache(maxsize=4)
def subject_model(path: Path = MODEL_PATH) -> SubjectModel:
    """The fitted same-subject model (read once per path)."""
    return SubjectModel.load(path)


def check_draft(
    svc: Documents,
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
    words = WordWeights(svc.tokenizer, svc.term_stats)
    cache: dict = {}
    model = subject_model()
    results: list[StatementResult] = []
    relied_on: Counter[str] = Counter()
    total = len(statements)
    for start in range(0, total, max(1, batch_size)):
        for st in statements[start : start + batch_size]:
            result = _judge_retrieved(svc, st, k, filters, words, cache, model)
            results.append(result)
            if result.verdict in ("consistent", "conflict"):
                relied_on[result.evidence[0].passage.doc_id] += 1
        if progress:
            progress(min(start + batch_size, total), total)
    report = CheckReport(results, against=against)
    # the plans the draft mainly relies on: cited by several statements, not once in passing
    plans = {d.doc_id for d in svc.documents() if d.doc_type in ("plan", "sector_plan")}
    top = max(relied_on.values(), default=0)
    sources = [d for d, n in relied_on.most_common() if d in plans and n >= max(GAP_SOURCE_MIN, top // GAP_SOURCE_SHARE)][:GAP_DOCS]
    if gaps and sources:
        report.gaps = find_gaps(svc, statements, sources, filters, words)
    return report


# ---------------------------------------------------------------------- reverse gaps
_TARGET = re.compile(r"目標|指標|ＫＰＩ|KPI|までに|を目指|目指し")
_GAP_QUERY = "目標値 成果指標 評価指標 目標 までに 目指す"
# A target and a draft statement meet outside any retrieval of the statement: the retrieval features
# (`check.subject.Retrieval`) take the fitted model's mean, so that they add nothing either way.
_NO_RETRIEVAL = ("rank", "top_doc", "doc_share")
MIN_GAP_CHARS = 6  # shorter units are labels, not targets


def find_gaps(
    svc: Documents,
    statements: list[Statement],
    docs: list[str],
    filters: SearchFilters,
    words: WordWeights,
    limit: int = MAX_GAPS,
    model: SubjectModel | None = None,
) -> list[Gap]:
    """Targets in the documents the draft relies on that no statement of the draft mentions: a target
    (a sentence, item or row stating a target with a figure) is mentioned when some statement reaches
    the same-subject model's operating point against it, as evidence does (`check.subject`)."""
    model = model or subject_model()
    subjects = [s for s in (Subject.read(st.text, values_of(st.text), words) for st in statements) if s is not None]
    gaps: list[Gap] = []
    seen: set[str] = set()
    for doc in docs:
        doc_filter = SearchFilters(doc_types=filters.doc_types, doc_ids=[doc])
        for p in svc.search(_GAP_QUERY, GAP_PASSAGES, doc_filter):
            for c in passage_candidates(p, words):
                if c.kind == "heading" or len(c.text) < MIN_GAP_CHARS or c.plain in seen:
                    continue
                if not (_TARGET.search(c.text) or (c.kind == "row" and _TARGET.search(c.header))):
                    continue
                if not any(f.kind in STRONG for f in c.values.facts):
                    continue
                seen.add(c.plain)
                if not _mentioned(subjects, c, model):
                    gaps.append(Gap(p, c.text, [f.surface for f in c.values.facts]))
                    if len(gaps) >= limit:
                        return gaps
    return gaps


def _mentioned(subjects: list[Subject], c: Candidate, model: SubjectModel) -> bool:
    """Whether some statement is on the target's subject at the model's operating point."""
    neutral = {k: model.mean[k] for k in _NO_RETRIEVAL}
    for s in subjects:
        x = features(s, c, Retrieval(0, True, 1.0))
        x.update(neutral)
        if model.probability(x) >= model.threshold:
            return True
    return False
