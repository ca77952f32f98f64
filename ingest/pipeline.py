"""Files → indexed chunks. Skips unchanged files by hash, replaces changed ones without a gap.

The order of the writes makes a kill at any point harmless (tests/test_crash.py kills the CLI at
each of them): a journal row in the registry (`Registry.begin_write`); per batch of chunks, their
vectors (into the vector cache) and the new version's points; the registry's switch of the live
version (one transaction); the old version's points deleted; the journal row cleared. Searches see
only live versions: before the switch the old document, after it the new one. `recover()` at
start-up removes what a killed process left: the points of journalled documents that are not live.
A full disk fails the file with `DiskFull` (the batch stops; nothing indexed before is touched).
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import (
    DISK_FULL_MESSAGE,
    DISK_FULL_SKIPPED,
    DiskFull,
    PlanAssistantError,
    UnreadableDocument,
)
from assistant.store import IndexPoint, Store, point_id
from assistant.types import Chunk, DocumentMeta, Embedder, SparseEncoder
from ingest.chunk import chunk_document
from ingest.load import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, check_size, iter_files, load_file
from ingest.meta import build_meta, load_manifest
from ingest.readers.pdf import NEEDS_OCR, needs_ocr
from ingest.registry import Registry

MANIFEST_FIELDS = ("id", "title", "type", "audience", "issuer", "edition", "period")
# Part of every document's version: raised when files are read differently (a PDF's title from its printed
# page, fake-bold pages re-read; 3: no decimal figure as a heading, a periodical's issue in its title; 4: a
# date's year, month and day indexed as whole tokens, text.tokens.date_tokens; 5: a table part's label under its
# table's heading in the rows' caption), so that
# the next `ingest` reads an unchanged file again instead of keeping what the former reading indexed. Chunks
# whose text is unchanged still cost no embedding (vector cache).
READING_VERSION = "5"
log = logging.getLogger(__name__)

# a write refused for space: no space on the device, or the user's quota spent (errno.h)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_FULL = 13  # SQLite's result code for "database or disk is full" (sqlite.org/rescode.html)
# how the Rust engine (qdrant-edge) and SQLite word it when only the text of the error survives
DISK_FULL_TEXTS = ("No space left on device", "database or disk is full", "Disk quota exceeded")


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


def is_disk_full(exc: BaseException) -> bool:
    """A write failed for lack of space: OSError ENOSPC/EDQUOT, SQLITE_FULL, or the engine's wording of it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        if isinstance(seen, sqlite3.Error) and getattr(seen, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        if any(t in str(seen) for t in DISK_FULL_TEXTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Indexer:
    def __init__(self, store: Store, embedder: Embedder, sparse: SparseEncoder, registry: Registry, chunk_chars: int = 400,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.store, self.embedder, self.sparse, self.registry = store, embedder, sparse, registry
        self.chunk_chars = chunk_chars
        self.max_file_bytes = max_file_bytes

    def ingest(self, path: Path, overrides: dict | None = None) -> IngestResult:
        return self._attempt(Path(path), overrides)[0]

    def _attempt(self, path: Path, overrides: dict | None) -> tuple[IngestResult, bool]:
        """One file's result, and whether a batch must stop (the disk is full: every next file would fail)."""
        overrides = {k: v for k, v in (overrides or {}).items() if v}
        doc_id = str(overrides.get("id") or path.stem)
        try:
            return self._ingest(path, doc_id, overrides), False
        except DiskFull as exc:
            return IngestResult(str(path), doc_id, "failed", str(exc)), True
        except PlanAssistantError as exc:
            return IngestResult(str(path), doc_id, "failed", str(exc)), False
        except OSError as exc:
            return IngestResult(str(path), doc_id, "failed", f"cannot read file: {exc.strerror or exc}"), False

    def _ingest(self, path: Path, doc_id: str, overrides: dict) -> IngestResult:
        check_size(path, self.max_file_bytes)  # before hashing a 2 GB file
        content_hash = file_hash(path)
        version = hashlib.sha256((content_hash + json.dumps(overrides, sort_keys=True, ensure_ascii=False)
                                  + READING_VERSION).encode()).hexdigest()[:20]
        current = self.registry.get(doc_id)
        if current and current[0] == version:
            return IngestResult(str(path), doc_id, "skipped", "unchanged", current[1].pages, current[1].chunks)
        doc = load_file(path, max_bytes=self.max_file_bytes)
        if needs_ocr(doc):  # a scan: loading it is fine (the reviewer reads it), indexing it is pointless
            raise UnreadableDocument(NEEDS_OCR)
        warnings = list(doc.warnings)  # pages without a text layer are named there
        meta = build_meta(doc, path, doc_id, overrides, getattr(self.sparse, "tokenizer", None))
        chunks = chunk_document(doc, doc_id, target=self.chunk_chars, maximum=int(self.chunk_chars * 1.5))
        if not chunks:
            raise UnreadableDocument("no text found in the file")
        meta = dataclasses.replace(meta, content_hash=content_hash, pages=len({p.number for p in doc.pages}) or 1,
                                   chunks=len(chunks), notes=warnings)
        warnings += self._write(meta, version, chunks)
        status = "replaced" if current else "added"
        return IngestResult(str(path), doc_id, status, "", meta.pages, len(chunks), warnings)

    def _write(self, meta: DocumentMeta, version: str, chunks: list[Chunk], batch: int = 64) -> list[str]:
        """Index `chunks` as `meta.doc_id`'s live version; returns warnings (the old chunks not yet removed)."""
        base = {"doc_id": meta.doc_id, "version": version, "title": meta.title, "doc_type": meta.doc_type,
                "audience": meta.audience, "period_start": meta.period_start, "period_end": meta.period_end}
        df: Counter[int] = Counter()
        try:
            self.registry.begin_write(meta.doc_id, version)
        except Exception as exc:  # nothing written yet
            if is_disk_full(exc):
                raise DiskFull(DISK_FULL_MESSAGE) from exc
            raise
        try:
            for i in range(0, len(chunks), batch):
                part = chunks[i:i + batch]
                texts = [index_text(meta, c) for c in part]
                dense = self.embedder.embed_passages(texts)
                sparse = [self.sparse.encode(t) for t in texts]
                df.update(i for s in sparse for i in s[0])
                points = [IndexPoint(point_id(meta.doc_id, version, c.chunk_no), d, s,
                                     {**base, "chunk_no": c.chunk_no, "text": c.text, "section": c.section,
                                      "pages": c.pages, "is_record": c.is_record,
                                      **({"ocr": c.ocr} if c.ocr is not None else {}),
                                      **({"page_label": c.page_label} if c.page_label else {})})
                          for c, d, s in zip(part, dense, sparse)]
                self.store.upsert(points)
            self.registry.set_live(meta, version, dict(df))  # the switch: searches now see the new chunks only
        except BaseException as exc:
            self._undo(meta.doc_id)
            if isinstance(exc, Exception) and is_disk_full(exc):
                raise DiskFull(DISK_FULL_MESSAGE) from exc
            raise
        try:
            self.store.delete_doc(meta.doc_id, keep_version=version)
        except Exception as exc:  # replaced all the same: the old chunks are no longer searched
            log.warning("could not remove the old chunks of %s (left for start-up): %s", meta.doc_id, exc)
            reason = DISK_FULL_MESSAGE if is_disk_full(exc) else str(exc)
            return [f"古い版の索引を削除できませんでした（次回の起動時に削除します）: {reason}"]
        self._end_write(meta.doc_id)
        return []

    def _undo(self, doc_id: str) -> None:
        """After a failed write: drop the chunks of `doc_id` that are not live. If that fails too (the disk is
        still full), the journal row stays and the next start-up does it."""
        try:
            self.store.delete_doc(doc_id, keep_version=self.registry.live().get(doc_id))
            self.registry.end_write(doc_id)
        except Exception as exc:
            log.warning("could not clean up after a failed write of %s (left for start-up): %s", doc_id, exc)

    def _end_write(self, doc_id: str) -> None:
        try:
            self.registry.end_write(doc_id)
        except Exception as exc:  # the index is consistent; the row only makes start-up check this document
            log.warning("could not clear the write journal for %s: %s", doc_id, exc)

    def delete(self, doc_id: str) -> bool:
        found = self.registry.remove(doc_id)  # journals the deletion in the same transaction
        self.store.delete_doc(doc_id)
        self._end_write(doc_id)
        return found

    def recover(self, exclusive: bool = True) -> int:
        """Bring the index in line with the registry after a crash; returns the chunks removed.

        Cheap: the journal is empty unless a write was interrupted, and the point count is compared with
        the registry's (one exact count). `exclusive` (the embedded index, under the data directory's
        lock): every journal row is a dead process's, and a count that disagrees triggers one listing of
        the index (0.1 s per 4k chunks) that drops the chunks of any non-live version. On a shared Qdrant
        server, rows of writers still running on this host are left alone and the count is not compared
        (other data directories may share the collection)."""
        live = self.registry.live()
        removed = 0
        for write in self.registry.pending():
            if not exclusive and write.owner_alive:
                continue
            self.store.delete_doc(write.doc_id, keep_version=live.get(write.doc_id))
            self.registry.end_write(write.doc_id)
            log.info("recovered the interrupted write of %s", write.doc_id)
        if exclusive and self.store.count() != self.registry.total_chunks():
            removed = self.store.delete_versions_not_in(live)
            missing = self.registry.total_chunks() - self.store.count()
            if missing > 0:  # not reachable by a kill (chunks are written before the switch): a damaged index
                log.warning("the index lacks %d chunks of live documents: ingest them again", missing)
        return removed

    def ingest_paths(self, paths: Iterable[Path], overrides: dict | None = None, manifest: Path | None = None,
                     progress: ProgressFn | None = None) -> list[IngestResult]:
        """Files and folders (recursive). A manifest gives per-file metadata (overrides win); a file in a
        folder that is not a document is reported as ignored, a named one is tried and fails clearly."""
        paths = [Path(p) for p in paths]
        entries = load_manifest(manifest) if manifest else {}
        explicit = {p.resolve() for p in paths if p.is_file()}
        given = {k: v for k, v in (overrides or {}).items() if v}
        results = []
        stopped = False
        for path in iter_files(paths, supported_only=False):
            if manifest is not None and path.resolve() == Path(manifest).resolve():
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES and path.resolve() not in explicit:
                result = IngestResult(str(path), path.stem, "ignored",
                                      f"unsupported file type {path.suffix or '(none)'}: not a document")
            elif stopped:  # the disk is full: the rest is reported, not attempted
                result = IngestResult(str(path), path.stem, "failed", DISK_FULL_SKIPPED)
            else:
                entry = entries.get(path.name) or entries.get(path.stem) or {}
                result, stopped = self._attempt(path, {**{k: entry.get(k) for k in MANIFEST_FIELDS}, **given})
            results.append(result)
            if progress:
                progress(result)
        return results
