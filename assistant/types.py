"""Domain types owned by the project. Third-party types never leave their adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

DocType = Literal["plan", "sector_plan", "consultation", "other"]
Audience = Literal["public", "staff"]
PageStatus = Literal["ok", "empty", "no_text_layer", "garbled"]
Verdict = Literal["consistent", "conflict", "unsupported", "not_judged"]
Against = Literal["all", "plan", "sector_plan", "consultation"]

# The vocabularies, each once, with the Japanese labels the CLI, the UI and the reports show.
# Document types in plan-hierarchy order (where-covered lists documents in this order).
DOC_TYPE_LABELS: dict[str, str] = {"plan": "総合計画", "sector_plan": "個別計画",
                                   "consultation": "意見募集・会議録", "other": "その他"}
AUDIENCE_LABELS: dict[str, str] = {"public": "公開", "staff": "庁内限り"}
VERDICT_LABELS: dict[str, str] = {"consistent": "整合", "conflict": "相違あり", "unsupported": "根拠なし",
                                  "not_judged": "判定対象外"}
# what a draft is checked against: the label, and the document types searched (None: all)
AGAINST_LABELS: dict[str, str] = {"all": "登録済みの全文書", "plan": "総合計画", "sector_plan": "個別計画",
                                  "consultation": "意見募集・会議録"}
AGAINST_TYPES: dict[str, list[str] | None] = {"all": None, "plan": ["plan"], "sector_plan": ["sector_plan"],
                                              "consultation": ["consultation"]}
DOC_TYPES: tuple[str, ...] = tuple(DOC_TYPE_LABELS)
AUDIENCES: tuple[str, ...] = tuple(AUDIENCE_LABELS)
VERDICTS: tuple[str, ...] = tuple(VERDICT_LABELS)
AGAINST: tuple[str, ...] = tuple(AGAINST_LABELS)


def page_ref(page: int | None, printed: str | None = None) -> str:
    """How a page is cited: "p.14", or "p.12（PDF 14ページ）" when the printed page number differs from the
    PDF page (the reader finds p.12 in the printed plan and page 14 in the file); "" without a page."""
    if not page:
        return ""
    return f"p.{printed}（PDF {page}ページ）" if printed and str(printed) != str(page) else f"p.{page}"


@dataclass
class Page:
    """One page of extracted, normalised text. Non-paged files are page 1."""

    number: int
    text: str
    status: PageStatus = "ok"
    note: str = ""  # e.g. "no text layer (needs OCR)", "extracted with pypdfium2"
    ocr_confidence: float | None = None  # set when the text was read by OCR: chunks and citations carry it
    label: str | None = None  # the printed page number where it differs from `number` (PDF: "12", "資料-3")


@dataclass
class Record:
    """One table row (CSV/XLSX/PDF table), rendered as `column: value` lines. Never split."""

    text: str
    page: int = 1
    row: int = 0
    section: str = ""  # a PDF table's caption (the line above it): the start of the chunk's section path


@dataclass
class LoadedDocument:
    """What a loader returns: pages of text and/or table records, plus what went wrong."""

    source: str
    kind: str  # pdf | html | text | markdown | csv | xlsx
    pages: list[Page] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    title: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join([*(p.text for p in self.pages), *(r.text for r in self.records)])


@dataclass
class DocumentMeta:
    doc_id: str
    title: str
    doc_type: str = "other"
    issuer: str = ""
    period_start: int | None = None  # Western fiscal year
    period_end: int | None = None
    audience: str = "public"
    edition: str = ""
    source: str = ""
    content_hash: str = ""
    pages: int = 0
    chunks: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Chunk:
    doc_id: str
    chunk_no: int
    text: str
    section: str  # section path joined with " > "
    pages: list[int]
    is_record: bool = False
    ocr: float | None = None  # lowest OCR confidence of its pages; None: text layer (or not a PDF)
    page_label: str | None = None  # the printed page number of its first page (Page.label)

    @property
    def page(self) -> int | None:
        return self.pages[0] if self.pages else None


@dataclass
class Passage:
    """A retrieved chunk with its document's metadata."""

    doc_id: str
    title: str
    section: str
    pages: list[int]
    text: str
    score: float
    doc_type: str = "other"
    audience: str = "public"
    chunk_no: int = 0
    is_record: bool = False  # a table row (public-comment table …)
    ocr: float | None = None  # read by OCR, with this confidence: the reader is told (Chunk.ocr)
    page_label: str | None = None  # the printed page number of `page`, where it differs (Chunk.page_label)

    @property
    def page(self) -> int | None:
        return self.pages[0] if self.pages else None

    @property
    def page_ref(self) -> str:
        return page_ref(self.page, self.page_label)

    def to_dict(self) -> dict:
        return {
            "doc": self.doc_id,
            "title": self.title,
            "section": self.section,
            "page": self.page,
            "pages": self.pages,
            "text": self.text,
            "score": round(float(self.score), 6),
            "type": self.doc_type,
            # only when set: consumers that compare key sets keep working on text-layer passages
            **({"ocr": self.ocr} if self.ocr is not None else {}),
            **({"page_label": self.page_label} if self.page_label else {}),
        }


@dataclass
class Citation:
    number: int
    passage: Passage

    def to_dict(self) -> dict:
        p = self.passage
        return {"n": self.number, "doc": p.doc_id, "title": p.title, "section": p.section,
                "page": p.page, "text": p.text, **({"ocr": p.ocr} if p.ocr is not None else {}),
                **({"page_label": p.page_label} if p.page_label else {})}


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    related: list[Passage] = field(default_factory=list)
    generator: str = "extractive"
    notice: str = ""

    def to_dict(self) -> dict:
        return {
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "related": [p.to_dict() for p in self.related],
            "generator": self.generator,
            "notice": self.notice,
        }


@dataclass
class SearchFilters:
    doc_types: list[str] | None = None
    audiences: list[str] | None = None
    doc_ids: list[str] | None = None
    fiscal_year: int | None = None


class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class SparseEncoder(Protocol):
    def encode(self, text: str) -> tuple[list[int], list[float]]: ...

    def encode_query(self, text: str) -> tuple[list[int], list[float]]: ...


class Generator(Protocol):
    """Writes text from OpenAI-style messages: `[{"role": "system"|"user"|"assistant", "content": str}]`.

    `chat` returns the whole answer; with a JSON `schema` the output is constrained to it (a model or
    server that cannot constrain may ignore it: the answer engine reads plain text as well). A generator may
    also have `stream(messages, *, max_tokens, temperature, schema) -> Iterator[str]` (both bundled ones do):
    the answer engine then verifies each sentence as soon as it is written and shows it, instead of waiting
    for the whole answer. `name` is recorded on each answer.
    """

    name: str

    def chat(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
             schema: dict | None = None) -> str: ...
