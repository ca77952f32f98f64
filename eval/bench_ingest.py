"""`plan-assistant bench --what ingest`: ingestion throughput per kind of page, and a second pass.

The corpus is ingested by the real service (`PlanAssistant.ingest`) into a temporary data directory,
twice. While the first pass runs, `_Probe` times the steps ingestion already takes, from the outside
(each wrapper calls the real function and adds its time to the page it worked on; everything is put
back afterwards):

- the read stage per file (`ingest.pipeline.load_file`), and inside it, per PDF page: text
  extraction (pypdf's `extract_text`, the pypdfium2 census, fallback and reading-order passes of
  `ingest.readers.pdf._Pdfium`), table detection (`ingest.readers.pdf_tables._read_page`) and OCR
  (`ingest.readers.ocr.ocr_page`);
- chunking (`ingest.pipeline.chunk_document`), and embedding + indexing (`Indexer._write`, of which
  the embedding model's own time is `CachedEmbedder.inner.embed_passages`).

A file's read time that no per-page step accounts for (opening the file, normalising text, page
labels, pdfplumber opening the file) is shared out evenly over that file's pages, so the per-kind
seconds add up to the read stage as measured; the report says how much was shared out.

Kinds of page: a PDF page read by tesseract ("ocr", whether or not its reading was kept), a PDF page
on which the table reader found rows ("table"), any other PDF page with text ("text"), a PDF page
left empty (blank, garbled, or a scan no one read: "blank"); HTML, text and Markdown files
("html_text", one page per page marker) and CSV/XLSX files ("sheet", one page per sheet).

The second pass opens the same data directory again and ingests the same folder: unchanged files
are skipped by content hash, so it must read no file and embed no chunk.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Order and labels of the kinds in the printed table.
KIND_LABELS: dict[str, str] = {
    "text": "PDF text page",
    "table": "PDF table page",
    "ocr": "PDF OCR page",
    "blank": "PDF page left empty",
    "html_text": "HTML/text page",
    "sheet": "CSV/XLSX sheet",
}
STEPS = ("text", "table", "ocr")
# The wrapped functions, as the report names them.
FUNCTION_LABELS = {"census": "pypdfium2 census", "extract_text": "pypdf text", "page_text": "pypdfium2 text",
                   "vertical_text": "reading order", "_read_page": "tables", "ocr_page": "OCR"}  # the per-page steps timed inside the PDF reader
NON_PDF_KINDS = {"html": "html_text", "text": "html_text", "markdown": "html_text", "csv": "sheet", "xlsx": "sheet"}


@dataclass
class FileCost:
    """One file's read stage: total seconds, per-page step seconds and what each page turned out to be."""

    path: str
    seconds: float = 0.0
    kind: str = ""
    failed: bool = False
    steps: dict[int, dict[str, float]] = field(default_factory=dict)  # page number → step → seconds
    ocr_pages: set[int] = field(default_factory=set)  # pages tesseract read
    ocr_kept: set[int] = field(default_factory=set)  # …and whose reading was kept (at or above the floor)
    page_kinds: dict[int, str] = field(default_factory=dict)  # filled once the document is read

    def add(self, number: int, step: str, seconds: float) -> None:
        page = self.steps.setdefault(number, {})
        page[step] = page.get(step, 0.0) + seconds


@dataclass
class StageTimes:
    """What the chunk and write stages took in one pass."""

    chunk_s: float = 0.0
    chunks: int = 0
    write_s: float = 0.0
    model_s: float = 0.0  # of write_s: the embedding model itself (cache misses only)


