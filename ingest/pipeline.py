"""Files → indexed chunks. Skips unchanged files by hash, replaces changed ones without a gap."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import PlanAssistantError, UnreadableDocument
from assistant.store import IndexPoint, Store, point_id
from assistant.types import Chunk, DocumentMeta, Embedder, SparseEncoder
from ingest.chunk import chunk_document
from ingest.load import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, check_size, iter_files, load_file
from ingest.meta import build_meta, load_manifest
from ingest.readers.pdf import NEEDS_OCR, needs_ocr
from ingest.registry import Registry

MANIFEST_FIELDS = ("id", "title", "type", "audience", "issuer", "edition", "period")


@dataclass
class IngestResult:
    path: str
    doc_id: str
    status: str  # added | replaced | skipped | failed
    reason: str = ""
    pages: int = 0
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def index_text(meta: DocumentMeta, chunk: Chunk) -> str:
    """What gets embedded and BM25-encoded: title and section path give the chunk its context."""
    return f"{meta.title}\n{chunk.section}\n{chunk.text}"


ProgressFn = Callable[[IngestResult], None]


class Indexer:
    def __init__(self, store: Store, embedder: Embedder, sparse: SparseEncoder, registry: Registry, chunk_chars: int = 400,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.store, self.embedder, self.sparse, self.registry = store, embedder, sparse, registry
        self.chunk_chars = chunk_chars
        self.max_file_bytes = max_file_bytes

    def ingest(self, path: Path, overrides: dict | None = None) -> IngestResult:
        path = Path(path)
        overrides = {k: v for k, v in (overrides or {}).items() if v}
        doc_id = str(overrides.get("id") or path.stem)
        try:
            return self._ingest(path, doc_id, overrides)
        except PlanAssistantError as exc:
            return IngestResult(str(path), doc_id, "failed", str(exc))
        except OSError as exc:
            return IngestResult(str(path), doc_id, "failed", f"cannot read file: {exc.strerror or exc}")

    def _ingest(self, path: Path, doc_id: str, overrides: dict) -> IngestResult:
        check_size(path, self.max_file_bytes)  # before hashing a 2 GB file
        content_hash = file_hash(path)
        version = hashlib.sha256(
            (content_hash + json.dumps(overrides, sort_keys=True, ensure_ascii=False)).encode()).hexdigest()[:20]
        current = self.registry.get(doc_id)
        if current and current[0] == version:
            return IngestResult(str(path), doc_id, "skipped", "unchanged", current[1].pages, current[1].chunks)
        doc = load_file(path, max_bytes=self.max_file_bytes)
        if needs_ocr(doc):  # a scan: loading it is fine (the reviewer reads it), indexing it is pointless
            raise UnreadableDocument(NEEDS_OCR)
        warnings = list(doc.warnings)  # pages without a text layer are named there
        meta = build_meta(doc, path, doc_id, overrides)
        chunks = chunk_document(doc, doc_id, target=self.chunk_chars, maximum=int(self.chunk_chars * 1.5))
        if not chunks:
            raise UnreadableDocument("no text found in the file")
        meta = dataclasses.replace(meta, content_hash=content_hash, pages=len({p.number for p in doc.pages}) or 1,
                                   chunks=len(chunks), notes=warnings)
        self._write(meta, version, chunks)
        status = "replaced" if current else "added"
        return IngestResult(str(path), doc_id, status, "", meta.pages, len(chunks), warnings)

    def _write(self, meta: DocumentMeta, version: str, chunks: list[Chunk], batch: int = 64) -> None:
        base = {"doc_id": meta.doc_id, "version": version, "title": meta.title, "doc_type": meta.doc_type,
                "audience": meta.audience, "period_start": meta.period_start, "period_end": meta.period_end}
        df: Counter[int] = Counter()
        for i in range(0, len(chunks), batch):
            part = chunks[i:i + batch]
            texts = [index_text(meta, c) for c in part]
            dense = self.embedder.embed_passages(texts)
            sparse = [self.sparse.encode(t) for t in texts]
            df.update(i for s in sparse for i in s[0])
            points = [IndexPoint(point_id(meta.doc_id, version, c.chunk_no), d, s,
                                 {**base, "chunk_no": c.chunk_no, "text": c.text, "section": c.section,
                                  "pages": c.pages, "is_record": c.is_record,
                                  **({"ocr": c.ocr} if c.ocr is not None else {})})
                      for c, d, s in zip(part, dense, sparse)]
            self.store.upsert(points)
        self.registry.set_live(meta, version, dict(df))  # the switch: searches now see the new chunks only
        self.store.delete_doc(meta.doc_id, keep_version=version)

    def delete(self, doc_id: str) -> bool:
        found = self.registry.remove(doc_id)
        self.store.delete_doc(doc_id)
        return found

    def ingest_paths(self, paths: Iterable[Path], overrides: dict | None = None, manifest: Path | None = None,
                     progress: ProgressFn | None = None) -> list[IngestResult]:
        """Files and folders (recursive). A manifest gives per-file metadata (overrides win); a file in a
        folder that is not a document is reported as ignored, a named one is tried and fails clearly."""
        paths = [Path(p) for p in paths]
        entries = load_manifest(manifest) if manifest else {}
        explicit = {p.resolve() for p in paths if p.is_file()}
        given = {k: v for k, v in (overrides or {}).items() if v}
        results = []
        for path in iter_files(paths, supported_only=False):
            if manifest is not None and path.resolve() == Path(manifest).resolve():
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES and path.resolve() not in explicit:
                result = IngestResult(str(path), path.stem, "ignored",
                                      f"unsupported file type {path.suffix or '(none)'}: not a document")
            else:
                entry = entries.get(path.name) or entries.get(path.stem) or {}
                result = self.ingest(path, {**{k: entry.get(k) for k in MANIFEST_FIELDS}, **given})
            results.append(result)
            if progress:
                progress(result)
        return results
