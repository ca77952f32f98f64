"""Where is a measure covered: every document and section that speaks of it, in plan hierarchy order.

The measure (施策・事業名) is searched with a generous k; every retrieved passage is cut into
sentences and kept only when one of its sentences covers the measure's content words well
(IDF-weighted, the sentence's section heading counting half), so the answer lists the places that
really speak of the measure, not simply the top k. Per section: pages, the matching sentences and
the figures stated there (targets, periods, amounts).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from assistant.check.draft import Documents
from assistant.check.values import values_of
from assistant.errors import BadRequest
from assistant.evidence import WordWeights, cover
from assistant.text.numerals import plain
from assistant.text.sentences import units
from assistant.types import DOC_TYPES, Passage, page_ref

MAX_MEASURE_CHARS = 200
MIN_SENTENCE_CHARS = 4  # shorter pieces of a passage are labels
# Measured on the bundled samples (cross-cutting measures such as 認知症サポーター, 個別避難計画):
# 0.7 keeps every place that names the measure and drops passages that share one word with it.
COVERS = 0.7
HEADING_WEIGHT = 0.5
MAX_SENTENCES = 4


@dataclass
class SectionCoverage:
    section: str
    pages: list[int] = field(default_factory=list)  # PDF pages (for opening the file)
    sentences: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    first_chunk: int = 0
    # printed page numbers where they differ from the PDF page, for the pages a passage starts on (a
    # passage's payload knows the label of its first page only; other pages are cited by PDF page)
    page_labels: dict[int, str] = field(default_factory=dict)

    def page_refs(self) -> str:
        """"p.12（PDF 14ページ）, p.15" — printed pages where known, else PDF pages; "-" without pages."""
        return ", ".join(page_ref(p, self.page_labels.get(p)) for p in self.pages) or "-"

    def to_dict(self) -> dict:
        return {
            "section": self.section,
            "pages": self.pages,
            **({"page_labels": {str(k): v for k, v in sorted(self.page_labels.items())}} if self.page_labels else {}),
            "sentences": self.sentences,
            "targets": self.targets,
        }


@dataclass
class DocumentCoverage:
    doc: str
    title: str
    type: str
    sections: list[SectionCoverage] = field(default_factory=list)
    score: float = 0.0

    def to_dict(self) -> dict:
        return {
            "doc": self.doc,
            "title": self.title,
            "type": self.type,
            "sections": [s.to_dict() for s in self.sections],
        }


@dataclass
class CoverageReport:
    measure: str
    documents: list[DocumentCoverage] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"measure": self.measure, "documents": [d.to_dict() for d in self.documents]}

    def to_text(self) -> str:
        if not self.documents:
            return f"「{self.measure}」の記載は見つかりませんでした。"
        lines = [f"「{self.measure}」の掲載箇所：{len(self.documents)}文書"]
        for d in self.documents:
            lines.append(f"■ {d.title}（{d.type}・{d.doc}）")
            for s in d.sections:
                pages = s.page_refs()
                targets = f"　目標値等: {' / '.join(s.targets)}" if s.targets else ""
                lines.append(f"  {s.section or '（本文）'}　{pages}{targets}")
                lines += [f"    「{x}」" for x in s.sentences]
        return "\n".join(lines)


def to_table_csv(measures: list[CoverageReport]) -> str:
    """Measure × document matrix for the 施策体系 cross-check; a cell lists sections and pages."""
    docs: dict[str, tuple[str, str]] = {}
    for report in measures:
        for d in report.documents:
            docs.setdefault(d.doc, (d.type, d.title))
    order = sorted(docs, key=lambda doc: _rank(docs[doc][0]))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["施策・事業"] + [docs[d][1] for d in order])
    for report in measures:
        cells = {
            d.doc: "\n".join(
                f"{s.section or '（本文）'} ({s.page_refs()})"
                for s in d.sections
            )
            for d in report.documents
        }
        w.writerow([report.measure] + [cells.get(d, "") for d in order])
    return out.getvalue()


def _rank(doc_type: str) -> int:
    return DOC_TYPES.index(doc_type) if doc_type in DOC_TYPES else len(DOC_TYPES)


def _matches(p: Passage, weights: dict[str, float], words: WordWeights) -> list[tuple[float, str]]:
    heading = plain(p.section.split(" > ")[-1]) if p.section else ""
    heading_tokens = words.tokens(p.section.split(" > ")[-1]) if p.section else frozenset()
    out = []
    for u in units(p.text):
        if u.kind == "heading" or len(u.text) < MIN_SENTENCE_CHARS:
            continue
        text, tokens = plain(u.text + u.header), words.tokens(u.text)
        own = cover(weights, text, tokens)
        with_heading = cover(weights, text + heading, tokens | heading_tokens)
        score = max(own, (1 - HEADING_WEIGHT) * own + HEADING_WEIGHT * with_heading)
        if score >= COVERS:
            out.append((score, u.text))
    return out


def where_covered(svc: Documents, measure: str, k: int = 40) -> CoverageReport:
    """Every document and section covering `measure`, plan → sector plan → consultation → other."""
    measure = (measure or "").strip()
    if not measure:
        raise BadRequest("施策・事業名が空です。調べたい施策や事業の名前を入力してください。")
    if len(measure) > MAX_MEASURE_CHARS:
        raise BadRequest(
            f"施策・事業名が長すぎます（{len(measure)}文字）。{MAX_MEASURE_CHARS}文字以内にしてください。"
        )
    words = WordWeights(svc.tokenizer, svc.term_stats)
    weights = words.weights(words.tokens(measure))
    report = CoverageReport(measure)
    if not weights:
        return report
    docs: dict[str, DocumentCoverage] = {}
    sections: dict[tuple[str, str], SectionCoverage] = {}
    for p in svc.search(measure, max(1, min(k, 100))):
        found = sorted(_matches(p, weights, words), key=lambda x: -x[0])
        if not found:
            continue
        doc = docs.setdefault(p.doc_id, DocumentCoverage(p.doc_id, p.title, p.doc_type))
        doc.score = max(doc.score, found[0][0])
        key = (p.doc_id, p.section)
        sec = sections.get(key)
        if sec is None:
            sec = sections[key] = SectionCoverage(p.section, first_chunk=p.chunk_no)
            doc.sections.append(sec)
        sec.first_chunk = min(sec.first_chunk, p.chunk_no)
        sec.pages = sorted(set(sec.pages) | set(p.pages))
        if p.page is not None and p.page_label:
            sec.page_labels[p.page] = p.page_label
        for _, sentence in found:
            if sentence not in sec.sentences and len(sec.sentences) < MAX_SENTENCES:
                sec.sentences.append(sentence)
                for f in values_of(sentence, responsible_only=False).facts:
                    if (
                        f.kind != "ordinal"
                        and (f.kind != "number" or f.unit)
                        and f.surface not in sec.targets
                    ):
                        sec.targets.append(f.surface)
    for doc in docs.values():
        doc.sections.sort(key=lambda s: s.first_chunk)
    report.documents = sorted(docs.values(), key=lambda d: (_rank(d.type), -d.score, d.doc))
    return report