class _Probe:
    """Times ingestion's own steps while a pass runs (see the module docstring)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.files: list[FileCost] = []
        self.stages = StageTimes()
        self._current: FileCost | None = None
        self._inside = False  # a timed step is running
        self.functions: dict[str, float] = {}  # seconds per wrapped reader function, over all pages
        self._ocr_index: int | None = None  # the page the PDF reader last opened in pypdfium2 (for OCR)
        self._page_numbers: dict[int, dict[int, int]] = {}  # id(pypdf reader) → id(page) → page number

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Probe]:
        import pypdf

        import ingest.pipeline
        from ingest.readers import ocr, pdf, pdf_tables

        patches: list[tuple[Any, str, Callable[[Callable], Callable]]] = [
            (ingest.pipeline, "load_file", self._load_file),
            (ingest.pipeline, "chunk_document", self._chunk_document),
            (ingest.pipeline.Indexer, "_write", self._write),
            (pypdf.PageObject, "extract_text", self._extract_text),
            (pdf_tables, "_read_page", self._read_table_page),
            (ocr, "ocr_page", self._ocr_page),
            (self.embedder.inner, "embed_passages", self._embed_model),
        ]
        pdfium = getattr(pdf, "_Pdfium", None)
        for name in ("census", "page_text", "vertical_text"):
            patches.append((pdfium, name, self._pdfium_text))
        patches.append((pdfium, "page", self._pdfium_page))
        saved = []
        for owner, name, wrap in patches:
            original = getattr(owner, name, None)
            if original is None:  # a reader changed: its time is shared out, not lost
                continue
            saved.append((owner, name, owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING))
            setattr(owner, name, wrap(original))
        try:
            yield self
        finally:
            for owner, name, before in reversed(saved):
                if before is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, before)

    # ---------------------------------------------------------------- wrappers
    def _load_file(self, original: Callable) -> Callable:
        def load_file(path, *args, **kwargs):
            cost = FileCost(str(path))
            self._current, started = cost, time.perf_counter()
            try:
                doc = original(path, *args, **kwargs)
            except BaseException:
                cost.failed = True
                raise
            finally:
                cost.seconds = time.perf_counter() - started
                self._current = None
                self.files.append(cost)
            cost.kind = doc.kind
            cost.page_kinds = _page_kinds(doc, cost.ocr_pages)
            cost.ocr_kept = {p.number for p in doc.pages if p.number in cost.ocr_pages and p.status == "ok"}
            return doc
        return load_file

    def _timed(self, step: str, number_of: Callable[..., int | None], original: Callable) -> Callable:
        """`original`, its time added to `step` of the page `number_of(*args)` names, and to `self.functions`."""
        name = getattr(original, "__name__", step)
        def timed(*args, **kwargs):
            cost = self._current
            if cost is None or self._inside:  # outside a read, or a step within a step: counted once
                return original(*args, **kwargs)
            self._inside, started = True, time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._inside = False
                number = number_of(*args, **kwargs)
                if number is not None:
                    seconds = time.perf_counter() - started
                    cost.add(number, step, seconds)
                    self.functions[name] = self.functions.get(name, 0.0) + seconds
        return timed

    def _pdfium_text(self, original: Callable) -> Callable:
        return self._timed("text", lambda _self, index, *a, **k: index + 1, original)

    def _pdfium_page(self, original: Callable) -> Callable:
        def page(pdfium, index, *args, **kwargs):
            self._ocr_index = index
            return original(pdfium, index, *args, **kwargs)
        return page

    def _extract_text(self, original: Callable) -> Callable:
        return self._timed("text", self._pypdf_number, original)

    def _pypdf_number(self, page: Any, *args, **kwargs) -> int | None:
        ref = getattr(page, "indirect_reference", None)
        reader = getattr(ref, "pdf", None)
        if reader is None:
            return None
        numbers = self._page_numbers.get(id(reader))
        if numbers is None:
            numbers = self._page_numbers[id(reader)] = {id(p): i + 1 for i, p in enumerate(reader.pages)}
        return numbers.get(id(page))

    def _read_table_page(self, original: Callable) -> Callable:
        return self._timed("table", lambda _page, number, *a, **k: number, original)

    def _ocr_page(self, original: Callable) -> Callable:
        def number_of(*args, **kwargs) -> int | None:
            if self._ocr_index is None or self._current is None:
                return None
            self._current.ocr_pages.add(self._ocr_index + 1)
            return self._ocr_index + 1
        return self._timed("ocr", number_of, original)

    def _chunk_document(self, original: Callable) -> Callable:
        def chunk_document(*args, **kwargs):
            started = time.perf_counter()
            chunks = original(*args, **kwargs)
            self.stages.chunk_s += time.perf_counter() - started
            self.stages.chunks += len(chunks)
            return chunks
        return chunk_document

    def _write(self, original: Callable) -> Callable:
        def write(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.stages.write_s += time.perf_counter() - started
        return write

    def _embed_model(self, original: Callable) -> Callable:
        def embed_passages(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.stages.model_s += time.perf_counter() - started
        return embed_passages


_MISSING = object()


def _page_kinds(doc: Any, ocr_pages: set[int]) -> dict[int, str]:
    """Page number → kind (see the module docstring) for a document as the reader returned it."""
    if doc.kind != "pdf":
        numbers = {p.number for p in doc.pages} | {r.page for r in doc.records}
        return dict.fromkeys(sorted(numbers) or [1], NON_PDF_KINDS.get(doc.kind, "html_text"))
    with_rows = {r.page for r in doc.records}
    kinds: dict[int, str] = {}
    for p in doc.pages:
        if p.number in ocr_pages:
            kinds[p.number] = "ocr"
        elif p.status != "ok":
            kinds[p.number] = "blank"
        else:
            kinds[p.number] = "table" if p.number in with_rows else "text"
    return kinds


def per_kind(files: list[FileCost]) -> dict[str, dict[str, float]]:
    """Pages and read seconds per kind: each page's own steps plus its share of its file's remainder."""
    out = {kind: {"pages": 0, "seconds": 0.0, "shared_s": 0.0, "ocr_kept": 0, **{f"{s}_s": 0.0 for s in STEPS}}
           for kind in KIND_LABELS}
    for f in files:
        if f.failed or not f.page_kinds:
            continue
        measured = sum(sum(steps.values()) for steps in f.steps.values())
        share = max(f.seconds - measured, 0.0) / len(f.page_kinds)
        for number, kind in f.page_kinds.items():
            row = out[kind]
            steps = f.steps.get(number, {})
            row["pages"] += 1
            row["ocr_kept"] += number in f.ocr_kept
            row["shared_s"] += share
            row["seconds"] += share + sum(steps.values())
            for s in STEPS:
                row[f"{s}_s"] += steps.get(s, 0.0)
    return out


def ingest_pass(settings: Any, corpus: Path) -> dict:
    """Ingest `corpus` with a service on `settings` (started here, closed after), timed by `_Probe`."""
    from assistant.service import PlanAssistant

    started = time.perf_counter()
    with PlanAssistant(settings) as svc:
        start_s = time.perf_counter() - started
        hits, misses = svc.embedder.hits, svc.embedder.misses
        probe = _Probe(svc.embedder)
        with probe.installed():
            t0 = time.perf_counter()
            results = svc.ingest([corpus])
            elapsed = time.perf_counter() - t0
        embedded, from_cache = svc.embedder.misses - misses, svc.embedder.hits - hits
    ok = [r for r in results if r.status in ("added", "replaced")]
    read_files = [f for f in probe.files if not f.failed]
    return {
        "files": len(results), "added": len(ok), "skipped": sum(r.status == "skipped" for r in results),
        "ignored": sum(r.status == "ignored" for r in results),
        "failed": sum(r.status == "failed" for r in results), "files_read": len(probe.files),
        "pages": sum(r.pages for r in ok), "chunks": sum(r.chunks for r in ok), "seconds": elapsed,
        "start_s": start_s, "read_s": sum(f.seconds for f in probe.files),
        "read_failed_s": sum(f.seconds for f in probe.files if f.failed),
        "pages_read": sum(len(f.page_kinds) for f in read_files),
        "kinds": per_kind(probe.files), "functions": probe.functions,
        "chunk_s": probe.stages.chunk_s, "chunks_made": probe.stages.chunks,
        "write_s": probe.stages.write_s, "model_s": probe.stages.model_s,
        "embedded": embedded, "from_cache": from_cache,
    }


def bench_ingest(corpus: Path, settings: Any) -> dict:
    """Two passes over `corpus` into `settings.data_dir` (empty or new: the first pass must index everything)
    with `settings.vector_cache` (None: a new one in the data directory, so every chunk is embedded)."""
    first = ingest_pass(settings, corpus)
    second = ingest_pass(settings, corpus)
    return {"corpus": str(corpus), "vector_cache": str(settings.vector_cache or "new, in the data directory"),
            "first": first, "second": second,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _rate(count: float, seconds: float) -> str:
    """count/seconds with three significant figures, right-aligned in 9 columns ("-" when not measured)."""
    if seconds <= 0 or not count:
        return f"{'-':>9s}"
    rate = count / seconds
    return f"{rate:9.0f}" if rate >= 100 else f"{rate:9.3g}"


def format_report(r: dict) -> str:
    """The two passes as a table (pages/s per kind of page, then the chunk and write stages)."""
    a, b = r["first"], r["second"]
    lines = [f"ingest {r['corpus']} (vector cache: {r['vector_cache']})",
             f"pass 1: {a['files'] - a['ignored']} files ({a['added']} indexed, {a['failed']} failed), {a['pages']} pages, "
             f"{a['chunks']} chunks in {a['seconds']:.1f} s (+ {a['start_s']:.1f} s to start the service)",
             f"  {'read stage':<22s}{'pages':>7s}{'seconds':>9s}{'pages/s':>9s}"
             f"{'text s':>9s}{'tables s':>9s}{'OCR s':>9s}{'shared s':>9s}"]
    for kind, label in KIND_LABELS.items():
        k = a["kinds"][kind]
        if not k["pages"]:
            continue
        lines.append(f"  {label:<22s}{k['pages']:7d}{k['seconds']:9.1f}{_rate(k['pages'], k['seconds'])}"
                     f"{k['text_s']:9.1f}{k['table_s']:9.1f}{k['ocr_s']:9.1f}{k['shared_s']:9.1f}")
    if a["kinds"]["ocr"]["pages"]:
        lines.append(f"  OCR: {a['kinds']['ocr']['ocr_kept']} of {a['kinds']['ocr']['pages']} pages read at or "
                     "above the confidence floor (the rest are reported, not indexed)")
    total_pages = sum(k["pages"] for k in a["kinds"].values())
    lines.append(f"  {'all pages read':<22s}{total_pages:7d}{a['read_s']:9.1f}{_rate(total_pages, a['read_s'])}")
    if a["functions"]:
        lines.append("  per-page steps by function: " + ", ".join(
            f"{FUNCTION_LABELS.get(name, name)} {s:.1f} s" for name, s in a["functions"].items()))
    if a["read_failed_s"]:
        lines.append(f"  (of which {a['read_failed_s']:.1f} s reading files that could not be read)")
    lines.append("  shared s: a file's read time outside the per-page steps (opening, normalising, page labels),"
                 " spread evenly over its pages")
    lines.append(f"  chunking: {a['chunks_made']} chunks in {a['chunk_s']:.1f} s ({_rate(a['chunks_made'], a['chunk_s']).strip()}"
                 f" chunks/s)")
    lines.append(f"  embedding + indexing: {a['chunks']} chunks in {a['write_s']:.1f} s "
                 f"({_rate(a['chunks'], a['write_s']).strip()} chunks/s); embedded {a['embedded']} "
                 f"(model {a['model_s']:.1f} s), from cache {a['from_cache']}")
    lines.append(f"  end to end: {_rate(a['pages'], a['seconds']).strip()} pages/s, "
                 f"{_rate(a['chunks'], a['seconds']).strip()} chunks/s")
    lines.append(f"pass 2 (same files, same data directory): {b['skipped']} of {b['files'] - b['ignored']} files "
                 f"skipped as unchanged, {b['files_read']} read, {b['embedded']} chunks embedded, in {b['seconds']:.2f} s")
    lines.append(f"peak RSS {r['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)
