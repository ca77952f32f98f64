"""The document registry: which documents are indexed, their metadata and their live version.

SQLite in the data directory. Flipping a document's live version is one transaction, so a
search sees either the old chunks or the new ones, never both and never none.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from pathlib import Path

from assistant.errors import StoreUnavailable
from assistant.types import DocumentMeta


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._live: dict[str, str] | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents (doc_id TEXT PRIMARY KEY, version TEXT NOT NULL,"
            " meta TEXT NOT NULL, updated REAL NOT NULL)")
        # chunk frequencies of BM25 token ids per document: IDF for evidence-strength checks
        self._db.execute("CREATE TABLE IF NOT EXISTS df (doc_id TEXT, token INTEGER, n INTEGER,"
                         " PRIMARY KEY(doc_id, token))")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailable("the document registry is not open: start the service first")
        return self._db

    def live(self) -> dict[str, str]:
        """doc_id → live version (cached; refreshed on every change)."""
        with self._lock:
            if self._live is None:
                self._live = dict(self.db.execute("SELECT doc_id, version FROM documents"))
            return dict(self._live)

    def get(self, doc_id: str) -> tuple[str, DocumentMeta] | None:
        row = self.db.execute("SELECT version, meta FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return (row[0], DocumentMeta(**json.loads(row[1]))) if row else None

    def all(self) -> list[DocumentMeta]:
        rows = self.db.execute("SELECT meta FROM documents ORDER BY doc_id").fetchall()
        return [DocumentMeta(**json.loads(r[0])) for r in rows]

    def set_live(self, meta: DocumentMeta, version: str, df: dict[int, int] | None = None) -> None:
        with self._lock:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO documents VALUES (?,?,?,?) ON CONFLICT(doc_id) DO UPDATE SET"
                " version=excluded.version, meta=excluded.meta, updated=excluded.updated",
                (meta.doc_id, version, json.dumps(dataclasses.asdict(meta), ensure_ascii=False), time.time()))
            if df is not None:
                self.db.execute("DELETE FROM df WHERE doc_id=?", (meta.doc_id,))
                self.db.executemany("INSERT INTO df VALUES (?,?,?)", [(meta.doc_id, t, n) for t, n in df.items()])
            self.db.execute("COMMIT")
            self._live = None

    def idf(self, tokens: list[int]) -> dict[int, float]:
        """BM25-style IDF of token ids over all indexed chunks (unknown tokens get the maximum)."""
        import math

        total = self.db.execute("SELECT COALESCE(SUM(json_extract(meta, '$.chunks')), 0) FROM documents")
        n = max(int(total.fetchone()[0]), 1)
        out: dict[int, float] = {}
        for t in set(tokens):
            row = self.db.execute("SELECT COALESCE(SUM(n), 0) FROM df WHERE token=?", (t,)).fetchone()
            df = int(row[0])
            out[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def remove(self, doc_id: str) -> bool:
        with self._lock:
            cur = self.db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            self.db.execute("DELETE FROM df WHERE doc_id=?", (doc_id,))
            self._live = None
            return cur.rowcount > 0
